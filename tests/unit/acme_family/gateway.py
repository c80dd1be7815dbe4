"""The made-up family's part of the reference gateway: `POST /v1/widgets` and its own shape of
`GET /v1/models`, a path it shares with OpenAI and claims by the `acme-version` header."""

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from conformance.gateway.errors import ApiError
from conformance.gateway.surface import GatewaySurface


async def create_widget(request: Request) -> Response:
    return JSONResponse({"widget": (await request.json())["size"]})


async def list_models(request: Request) -> Response:
    return JSONResponse({"acme_models": ["acme-1"]})


def _claims(scope: Scope) -> bool:
    return "acme-version" in Headers(scope=scope)


def _auth_error(scope: Scope, expected: str, fault: str | None) -> ApiError | None:
    return None if Headers(scope=scope).get("x-acme-key") == expected else \
        ApiError(401, "bad x-acme-key")


def _error_response(error: ApiError, fault: str | None) -> Response:
    return JSONResponse({"acme_error": error.message}, error.status)


SURFACE = GatewaySurface(
    name="acme",
    routes=(Route("/v1/widgets", create_widget, methods=["POST"]),
            Route("/v1/models", list_models, methods=["GET"])),
    faults=(),
    claims=_claims,
    auth_error=_auth_error,
    error_response=_error_response,
)
