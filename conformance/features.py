"""What a check needs the gateway to offer, and which of those needs are core.

A check names one feature in its metadata; that name is the only place its need is decided.
A **core** feature belongs to every gateway that serves the endpoint: refusing it is a failure,
never `not_supported`. An **optional** feature may be declined cleanly (a 4xx whose body is the
error envelope): its checks then end `not_supported`. A refusal without the envelope is a
failure either way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    name: str
    core: bool
    description: str


_ALL = (
    Feature("core", True, "the endpoint itself: a plain request, its response and its refusals"),
    Feature("streaming", True, "`stream: true`: SSE framing and the chunk or event rules"),
    Feature("usage", True, "token usage reported on the non-streamed response"),
    Feature("auth", True, "API-key authentication"),
    Feature("generated", True, "schema-generated requests: valid ones answered, invalid refused"),
    Feature("stream-usage", False, "usage in a stream, on request (`stream_options`)"),
    Feature("max-tokens", False, "the deprecated `max_tokens`"),
    Feature("n", False, "several choices per request (`n`)"),
    Feature("tools", False, "function tools"),
    Feature("structured-output", False, "JSON mode and JSON-schema outputs"),
    Feature("models", False, "the model list (`GET /models`)"),
    Feature("reasoning", False, "reasoning models and their parameters"),
    Feature("count-tokens", False, "counting a request's input tokens without running it "
            "(`POST /v1/messages/count_tokens`)"),
    Feature("state", False, "stored responses and conversation state"),
    Feature("hosted-tools", False, "tools run by the provider (web search)"),
    Feature("logprobs", False, "log probabilities of the output tokens (`logprobs`, "
            "`top_logprobs`)"),
)
FEATURES: dict[str, Feature] = {f.name: f for f in _ALL}


def is_core(name: str) -> bool:
    """True for a feature every gateway must offer (unknown names raise KeyError)."""
    return FEATURES[name].core
