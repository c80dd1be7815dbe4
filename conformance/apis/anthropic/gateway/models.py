"""The Claude models the reference gateway serves, and the Anthropic shape of
``GET /v1/models`` and ``GET /v1/models/{id}``."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from conformance.apis.openai.gateway.models import UNKNOWN_MODEL_200, UNKNOWN_MODEL_400

from .errors import invalid_request, not_found, with_request_id


@dataclass(frozen=True)
class ClaudeModel:
    id: str
    display_name: str
    created_at: str  # RFC 3339, as the API lists it
    thinking: bool  # offers extended thinking
    max_output_tokens: int
    # Not Claude's tokenizer: none is available offline. Token counts are the offline
    # o200k_base BPE's, deterministic and the same for usage and count_tokens.
    encoding: str = "o200k_base"

    def to_json(self) -> dict[str, str]:
        return {"type": "model", "id": self.id, "display_name": self.display_name,
                "created_at": self.created_at}


DEFAULT_MODEL = "claude-sonnet-4-6"
# Newest first, the order the API lists them in.
CLAUDE_MODELS: dict[str, ClaudeModel] = {
    m.id: m
    for m in (
        ClaudeModel("claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-17T00:00:00Z",
                    thinking=True, max_output_tokens=64000),
        ClaudeModel("claude-3-5-haiku-latest", "Claude Haiku 3.5", "2024-10-22T00:00:00Z",
                    thinking=False, max_output_tokens=8192),
    )
}


def resolve_model(model: str, fault: str | None) -> ClaudeModel:
    """The model a request names; an unknown id is a 404 not_found_error. The gateway-wide
    unknown-model faults apply here too."""
    if model in CLAUDE_MODELS:
        return CLAUDE_MODELS[model]
    if fault == UNKNOWN_MODEL_200:
        return CLAUDE_MODELS[DEFAULT_MODEL]
    if fault == UNKNOWN_MODEL_400:
        raise invalid_request(f"model: {model} is not a valid model")
    raise not_found(f"model: {model}")


def _page(limit: int, after_id: str | None, before_id: str | None) -> tuple[list, bool]:
    """One page of the listing and whether more lie beyond it, in the cursor's direction."""
    ids = list(CLAUDE_MODELS)
    for cursor in (after_id, before_id):
        if cursor is not None and cursor not in CLAUDE_MODELS:
            raise invalid_request(f"Invalid cursor: model '{cursor}' is not listed")
    models = list(CLAUDE_MODELS.values())
    if before_id is not None:
        end = ids.index(before_id)
        return models[max(0, end - limit):end], end > limit
    start = ids.index(after_id) + 1 if after_id is not None else 0
    return models[start:start + limit], start + limit < len(models)


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", "20")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise invalid_request("limit: Input should be an integer between 1 and 1000")
    return int(raw)


async def list_models(request: Request) -> Response:
    query = request.query_params
    page, has_more = _page(_limit(request), query.get("after_id"), query.get("before_id"))
    data = [m.to_json() for m in page]
    return with_request_id(JSONResponse({
        "data": data, "has_more": has_more,
        "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None,
    }))


async def retrieve_model(request: Request) -> Response:
    model_id = request.path_params["model_id"]
    if model_id not in CLAUDE_MODELS:
        raise not_found(f"model: {model_id}")
    return with_request_id(JSONResponse(CLAUDE_MODELS[model_id].to_json()))
