"""What the reference gateway plugs in for the Gemini family: its routes under ``/v1beta`` and
``/v1`` (google-genai 3.6 calls ``/v1`` by default, older clients and most docs ``/v1beta``),
its faults, its key rule and the Google error envelope."""

from starlette.routing import Route

from conformance.gateway.surface import GatewaySurface

from .errors import PREFIXES, auth_error, error_response, is_gemini_request
from .faults import GEMINI_FAULTS
from .handlers import count_tokens, generate_content, stream_generate_content
from .models import get_model, list_models


def _routes(prefix: str) -> tuple[Route, ...]:
    return (
        Route(f"{prefix}/models/{{model}}:generateContent", generate_content, methods=["POST"]),
        Route(f"{prefix}/models/{{model}}:streamGenerateContent", stream_generate_content,
              methods=["POST"]),
        Route(f"{prefix}/models/{{model}}:countTokens", count_tokens, methods=["POST"]),
        Route(f"{prefix}/models", list_models, methods=["GET"]),
        Route(f"{prefix}/models/{{model}}", get_model, methods=["GET"]),
    )


SURFACE = GatewaySurface(
    name="gemini",
    routes=tuple(route for prefix in PREFIXES for route in _routes(prefix)),
    faults=GEMINI_FAULTS,
    # On the model paths /v1 shares with the other families: x-goog-api-key or ?key=.
    claims=is_gemini_request,
    auth_error=auth_error,
    error_response=error_response,
    prefixes=tuple(f"{prefix}/" for prefix in PREFIXES),
)
