"""The OpenAI family: Chat Completions (`POST /v1/chat/completions`), Responses
(`POST /v1/responses`, `GET /v1/responses/{id}`) and the model list (`GET /v1/models`)."""

from collections.abc import Sequence
from typing import Any

from conformance.family import ApiFamily, Auth, Endpoint
from conformance.shapes import count, member


def reported_tokens(payloads: Sequence[Any]) -> tuple[int, int]:
    """The last usage a body or stream carried: Chat's `usage` (prompt, completion tokens),
    Responses' `usage` or its terminal event's `response.usage` (input, output tokens)."""
    found = [u for p in payloads
             for u in (member(p, "usage"), member(member(p, "response"), "usage"))
             if isinstance(u, dict)]
    if not found:
        return 0, 0
    usage = found[-1]
    return (count(usage.get("prompt_tokens", usage.get("input_tokens"))),
            count(usage.get("completion_tokens", usage.get("output_tokens"))))


FAMILY = ApiFamily(
    name="openai",
    title="OpenAI",
    package=__name__,
    endpoints=(
        Endpoint("chat", "POST", "/chat/completions"),
        Endpoint("responses", "POST", "/responses"),
        Endpoint("models", "GET", "/models"),
    ),
    documents=("chat.yaml", "responses.yaml"),
    auth=Auth("Authorization", "Bearer"),
    default_model="gpt-4o-mini",
    model_env="CONFORMANCE_MODEL",
    key_env="OPENAI_API_KEY",
    reported_tokens=reported_tokens,
    gateway=f"{__name__}.gateway.surface",
)
