"""The Anthropic Messages surface of the embedded reference gateway: ``POST /v1/messages``,
``POST /v1/messages/count_tokens`` and the Anthropic shape of ``GET /v1/models{/id}``, with
the Anthropic auth headers and error envelope. ``surface.SURFACE`` is what the gateway plugs in
(``FAMILY.gateway`` names it)."""

# The gateway package first, whichever module is imported first: its fault registry imports
# this package's modules, which in turn use the gateway's own (context, sse, generation, ...).
import conformance.gateway  # noqa: F401
