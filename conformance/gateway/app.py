"""The Starlette application: routes, fault and behaviour selection by path prefix, auth,
error rendering."""

from __future__ import annotations

import hmac
from collections.abc import Collection

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.apis.anthropic.gateway import surface as anthropic

from .behaviours import BEHAVIOURS, OBEDIENT
from .chat import create_chat_completion
from .context import BEHAVIOUR_SCOPE_KEY, FAULT_SCOPE_KEY, GatewayState, current_fault
from .errors import ApiError, error_response, server_error
from .faults import AUTH_NOT_ENFORCED, FAULTS
from .models import list_models, retrieve_model
from .responses import create_response, delete_response, retrieve_response


def _take_prefix(path: str, kind: str, known: Collection[str],
                 default: str | None) -> tuple[str | None, str]:
    """`/<kind>/<name>/rest` -> (name, `/rest`); other paths keep `default`. Raises a 404
    ApiError for a name that is not in `known`."""
    prefix = f"/{kind}/"
    if not path.startswith(prefix):
        return default, path
    name, _, rest = path[len(prefix):].partition("/")
    if name not in known:
        raise ApiError(404, f"Unknown {kind} '{name}'.", code=f"unknown_{kind}")
    return name, "/" + rest


class FaultAndAuthMiddleware:
    """Picks the fault and model behaviour for a request and enforces the API key before any
    route runs.

    ``/fault/<name>/v1/...`` is served as ``/v1/...`` with fault ``<name>``; other paths use
    the app's default fault. Likewise ``/behaviour/<name>/...`` picks the model behaviour
    (a clean mode, see ``behaviours``), and may precede a fault:
    ``/behaviour/fixed-reply/fault/<name>/v1/...``. Running this before routing lets one server
    expose every fault and behaviour.
    """

    def __init__(self, app: ASGIApp, state: GatewayState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            behaviour, path = _take_prefix(scope["path"], "behaviour", BEHAVIOURS,
                                           self.state.default_behaviour)
            fault, path = _take_prefix(path, "fault", FAULTS, self.state.default_fault)
        except ApiError as error:
            await error_response(error)(scope, receive, send)
            return
        if path != scope["path"]:
            scope = {**scope, "path": path, "raw_path": path.encode()}
        scope[FAULT_SCOPE_KEY] = fault
        scope[BEHAVIOUR_SCOPE_KEY] = behaviour
        denied = self._auth_error(scope) if fault != AUTH_NOT_ENFORCED else None
        if denied is not None:
            await _error_response(scope, denied, fault)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _auth_error(self, scope: Scope) -> ApiError | None:
        expected = self.state.api_key
        if not expected or not scope["path"].startswith("/v1/"):
            return None
        if anthropic.is_anthropic_request(scope):  # x-api-key or Bearer
            return anthropic.auth_error(scope, expected)
        scheme, _, key = Headers(scope=scope).get("authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            return ApiError(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                code="invalid_api_key",
            )
        if not hmac.compare_digest(key.encode(), expected.encode()):
            shown = key[:3] + "*" * 4 + key[-4:]
            return ApiError(401, f"Incorrect API key provided: {shown}.", code="invalid_api_key")
        return None


def _error_response(scope: Scope, error: ApiError, fault: str | None = None) -> Response:
    """The error in the envelope of the API family the request is for."""
    render = anthropic.error_response if anthropic.is_anthropic_request(scope) else \
        error_response
    return render(error, fault)


async def _on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error_response(request.scope, exc, current_fault(request))


async def _on_http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (unknown route, wrong method) in the OpenAI envelope."""
    assert isinstance(exc, HTTPException)
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 404:
        error = ApiError(404, f"Invalid URL ({where})", code="unknown_url")
    elif exc.status_code == 405:
        error = ApiError(405, f"Method not allowed ({where})", code="method_not_allowed",
                         headers=exc.headers)
    else:
        error = ApiError(exc.status_code, str(exc.detail), headers=exc.headers)
    return _error_response(request.scope, error, current_fault(request))


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    return _error_response(request.scope, server_error())


ROUTES = [
    Route("/v1/models", anthropic.or_anthropic(list_models, anthropic.list_models),
          methods=["GET"]),
    Route("/v1/models/{model_id:path}",
          anthropic.or_anthropic(retrieve_model, anthropic.retrieve_model), methods=["GET"]),
    Route("/v1/chat/completions", create_chat_completion, methods=["POST"]),
    Route("/v1/responses", create_response, methods=["POST"]),
    Route("/v1/responses/{response_id}", retrieve_response, methods=["GET"]),
    Route("/v1/responses/{response_id}", delete_response, methods=["DELETE"]),
    *anthropic.MESSAGES_ROUTES,
]


def create_app(api_key: str | None = None, fault: str | None = None,
               behaviour: str = OBEDIENT) -> Starlette:
    """The reference gateway; ``fault`` (a name from FAULTS) and ``behaviour`` (a name from
    BEHAVIOURS) apply to plain ``/v1`` paths."""
    if fault is not None and fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}")
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"unknown behaviour {behaviour!r}")
    state = GatewayState(api_key=api_key, default_fault=fault, default_behaviour=behaviour)
    app = Starlette(
        routes=ROUTES,
        middleware=[Middleware(FaultAndAuthMiddleware, state=state)],
        exception_handlers={
            ApiError: _on_api_error,
            HTTPException: _on_http_error,
            Exception: _on_unexpected,
        },
    )
    app.state.gateway = state
    return app
