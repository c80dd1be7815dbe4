"""A reverse proxy in front of the reference gateway that adds one realistic behaviour.

Each test builds the gateway it needs as `intercept`: a coroutine that sees every request and
either answers it itself (a refusal, a hold, a rewritten body) or returns None to forward it
unchanged. Responses are relayed as they arrive, so streams stay streams.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from conformance.gateway.server import serving

Intercept = Callable[[Request, bytes], Awaitable[Response | None]]
_HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}


def _app(upstream: str, intercept: Intercept) -> Starlette:
    client = httpx.AsyncClient(base_url=upstream, timeout=None)

    async def relay(request: Request) -> Response:
        body = await request.body()
        answer = await intercept(request, body)
        if answer is not None:
            return answer
        headers = [(k, v) for k, v in request.headers.items() if k.lower() != "host"]
        sent = client.build_request(request.method, request.url.path, params=request.query_params,
                                    headers=headers, content=body)
        reply = await client.send(sent, stream=True)

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for chunk in reply.aiter_bytes():
                    yield chunk
            finally:
                await reply.aclose()

        kept = {k: v for k, v in reply.headers.items() if k.lower() not in _HOP_HEADERS}
        return StreamingResponse(chunks(), status_code=reply.status_code, headers=kept)

    methods = ["GET", "POST", "DELETE"]
    return Starlette(routes=[Route("/{path:path}", relay, methods=methods)])


@contextmanager
def proxy(upstream: str, intercept: Intercept) -> Iterator[str]:
    """Serve the proxy on a free loopback port; yields its root URL (add `/v1` for a base URL).

    `upstream` is the gateway's root URL (without `/v1`).
    """
    with serving(_app(upstream, intercept), "test-proxy") as root:
        yield root
