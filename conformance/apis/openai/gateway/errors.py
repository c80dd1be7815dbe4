"""The OpenAI error envelope ``{"error": {"message", "type", "param", "code"}}``, the errors
handlers raise in it, and the Bearer key rule."""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import Scope

from conformance.gateway.errors import ApiError
from conformance.gateway.fault_types import Fault

# Fault that replaces the envelope with a FastAPI-style {"detail": ...} body on every 4xx.
DETAIL_SHAPE_FAULT = "chat-error-detail-shape"
AUTH_NOT_ENFORCED = "auth-not-enforced"

AUTH_FAULTS = (
    Fault(AUTH_NOT_ENFORCED, "a missing or wrong API key is accepted", ("chat.errors.auth",)),
)


def envelope(error: ApiError) -> dict:
    return {
        "error": {
            "message": error.message,
            "type": error.type,
            "param": error.param,
            "code": error.code,
        }
    }


def error_response(error: ApiError, fault: str | None = None) -> JSONResponse:
    if error.body is not None:
        return JSONResponse(error.body, error.status, headers=error.headers)
    if fault == DETAIL_SHAPE_FAULT and 400 <= error.status < 500:
        return JSONResponse({"detail": error.message}, error.status, headers=error.headers)
    return JSONResponse(envelope(error), error.status, headers=error.headers)


def auth_error(scope: Scope, expected: str, fault: str | None) -> ApiError | None:
    """`Authorization: Bearer <key>`, as the openai SDK sends it."""
    if fault == AUTH_NOT_ENFORCED:
        return None
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


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def missing_parameter(param: str) -> ApiError:
    return bad_request(
        f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
    )


def model_not_found(model: str, status: int = 404) -> ApiError:
    return ApiError(
        status,
        f"The model '{model}' does not exist or you do not have access to it.",
        param="model",
        code="model_not_found",
    )


def invalid_json() -> ApiError:
    return bad_request(
        "We could not parse the JSON body of your request. (HINT: This likely means you "
        "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)"
    )
