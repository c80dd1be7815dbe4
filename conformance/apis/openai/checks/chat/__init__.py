"""POST /v1/chat/completions: the checks, by part of the contract, and the requests they share."""

from __future__ import annotations

from typing import Any

from conformance import schemas, tokens
from conformance.apis.openai.streams import ChatStream, decode_chat_stream
from conformance.check import Problems, expect
from conformance.http import Exchange
from conformance.sampling import deterministic
from conformance.shapes import array_member, describe, is_int, member, object_member, objects
from conformance.sse import SSEParser

PATH = "/chat/completions"
MAX_TOKENS = 48
OP = "createChatCompletion"
DOC = "chat.yaml"
RESPONSE_SCHEMA = "CreateChatCompletionResponse"

# Token caps: the plain request again, capped far below its own answer (which is the reference).
LIMIT = 5


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


def reported_completion_tokens(body: Any) -> int | None:
    """`usage.completion_tokens` when it is an integer."""
    found = member(object_member(body, "usage"), "completion_tokens")
    return found if is_int(found) else None


def answer_length(body: Any, encoding: str | None) -> int | None:
    """Tokens of a completion's first answer (`tokens.answer_length`)."""
    content = member(message_of(first_choice(body)), "content")
    return tokens.answer_length(reported_completion_tokens(body), content, encoding)


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


def read_chat_stream(exchange: Exchange) -> ChatStream:
    """The stream as a client reads it: openai-python parses the 200 body of a streamed request
    as SSE whatever its Content-Type, so a wrong header (chat.stream.content-type's verdict)
    does not hide the events from every other stream check. Events read this way carry no
    arrival times."""
    if exchange.status == 200 and not exchange.is_sse and not exchange.events and exchange.body:
        parser = SSEParser()
        parser.feed(exchange.body.encode())
        parser.close()
        exchange.events, exchange.deviations = parser.events, parser.deviations
    return decode_chat_stream(exchange)


def new_schema_problems(body: Any, plain: Exchange) -> list[str]:
    """The chat.completion schema problems of `body` that the plain completion does not share.

    A problem every answer has (a missing `created`, a string token count) is
    chat.response.schema's verdict on the plain request; an answer to another request shape
    fails only for what is broken in it alone.
    """
    found = schemas.errors(DOC, RESPONSE_SCHEMA, body)
    reference = plain.json_or_none() if plain.status == 200 else None
    if not found or not isinstance(reference, dict):
        return found
    shared = {_problem_key(p) for p in schemas.errors(DOC, RESPONSE_SCHEMA, reference, limit=100)}
    return [p for p in found if _problem_key(p) not in shared]


def _problem_key(problem: str) -> str:
    """A schema problem by where it is (values differ between answers); at the root, by what."""
    path = problem.split(": ", 1)[0]
    return problem if path == "(root)" else path
