"""POST /v1/chat/completions: the checks, by part of the contract, and the requests they share."""

from __future__ import annotations

from typing import Any

PATH = "/chat/completions"
MAX_TOKENS = 48


def chat_body(model: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": [
            {"role": "system", "content": "You are a concise assistant."},
            {"role": "user", "content": "In one short sentence, what is an API gateway?"},
        ],
        "temperature": 0,
        "max_completion_tokens": MAX_TOKENS,
    }
    body.update(extra)
    return body
