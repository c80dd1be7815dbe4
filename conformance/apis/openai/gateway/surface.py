"""What the reference gateway plugs in for the OpenAI family: routes, faults, Bearer auth and
the OpenAI error envelope."""

from starlette.routing import Route
from starlette.types import Scope

from conformance.gateway.surface import GatewaySurface

from .chat import CHAT_FAULTS, create_chat_completion
from .errors import AUTH_FAULTS, auth_error, error_response
from .models import MODELS_FAULTS, UNKNOWN_MODEL_FAULTS, list_models, retrieve_model
from .responses import RESPONSES_FAULTS, create_response, delete_response, retrieve_response


def _claims(scope: Scope) -> bool:
    """OpenAI clients send nothing that sets them apart (another family's SDK may send Bearer
    too): registered first, this surface takes the shared paths no other family claims."""
    return False


SURFACE = GatewaySurface(
    name="openai",
    routes=(
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model_id:path}", retrieve_model, methods=["GET"]),
        Route("/v1/chat/completions", create_chat_completion, methods=["POST"]),
        Route("/v1/responses", create_response, methods=["POST"]),
        Route("/v1/responses/{response_id}", retrieve_response, methods=["GET"]),
        Route("/v1/responses/{response_id}", delete_response, methods=["DELETE"]),
    ),
    faults=(*AUTH_FAULTS, *UNKNOWN_MODEL_FAULTS, *MODELS_FAULTS, *CHAT_FAULTS,
            *RESPONSES_FAULTS),
    claims=_claims,
    auth_error=auth_error,
    error_response=error_response,
)
