"""POST /v1/chat/completions: the checks, by part of the contract, and the requests they share."""

from __future__ import annotations

from typing import Any

from conformance.sampling import deterministic
from conformance.streams import ChatStream

PATH = "/chat/completions"
MAX_TOKENS = 48
OP = "createChatCompletion"
DOC = "chat.yaml"
RESPONSE_SCHEMA = "CreateChatCompletionResponse"

# Limits: a prompt that needs hundreds of tokens, answered under a cap of a few.
LIMIT = 5
LONG_PROMPT = "Write a detailed five-paragraph essay on the history of the printing press."
# Stop sequences: a counting answer is near-deterministic for every model at temperature 0 and
# is sure to contain the stop string, so an ignored `stop` shows up as a "4" in the content.
COUNT_PROMPT = "Count from 1 to 10, separated by commas. Reply with the numbers only."
STOP_SEQUENCES = ["4"]
COUNT_MAX_TOKENS = 40

def chat_body(model: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": [
            {"role": "system", "content": "You are a concise assistant."},
            {"role": "user", "content": "In one short sentence, what is an API gateway?"},
        ],
        **deterministic(model),
        "max_completion_tokens": MAX_TOKENS,
    }
    body.update(extra)
    return body


def user_message(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def count_body(model: str, **extra: Any) -> dict[str, Any]:
    """The counting request that `stop` must cut (streamed and not: the same request)."""
    return chat_body(model, messages=[user_message(COUNT_PROMPT)], stop=STOP_SEQUENCES,
                     max_completion_tokens=COUNT_MAX_TOKENS, **extra)


def choices_of(body: Any) -> list[dict[str, Any]]:
    """The well-formed choice objects of a completion body (anything else is skipped)."""
    found = body.get("choices") if isinstance(body, dict) else None
    return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []


def first_message(body: Any) -> dict[str, Any]:
    choices = choices_of(body)
    message = choices[0].get("message") if choices else None
    return message if isinstance(message, dict) else {}


def stream_finish_reason(stream: ChatStream, choice: int = 0) -> Any:
    """The last non-null `finish_reason` a stream gave one choice."""
    reasons = [entry.get("finish_reason") for chunk in stream.content_chunks
               for entry in chunk.get("choices") or []
               if isinstance(entry, dict) and entry.get("index") == choice]
    return next((r for r in reversed(reasons) if r is not None), None)
