"""POST /v1/chat/completions: the checks, by part of the contract, and the requests they share."""

from __future__ import annotations

from typing import Any

from conformance.check import Problems, expect
from conformance.sampling import deterministic
from conformance.shapes import array_member, describe, member, object_member, objects
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


def choice_entries(body: Any) -> list[Any]:
    """The `choices` array as sent, entries of any kind ([] when it is not an array)."""
    return array_member(body, "choices")


def choices_of(body: Any) -> list[dict[str, Any]]:
    """The well-formed choice objects of a completion body (anything else is skipped)."""
    return objects(member(body, "choices"))


def first_choice(body: Any) -> dict[str, Any] | None:
    """`choices[0]` when it is an object (None: no choices, or not a choice object)."""
    entries = choice_entries(body)
    return entries[0] if entries and isinstance(entries[0], dict) else None


def message_of(choice: Any) -> dict[str, Any] | None:
    """A choice's `message` when it is an object."""
    return object_member(choice, "message")


def delta_of(choice: Any) -> dict[str, Any] | None:
    """A stream choice's `delta` when it is an object."""
    return object_member(choice, "delta")


def first_message(body: Any) -> dict[str, Any]:
    return message_of(first_choice(body)) or {}


def require_choices(body: dict[str, Any]) -> list[Any]:
    """The non-empty `choices` array (its entries as sent); a failure says what came instead."""
    found = body.get("choices")
    expect(isinstance(found, list) and found,
           f"choices is {describe(found)}, expected a non-empty array of choice objects",
           expected="choices: [{index, message, finish_reason}]", actual=found)
    return found


def not_a_message(position: int, choice: Any) -> str | None:
    """Why `choices[position]` carries no message object (None: it does)."""
    if not isinstance(choice, dict):
        return f"choices[{position}] is {describe(choice)}, not a choice object"
    if not isinstance(choice.get("message"), dict):
        return f"choices[{position}].message is {describe(choice.get('message'))}, not an object"
    return None


def choice_messages(body: dict[str, Any], problems: Problems) -> list[tuple[int, dict[str, Any]]]:
    """(position, message object) of every choice; each choice without one is a problem."""
    messages = []
    for position, choice in enumerate(require_choices(body)):
        problem = not_a_message(position, choice)
        if problem:
            problems.add(problem)
        else:
            messages.append((position, choice["message"]))
    return messages


def stream_finish_reason(stream: ChatStream, choice: int = 0) -> Any:
    """The last non-null `finish_reason` a stream gave one choice."""
    reasons = [entry.get("finish_reason") for chunk in stream.content_chunks
               for entry in choices_of(chunk) if entry.get("index") == choice]
    return next((r for r in reversed(reasons) if r is not None), None)
