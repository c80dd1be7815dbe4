"""The OpenAI error envelope and the exception that carries it out of handlers."""

from __future__ import annotations

from starlette.responses import JSONResponse

# Fault that replaces the envelope with a FastAPI-style {"detail": ...} body on every 4xx.
DETAIL_SHAPE_FAULT = "chat-error-detail-shape"


class ApiError(Exception):
    """An HTTP error rendered as ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers

    def envelope(self) -> dict:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def error_response(error: ApiError, fault: str | None = None) -> JSONResponse:
    if fault == DETAIL_SHAPE_FAULT and 400 <= error.status < 500:
        return JSONResponse({"detail": error.message}, error.status, headers=error.headers)
    return JSONResponse(error.envelope(), error.status, headers=error.headers)


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


def server_error() -> ApiError:
    return ApiError(
        500, "The server had an error while processing your request.", type="server_error"
    )
