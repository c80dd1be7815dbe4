"""Faults of a request on its way upstream: what a relay drops, clamps or moves before the
model sees it (``faults.GEMINI_FAULTS`` names the checks each one trips).

``misread`` bends the request body, as a relay's translation does, before the gateway reads it
(so what the upstream would then answer is what the client gets); ``misapply`` drops a
setting from the interpreted request. Both return a new value and never edit in place.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from conformance.gateway.errors import ApiError

from .faults import (
    ALLOWED_NAMES_IGNORED,
    CANDIDATE_COUNT_IGNORED,
    FUNCTION_RESPONSE_REFUSED,
    JSON_MODE_IGNORED,
    MAX_OUTPUT_TOKENS_IGNORED,
    MODE_NONE_AS_ANY,
    RANGES_CLAMPED,
    ROLELESS_TURN_500,
    SAFETY_SETTINGS_STRIPPED,
    STOP_SEQUENCES_IGNORED,
    SYSTEM_AS_TURN,
    UNKNOWN_MODEL_503,
    UNKNOWN_MODEL_FALLBACK,
    V1_NOT_SERVED,
)
from .models import GEMINI_MODELS
from .request import GeminiRequest, function_responses

# The documented ranges a clamping relay forces values into (topK: at least 1).
_RANGES = {"temperature": (0, 2), "topP": (0, 1), "topK": (1, None)}
_JSON_MODE = ("responseMimeType", "responseSchema", "responseJsonSchema")


def misread(body: dict[str, Any], fault: str | None, version: str) -> dict[str, Any]:
    if fault == V1_NOT_SERVED and version == "v1":  # the bug: only /v1beta is routed
        raise ApiError(404, "Not Found")
    if fault == SAFETY_SETTINGS_STRIPPED:  # the bug: dropped unread, valid or not
        body = {k: v for k, v in body.items() if k != "safetySettings"}
    config = body.get("generationConfig")
    if fault == RANGES_CLAMPED and isinstance(config, dict):
        body = {**body, "generationConfig": {**config, **{
            name: _clamp(config[name], *_RANGES[name]) for name in _RANGES if name in config}}}
    if fault == JSON_MODE_IGNORED and isinstance(config, dict):
        body = {**body, "generationConfig": {k: v for k, v in config.items()
                                             if k not in _JSON_MODE}}
    if fault == SYSTEM_AS_TURN and "systemInstruction" in body:
        # the bug: the OpenAI habit of a system message, which the API has no role for
        system = body["systemInstruction"]
        turn = {"role": "system", "parts": system.get("parts") if isinstance(system, dict)
                else system}
        body = {k: v for k, v in body.items() if k != "systemInstruction"}
        body["contents"] = [turn, *(body.get("contents") or [])]
    return body


def _clamp(value: Any, low: float, high: float | None) -> Any:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return value
    value = max(value, low)
    return value if high is None else min(value, high)


def misapply(request: GeminiRequest, fault: str | None) -> GeminiRequest:
    if fault == MAX_OUTPUT_TOKENS_IGNORED:
        return replace(request, max_output_tokens=None)
    if fault == STOP_SEQUENCES_IGNORED:
        return replace(request, stop_sequences=[])
    if fault == CANDIDATE_COUNT_IGNORED:
        return replace(request, candidate_count=1)
    if fault == ALLOWED_NAMES_IGNORED:
        return replace(request, allowed=[])
    if fault == MODE_NONE_AS_ANY and request.mode == "NONE":  # the bug: an inverted mapping
        return replace(request, mode="ANY")
    if fault == ROLELESS_TURN_500 and any("role" not in c for c in request.contents):
        raise ApiError(500, "Internal error encountered.")  # the bug: content["role"] read
    if fault == FUNCTION_RESPONSE_REFUSED and any(function_responses(c)
                                                  for c in request.contents):
        raise ApiError(400, "Invalid JSON payload received. Unknown name \"functionResponse\"")
    return request


def reroute(model: str, fault: str | None) -> str:
    """The model a relay sends the request to: a name it does not know goes to its default
    model (the fallback), or is answered 503 as if its upstream were down."""
    if model.removeprefix("models/") in GEMINI_MODELS:
        return model
    if fault == UNKNOWN_MODEL_FALLBACK:
        return next(iter(GEMINI_MODELS))
    if fault == UNKNOWN_MODEL_503:
        raise ApiError(503, "The model is overloaded. Please try again later.")
    return model
