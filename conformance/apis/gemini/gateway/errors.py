"""The Google error envelope ``{"error": {"code", "message", "status"}}``, the HTTP status ->
``status`` table, the key rule and which requests are Gemini's.

Handlers raise the gateway's ``ApiError`` (status and message; ``code`` carries an
``ErrorInfo`` reason such as ``API_KEY_INVALID`` when the real API sends one); this module
renders it as the real API does (``../shared/reference/gemini/errors.md``).
"""

from __future__ import annotations

import hmac
from http import HTTPStatus
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from conformance.apis.openai.gateway.errors import envelope as openai_envelope
from conformance.gateway.errors import ApiError

from .faults import (
    AUTH_NOT_ENFORCED,
    BEARER_REFUSED,
    EMPTY_200_ON_FAILURE,
    ERROR_STATUS_PHRASE,
    GOOG_API_KEY_REFUSED,
    OPENAI_SHAPED_ERRORS,
    PARTIAL_200_ON_FAILURE,
    QUERY_KEY_REFUSED,
    WRONG_KEY_500,
)

PREFIXES = ("/v1beta", "/v1")
# The canonical google.rpc status of each HTTP status the API answers with.
STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
KEY_HEADER = "x-goog-api-key"


def status_of(code: int) -> str:
    """The status string of an HTTP status; one the table lacks is the generic one of its
    class."""
    return STATUSES.get(code, "INVALID_ARGUMENT" if code < 500 else "INTERNAL")


def invalid_argument(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def envelope(error: ApiError) -> dict:
    body: dict = {"code": error.status, "message": error.message,
                  "status": status_of(error.status)}
    if error.code and error.code.isupper():  # a reason of the API, as an ErrorInfo detail
        body["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": error.code, "domain": "googleapis.com",
                            "metadata": {"service": "generativelanguage.googleapis.com"}}]
    return {"error": body}


def error_response(error: ApiError, fault: str | None = None) -> Response:
    if fault == EMPTY_200_ON_FAILURE:  # the bug: the failure is swallowed
        return Response(b"", 200, media_type="application/json")
    if fault == PARTIAL_200_ON_FAILURE:  # the bug: the start of an answer, then nothing
        return Response(b'{"candidates": [{"content": {"role": "model", "parts": [',
                        200, media_type="application/json")
    if fault == OPENAI_SHAPED_ERRORS:  # the bug: the relay's OpenAI error renderer
        return JSONResponse(openai_envelope(error), error.status, headers=error.headers)
    body = envelope(error)
    if fault == ERROR_STATUS_PHRASE:  # the bug: http.StatusText, not the google.rpc code
        body["error"]["status"] = HTTPStatus(error.status).phrase
    return JSONResponse(body, error.status, headers=error.headers)


def _query_key(scope: Scope) -> str:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("key", [""])
    return values[0].strip()


def has_key_of_its_own(scope: Scope) -> bool:
    """Whether a request carries the key the way only Gemini clients do."""
    return KEY_HEADER in Headers(scope=scope) or bool(_query_key(scope))


def is_gemini_request(scope: Scope) -> bool:
    """Whether a request is for the Gemini surface: anything under ``/v1beta/``, and a
    ``/v1/models*`` path (shared with the other families) when it carries ``x-goog-api-key``
    or ``?key=``, as new-api decides which model list to return."""
    path = scope["path"]
    shared = path.startswith("/v1/models") and has_key_of_its_own(scope)
    return path.startswith("/v1beta/") or shared


def _presented_key(scope: Scope, fault: str | None) -> tuple[str, str]:
    """(the key, how it came): ``x-goog-api-key`` (google-genai, gemini-cli), ``?key=`` (curl
    examples, older clients) or ``Authorization: Bearer`` (a gateway's own key, as OpenAI
    clients send it); the first present wins."""
    headers = Headers(scope=scope)
    header = headers.get(KEY_HEADER, "").strip()
    if header and fault != GOOG_API_KEY_REFUSED:  # the bug: the header is never read
        return header, "header"
    query = _query_key(scope)
    if query and fault != QUERY_KEY_REFUSED:  # the bug: the query string is never read
        return query, "query"
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip() and fault != BEARER_REFUSED:
        return token.strip(), "bearer"
    return "", ""


def auth_error(scope: Scope, expected: str, fault: str | None) -> ApiError | None:
    """The real API's answers: no key 403 PERMISSION_DENIED; a wrong API key 400
    INVALID_ARGUMENT (reason API_KEY_INVALID); a wrong bearer token 401 UNAUTHENTICATED."""
    key, how = _presented_key(scope, fault)
    if fault == AUTH_NOT_ENFORCED:  # the bug: any key, or none, is let through
        return None
    if not how:
        return ApiError(403, "Method doesn't allow unregistered callers (callers without "
                             "established identity). Please use API Key or other form of API "
                             "consumer identity to call this API.")
    if hmac.compare_digest(key.encode(), expected.encode()):
        return None
    if fault == WRONG_KEY_500:  # the bug: the lookup of an unknown key crashes
        return ApiError(500, "Internal error encountered.")
    if how == "bearer":
        return ApiError(401, "Request had invalid authentication credentials. Expected OAuth 2 "
                             "access token, login cookie or other valid authentication "
                             "credential.", code="ACCESS_TOKEN_TYPE_UNSUPPORTED")
    return ApiError(400, "API key not valid. Please pass a valid API key.",
                    code="API_KEY_INVALID")
