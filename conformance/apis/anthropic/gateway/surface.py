"""What the reference gateway plugs in for the Anthropic family: the Messages routes and the
Anthropic shape of the shared model paths, its faults, its auth rule and error envelope."""

from starlette.routing import Route
from starlette.types import Scope

from conformance.gateway.errors import ApiError
from conformance.gateway.surface import GatewaySurface

from .errors import auth_error, error_response, is_anthropic_request
from .faults import MESSAGES_FAULTS
from .messages import count_tokens, create_message
from .models import list_models, retrieve_model


def _auth_error(scope: Scope, expected: str, fault: str | None) -> ApiError | None:
    """`errors.auth_error`, which reads the active fault from the scope itself."""
    return auth_error(scope, expected)


SURFACE = GatewaySurface(
    name="anthropic",
    routes=(
        Route("/v1/messages", create_message, methods=["POST"]),
        Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model_id:path}", retrieve_model, methods=["GET"]),
    ),
    faults=MESSAGES_FAULTS,
    claims=is_anthropic_request,  # on the shared model paths: anthropic-version or x-api-key
    auth_error=_auth_error,
    error_response=error_response,
)
