"""POST /v1/messages: the checks, by part of the contract, and the requests they share.

Sources: the Anthropic API reference (messages/create, messages/count_tokens, streaming) and the
anthropic Python SDK's types and stream accumulator, as summarised in
`../shared/reference/anthropic/`; `openapi/messages.yaml` holds the contract the checks read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance import schemas
from conformance.apis.anthropic.event_order import (
    BLOCK_START,
    MESSAGE_DELTA,
    MESSAGE_START,
    MESSAGE_STOP,
    RULES,
    validate_message_stream,
)
from conformance.http import Exchange
from conformance.preconditions import require_event_stream, require_success
from conformance.sampling import deterministic
from conformance.shapes import member, object_member, objects
from conformance.stream_rules import RuleBook
from conformance.streams import TypedStream, decode_typed_stream

PATH = "/messages"
COUNT_PATH = "/messages/count_tokens"
DOC = "messages.yaml"
OP = "createMessage"
OP_COUNT = "countMessageTokens"
QUESTION = "In one short sentence, what is an API gateway?"
SYSTEM = "You are a concise assistant."
MAX_TOKENS = 64
# The cut answer: the plain request again, capped far below its own answer.
CUT_TOKENS = 5
# Extended thinking: the smallest budget the API accepts, and room for the answer after it.
THINKING_BUDGET = 1024
THINKING_MAX_TOKENS = THINKING_BUDGET + MAX_TOKENS

SOURCE = "Anthropic API reference, messages/create"
SOURCE_STREAMING = "Anthropic docs, streaming messages (event types and order); anthropic-python " \
                   "MessageStream accumulator"
SOURCE_COUNT = "Anthropic API reference, messages/count_tokens"

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                     "required": ["city"]},
}
WEATHER_QUESTION = "What is the weather in Paris right now?"


def spec(schema: str) -> str:
    """A pointer to a schema of `openapi/messages.yaml`."""
    return schemas.pointer(DOC, schema)


def message_body(model: str, **extra: Any) -> dict[str, Any]:
    """The plain request: a short question, a system prompt as a string, a small `max_tokens`."""
    return {
        "model": model,
        "max_tokens": MAX_TOKENS,
        "system": SYSTEM,
        "messages": [{"role": "user", "content": QUESTION}],
        **deterministic(model),
        **extra,
    }


def tool_body(model: str, **extra: Any) -> dict[str, Any]:
    """A weather question with `get_weather` forced by `tool_choice` (the server enforces it)."""
    return message_body(model, messages=[{"role": "user", "content": WEATHER_QUESTION}],
                        tools=[WEATHER_TOOL],
                        tool_choice={"type": "tool", "name": WEATHER_TOOL["name"]}, **extra)


def thinking_body(model: str, **extra: Any) -> dict[str, Any]:
    """The plain question with extended thinking (no `temperature`: thinking refuses it)."""
    body = message_body(model, max_tokens=THINKING_MAX_TOKENS,
                        thinking={"type": "enabled", "budget_tokens": THINKING_BUDGET}, **extra)
    body.pop("temperature", None)
    return body


def content_blocks(message: Any) -> list[dict[str, Any]]:
    """The content blocks of a Message that are objects."""
    return objects(member(message, "content"))


def blocks_of_type(message: Any, block_type: str) -> list[dict[str, Any]]:
    return [b for b in content_blocks(message) if b.get("type") == block_type]


def text_of(message: Any) -> str:
    """The joined text of a Message's text blocks, in order."""
    return "".join(b["text"] for b in blocks_of_type(message, "text")
                   if isinstance(b.get("text"), str))


def usage_of(message: Any) -> dict[str, Any] | None:
    return object_member(message, "usage")


# --- streams and the event-order engine -------------------------------------------------------


@dataclass
class MessagesStream(TypedStream):
    """A `POST /v1/messages` stream (the API sends no `[DONE]`: one is kept apart, and judged)."""

    @property
    def end_index(self) -> int | None:
        """Position of the first `message_stop` or `error` event: the stream's own end."""
        return next((n for n, p in enumerate(self.payloads)
                     if isinstance(p, dict) and p.get("type") in (MESSAGE_STOP, "error")), None)

    @property
    def complete(self) -> bool:
        """The stream's end arrived: the client holds the whole outcome."""
        return self.end_index is not None

    def judged_events(self) -> tuple[list[Any], list[str | None]]:
        """Payloads and event names with a `[DONE]` frame, and what followed it, put back where
        they came: this API has no `[DONE]`, and the engine judges one."""
        tail = ([self.done] if self.done else []) + self.after_done
        return (self.payloads + [e.data for e in tail],
                self.sse_names + [e.event for e in tail])


