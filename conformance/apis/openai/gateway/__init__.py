"""The OpenAI surface of the embedded reference gateway: ``POST /v1/chat/completions``,
``/v1/responses`` (with ``GET``/``DELETE /v1/responses/{id}``) and ``GET /v1/models{/id}``,
with Bearer auth and the OpenAI error envelope. ``surface.SURFACE`` is what the gateway plugs in
(``FAMILY.gateway`` names it)."""

# The gateway package first, whichever module is imported first: its fault registry imports this
# package's modules, which in turn use the gateway's own (context, sse, generation, ...).
import conformance.gateway  # noqa: F401
