"""The Gemini models the reference gateway serves, and ``GET /v1beta/models`` and
``GET /v1beta/models/{model}`` in the API's shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .errors import invalid_argument, not_found

# What the API lists for its text models (the other methods are not served here).
GENERATION_METHODS = ("generateContent", "countTokens")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class GeminiModel:
    id: str
    display_name: str
    thinking: bool  # offers thinkingConfig (its thoughts spend maxOutputTokens)
    input_token_limit: int = 1048576
    output_token_limit: int = 65536
    max_thinking_budget: int = 24576
    # Not Gemini's tokenizer: none is available offline. Token counts are the offline
    # o200k_base BPE's, deterministic and the same for usage and countTokens.
    encoding: str = "o200k_base"

    @property
    def name(self) -> str:
        return f"models/{self.id}"

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "name": self.name, "version": "001", "displayName": self.display_name,
            "description": f"{self.display_name}, served by the conformance reference gateway",
            "inputTokenLimit": self.input_token_limit,
            "outputTokenLimit": self.output_token_limit,
            "supportedGenerationMethods": list(GENERATION_METHODS),
            "temperature": 1, "topP": 0.95, "topK": 64, "maxTemperature": 2,
        }
        if self.thinking:
            found["thinking"] = True
        return found


GEMINI_MODELS: dict[str, GeminiModel] = {
    m.id: m
    for m in (
        GeminiModel("gemini-2.5-flash", "Gemini 2.5 Flash", thinking=True),
        GeminiModel("gemini-2.0-flash", "Gemini 2.0 Flash", thinking=False,
                    output_token_limit=8192),
    )
}


def resolve_model(model: str, version: str) -> GeminiModel:
    """The model a path names (bare, or ``models/…``); an unknown one is the API's 404."""
    found = GEMINI_MODELS.get(model.removeprefix("models/"))
    if found is None:
        raise not_found(f"models/{model.removeprefix('models/')} is not found for API version "
                        f"{version}, or is not supported for generateContent. Call ListModels "
                        "to see the list of available models and their supported methods.")
    return found


def api_version(request: Request) -> str:
    """`v1beta` or `v1`: the prefix the request came under."""
    return request.url.path.split("/")[1]


def _page_size(request: Request) -> int:
    raw = request.query_params.get("pageSize", str(DEFAULT_PAGE_SIZE))
    if not raw.lstrip("-").isdigit() or int(raw) < 0:
        raise invalid_argument(f"Invalid value at 'page_size' (TYPE_INT32), \"{raw}\"")
    return min(int(raw) or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


async def list_models(request: Request) -> Response:
    """One page; `nextPageToken` (the index of the next model) when more follow."""
    token = request.query_params.get("pageToken", "")
    if token and (not token.isdigit() or int(token) >= len(GEMINI_MODELS)):
        raise invalid_argument("Invalid page token.")
    start = int(token or 0)
    end = start + _page_size(request)
    models = list(GEMINI_MODELS.values())
    body: dict[str, Any] = {"models": [m.to_json() for m in models[start:end]]}
    if end < len(models):
        body["nextPageToken"] = str(end)
    return JSONResponse(body)


async def get_model(request: Request) -> Response:
    model = request.path_params["model"]
    return JSONResponse(resolve_model(model, api_version(request)).to_json())
