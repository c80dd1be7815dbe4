"""The exception that carries an HTTP error out of handlers; each family's surface renders it in
its own envelope (`GatewaySurface.error_response`)."""

from __future__ import annotations


class ApiError(Exception):
    """An HTTP error: status, message and the fields an error envelope may carry (`type`,
    `param`, `code`; a family's renderer takes the ones its envelope has). `body`, when given,
    is sent instead of any envelope: a fault's malformed error."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        body: dict | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers
        self.body = body


def server_error() -> ApiError:
    """What a handler's unexpected exception becomes."""
    return ApiError(
        500, "The server had an error while processing your request.", type="server_error"
    )
