"""The model catalogue and ``GET /v1/models``, ``GET /v1/models/{id}``."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse

from conformance.gateway.context import current_fault
from conformance.gateway.fault_types import Fault

from .errors import model_not_found


@dataclass(frozen=True)
class ModelInfo:
    id: str
    created: int
    reasoning: bool  # emits reasoning items / counts reasoning_tokens
    encoding: str = "o200k_base"
    owned_by: str = "conformance-gateway"

    def to_json(self) -> dict:
        return {
            "id": self.id, "object": "model", "created": self.created, "owned_by": self.owned_by
        }


DEFAULT_MODEL = "gpt-4o-mini"
MODELS: dict[str, ModelInfo] = {
    m.id: m
    for m in (
        ModelInfo("gpt-4o-mini", created=1721172741, reasoning=False),
        ModelInfo("o4-mini", created=1744225351, reasoning=True),
    )
}

MODELS_FAULTS = (
    Fault(
        "models-missing-model",
        "GET /models lists a single unrelated model instead of the served ones",
        ("models.list.contains-model",),
    ),
    Fault(
        "models-entry-incomplete",
        "GET /models entries carry only 'id' (no object, created or owned_by)",
        ("models.list.entry-shape",),
    ),
)
_DECOY_MODEL = ModelInfo("text-embedding-3-small", created=1705948997, reasoning=False)

# Faults that make an unknown model id look valid (routed to the default model) or fail with
# the wrong status. They apply to every endpoint that takes a model.
UNKNOWN_MODEL_200 = "unknown-model-200"
UNKNOWN_MODEL_400 = "unknown-model-400"
UNKNOWN_MODEL_FAULTS = (
    Fault(UNKNOWN_MODEL_200, "an unknown model is silently routed to the default model",
          ("chat.errors.unknown-model", "responses.errors.unknown-model",
           "messages.errors.unknown-model")),
    Fault(UNKNOWN_MODEL_400, "an unknown model gives 400 (model_not_found, "
          "invalid_request_error on /v1/messages) instead of 404",
          ("chat.errors.unknown-model", "responses.errors.unknown-model",
           "messages.errors.unknown-model"), outcome="warn"),
)


def resolve_model(model: str, fault: str | None) -> ModelInfo:
    """The model a request names; unknown ids are a 404 ``model_not_found``."""
    if model in MODELS:
        return MODELS[model]
    if fault == UNKNOWN_MODEL_200:
        return MODELS[DEFAULT_MODEL]
    raise model_not_found(model, status=400 if fault == UNKNOWN_MODEL_400 else 404)


def _listed_models(fault: str | None) -> list[ModelInfo]:
    if fault == "models-missing-model":
        return [_DECOY_MODEL]
    return list(MODELS.values())


async def list_models(request: Request) -> JSONResponse:
    fault = current_fault(request)
    data = [m.to_json() for m in _listed_models(fault)]
    if fault == "models-entry-incomplete":
        data = [{"id": m["id"]} for m in data]  # the bug: a bare list of names
    return JSONResponse({"object": "list", "data": data})


async def retrieve_model(request: Request) -> JSONResponse:
    model_id = request.path_params["model_id"]
    for model in _listed_models(current_fault(request)):
        if model.id == model_id:
            return JSONResponse(model.to_json())
    raise model_not_found(model_id)

