"""What the reference gateway's app plugs in: the routes, the family test for a request, its
auth rule and error envelope, and the Anthropic endpoints of the shared model paths."""

from starlette.routing import Route

from .errors import auth_error, error_response, is_anthropic_request
from .messages import count_tokens, create_message
from .models import list_models, or_anthropic, retrieve_model

MESSAGES_ROUTES = [
    Route("/v1/messages", create_message, methods=["POST"]),
    Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
]

__all__ = ["MESSAGES_ROUTES", "auth_error", "error_response", "is_anthropic_request",
           "list_models", "or_anthropic", "retrieve_model"]
