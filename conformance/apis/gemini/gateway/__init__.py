"""The Gemini surface of the embedded reference gateway: ``:generateContent``,
``:streamGenerateContent``, ``:countTokens`` and ``GET models{/model}`` under ``/v1beta`` and
``/v1``, with the Google keys (``x-goog-api-key``, ``?key=``, Bearer) and error envelope.
``surface.SURFACE`` is what the gateway plugs in (``FAMILY.gateway`` names it)."""

# The gateway package first, whichever module is imported first: its fault registry imports
# this package's modules, which in turn use the gateway's own (context, sse, generation, ...).
import conformance.gateway  # noqa: F401
