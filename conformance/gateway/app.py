"""The Starlette application: fault and behaviour selection by path prefix, then each request
handed to the surface of the API family it is for (`surface.owner`), which checks its key,
answers it and renders its errors."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.family import gateway_surfaces

from .behaviours import BEHAVIOURS, OBEDIENT
from .context import BEHAVIOUR_SCOPE_KEY, FAULT_SCOPE_KEY, GatewayState, current_fault
from .errors import ApiError, server_error
from .faults import FAULTS
from .surface import SURFACE_SCOPE_KEY, GatewaySurface, owner


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
    """Picks the fault, the model behaviour and the family surface for a request and enforces
    that surface's key rule before any route runs.

    ``/fault/<name>/v1/...`` is served as ``/v1/...`` with fault ``<name>``; other paths use
    the app's default fault. Likewise ``/behaviour/<name>/...`` picks the model behaviour
    (a clean mode, see ``behaviours``), and may precede a fault:
    ``/behaviour/fixed-reply/fault/<name>/v1/...``. Running this before routing lets one server
    expose every fault and behaviour.
    """

    def __init__(self, app: ASGIApp, state: GatewayState,
                 surfaces: Sequence[GatewaySurface]) -> None:
        self.app = app
        self.state = state
        self.surfaces = surfaces

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            behaviour, path = _take_prefix(scope["path"], "behaviour", BEHAVIOURS,
                                           self.state.default_behaviour)
            fault, path = _take_prefix(path, "fault", FAULTS, self.state.default_fault)
        except ApiError as error:
            await owner(scope, self.surfaces).error_response(error, None)(scope, receive, send)
            return
        # In place, not a copy: the handler of unexpected errors (outside this middleware) is
        # given the scope this middleware was, and renders through the same surface.
        if path != scope["path"]:
            scope.update(path=path, raw_path=path.encode())
        scope.update({FAULT_SCOPE_KEY: fault, BEHAVIOUR_SCOPE_KEY: behaviour})
        surface = scope[SURFACE_SCOPE_KEY] = owner(scope, self.surfaces)
        key = self.state.api_key
        api_paths = tuple(p for s in self.surfaces for p in s.prefixes)
        denied = surface.auth_error(scope, key, fault) \
            if key and path.startswith(api_paths) else None
        if denied is not None:
            await surface.error_response(denied, fault)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class _ByOwner:
    """Routes a request among the routes of its surface only, so that a path several families
    serve is answered by the one it is for."""

    def __init__(self, surfaces: Sequence[GatewaySurface]) -> None:
        self.routers = {s.name: Router(routes=list(s.routes)) for s in surfaces}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.routers[scope[SURFACE_SCOPE_KEY].name](scope, receive, send)


def _error_response(request: Request, error: ApiError) -> Response:
    """The error in the envelope of the family the request is for."""
    surface: GatewaySurface = request.scope[SURFACE_SCOPE_KEY]
    return surface.error_response(error, current_fault(request))


async def _on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error_response(request, exc)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (unknown route, wrong method) in the family's envelope."""
    assert isinstance(exc, HTTPException)
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 404:
        error = ApiError(404, f"Invalid URL ({where})", code="unknown_url")
    elif exc.status_code == 405:
        error = ApiError(405, f"Method not allowed ({where})", code="method_not_allowed",
                         headers=exc.headers)
    else:
        error = ApiError(exc.status_code, str(exc.detail), headers=exc.headers)
    return _error_response(request, error)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    return _error_response(request, server_error())


def create_app(api_key: str | None = None, fault: str | None = None,
               behaviour: str = OBEDIENT) -> Starlette:
    """The reference gateway, serving every registered family's surface; ``fault`` (a name
    from FAULTS) and ``behaviour`` (a name from BEHAVIOURS) apply to plain ``/v1`` paths."""
    if fault is not None and fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}")
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"unknown behaviour {behaviour!r}")
    state = GatewayState(api_key=api_key, default_fault=fault, default_behaviour=behaviour)
    surfaces = gateway_surfaces()
    app = Starlette(
        routes=[Mount("", app=_ByOwner(surfaces))],
        middleware=[Middleware(FaultAndAuthMiddleware, state=state, surfaces=surfaces)],
        exception_handlers={
            ApiError: _on_api_error,
            HTTPException: _on_http_error,
            Exception: _on_unexpected,
        },
    )
    app.state.gateway = state
    return app