def decode_messages_stream(exchange: Exchange) -> MessagesStream:
    return decode_typed_stream(exchange, MessagesStream)


def _events(stream: MessagesStream, *types: str) -> list[dict[str, Any]]:
    return [p for p in stream.payloads if isinstance(p, dict)
            and (not types or p.get("type") in types)]


def _of(*types: str) -> Callable[[MessagesStream], int]:
    """Counts the stream's events of these types (of every type when none is named)."""
    return lambda stream: len(_events(stream, *types))


def _blocks(block_type: str) -> Callable[[MessagesStream], int]:
    return lambda stream: sum(1 for e in _events(stream, BLOCK_START)
                              if member(e.get("content_block"), "type") == block_type)


# Every rule of the engine belongs to exactly one check (a unit test keeps it so).
RULE_CHECKS: dict[str, frozenset[str]] = {
    "messages.stream.event-name": frozenset({
        "sse-event-name-present", "sse-event-name-matches-type"}),
    "messages.stream.event-schema": frozenset({"event-type-present"}),
    "messages.stream.no-done": frozenset({"no-done-sentinel"}),
    "messages.stream.message-start": frozenset({"message-start-first", "message-start-shape"}),
    "messages.stream.block-order": frozenset({
        "block-index-order", "block-closed-in-turn", "block-event-outside-block",
        "delta-matches-block"}),
    "messages.stream.message-delta": frozenset({"message-delta-once", "stop-reason-valid"}),
    "messages.stream.message-stop": frozenset({
        "message-stop-last", "nothing-after-message-stop", "error-ends-stream"}),
    "messages.usage.start-input-tokens": frozenset({"message-start-input-tokens"}),
    "messages.usage.output-cumulative": frozenset({"output-tokens-cumulative"}),
    "messages.tools.stream-input": frozenset({"tool-input-json"}),
    "messages.thinking.signature": frozenset({"thinking-signature"}),
}
RULE_SUBJECTS: dict[str, tuple[str, Callable[[MessagesStream], int]]] = {
    "messages.stream.event-name": ("SSE events", lambda s: len(s.payloads)),
    "messages.stream.event-schema": ("SSE events", lambda s: len(s.payloads)),
    "messages.stream.no-done": ("streams", lambda s: 1),
    "messages.stream.message-start": ("message_start events", _of(MESSAGE_START)),
    "messages.stream.block-order": ("content blocks (content_block_start)", _of(BLOCK_START)),
    "messages.stream.message-delta": ("message_delta events", _of(MESSAGE_DELTA)),
    "messages.stream.message-stop": ("streams", lambda s: 1),
    "messages.usage.start-input-tokens": ("message_start events", _of(MESSAGE_START)),
    "messages.usage.output-cumulative": ("message_delta events", _of(MESSAGE_DELTA)),
    "messages.tools.stream-input": ("tool_use blocks", _blocks("tool_use")),
    "messages.thinking.signature": ("thinking blocks", _blocks("thinking")),
}


def require_stream_answer(stream: MessagesStream) -> None:
    """A 200 event stream the client could read to its end (streaming is core)."""
    require_event_stream(stream.exchange, stream.complete, "messages.stream.content-type")


# The engine's rules, the checks that own them and what each check is about.
BOOK = RuleBook(RULES, RULE_CHECKS, RULE_SUBJECTS, validate_message_stream, require_stream_answer)
judge = BOOK.judge
judge_rules = BOOK.judge_rules
judged_streams_of = BOOK.judge_all


def require_offered(stream: MessagesStream) -> None:
    """The stream of an optional feature was answered: a clean 4xx declines the feature
    (`not_supported`); a stream that reached its end is judged even when the server then held
    the connection open (messages.stream.closes-after-stop judges that)."""
    if not (stream.exchange.status == 200 and stream.complete):
        require_success(stream.exchange)


