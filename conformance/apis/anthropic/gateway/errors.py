"""The Anthropic error envelope, the status -> ``error.type`` table, auth and request ids.

Handlers raise the gateway's ``ApiError`` (status and message); this module renders it as
``{"type": "error", "error": {"type", "message"}, "request_id"}`` with a ``request-id`` header,
the type taken from the status (docs.claude.com /en/api/errors; openapi/messages.yaml).
"""

from __future__ import annotations

import hmac
import uuid

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from conformance.apis.openai.gateway.errors import envelope as openai_envelope
from conformance.gateway.context import FAULT_SCOPE_KEY
from conformance.gateway.errors import ApiError

from .faults import (
    AUTH_BEARER_REFUSED,
    AUTH_NOT_ENFORCED,
    ERROR_TYPE_GENERIC,
    ERRORS_NO_REQUEST_ID,
    OPENAI_SHAPED_ERRORS,
)

STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
REQUEST_ID_HEADER = "request-id"


def error_type(status: int) -> str:
    """The documented type of a status; the API uses invalid_request_error for the 4xx it does
    not list, and api_error is the generic server-side one."""
    return STATUS_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")


def new_request_id() -> str:
    return f"req_{uuid.uuid4().hex[:24]}"


def with_request_id(response: Response) -> Response:
    """The real API sends ``request-id`` on every answer; the SDK exposes it as ``_request_id``."""
    response.headers[REQUEST_ID_HEADER] = new_request_id()
    return response


def invalid_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message, type="not_found_error")


def error_response(error: ApiError, fault: str | None = None) -> Response:
    request_id = new_request_id()
    headers = {**(error.headers or {}), REQUEST_ID_HEADER: request_id}
    if fault == ERRORS_NO_REQUEST_ID:  # the bug: the gateway's own errors lack the header
        del headers[REQUEST_ID_HEADER]
    if fault == OPENAI_SHAPED_ERRORS:  # the bug: the relay's OpenAI error renderer on this path
        return JSONResponse(openai_envelope(error), error.status, headers=headers)
    kind = "invalid_request_error" if fault == ERROR_TYPE_GENERIC else error_type(error.status)
    body = {"type": "error", "error": {"type": kind, "message": error.message},
            "request_id": request_id}
    return JSONResponse(body, error.status, headers=headers)


def is_anthropic_request(scope: Scope) -> bool:
    """Whether a request is for the Anthropic surface: any ``/v1/messages*`` path, and
    ``/v1/models*`` when it carries ``anthropic-version`` or ``x-api-key`` (as new-api decides
    which model list to return; OpenAI clients send neither)."""
    path = scope["path"]
    if path == "/v1/messages" or path.startswith("/v1/messages/"):
        return True
    if path != "/v1/models" and not path.startswith("/v1/models/"):
        return False
    headers = Headers(scope=scope)
    return "anthropic-version" in headers or "x-api-key" in headers


def auth_error(scope: Scope, expected: str) -> ApiError | None:
    """The key is taken from ``x-api-key`` (what Anthropic-native clients send) or, failing
    that, from ``Authorization: Bearer`` (the SDK's ``auth_token``, Claude Code's
    ``ANTHROPIC_AUTH_TOKEN``): gateways accept both."""
    fault = scope.get(FAULT_SCOPE_KEY)  # the app recorded it before asking
    if fault == AUTH_NOT_ENFORCED:  # the bug: any key, or none, is let through
        return None
    headers = Headers(scope=scope)
    key = headers.get("x-api-key", "").strip()
    if not key and fault != AUTH_BEARER_REFUSED:  # the bug: only x-api-key is read
        scheme, _, token = headers.get("authorization", "").partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else ""
    if not key:
        return ApiError(401, "x-api-key header is required", type="authentication_error")
    if not hmac.compare_digest(key.encode(), expected.encode()):
        return ApiError(401, "invalid x-api-key", type="authentication_error")
    return None
