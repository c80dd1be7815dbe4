"""POST /v1/responses: the checks, by part of the contract, and the requests they share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance import schemas, stream_rules
from conformance.apis.openai.event_order import (
    ERROR,
    ITEM_ADDED,
    LIFECYCLE_START,
    RULES,
    TERMINAL_STATUS,
    validate_event_order,
)
from conformance.apis.openai.streams import ResponsesStream
from conformance.check import inconclusive, record
from conformance.preconditions import require_event_stream, require_response
from conformance.sampling import deterministic
from conformance.shapes import array_member, describe, member, objects
from conformance.stream_rules import RuleBook

PATH = "/responses"
DOC = "responses.yaml"
OP_CREATE = "createResponse"
OP_GET = "getResponse"
QUESTION = "In one short sentence, what is an API gateway?"
# Room for a short answer (and a reasoning model's summary) without being cut.
MAX_OUTPUT_TOKENS = 96
# The effort the suite asks a reasoning model for: the lowest every reasoning model accepts.
REASONING_EFFORT = "low"
# The documented minimum of max_output_tokens. The cut request asks QUESTION again, so the
# plain answer (same input, MAX_OUTPUT_TOKENS) tells whether this cap must cut it.
CUT_OUTPUT_TOKENS = 16
STREAM_SPEC = ("openapi/responses.yaml#/paths/~1responses/post/responses/200/content/"
               "text~1event-stream")
SOURCE_DOCS = "OpenAI API reference, responses/create"
SOURCE_STREAMING = ("OpenAI API reference, responses streaming events; Open Responses "
                    "specification (items and content parts)")
SEED_USAGE = "seed 002_d334414c6e56d481.txt"
SEED_CHAT_BODY = "seed 001_f6cad9c18a0556b9.txt"
SEED_HOSTED = "seed 004_a043ebbdec61efe7.txt"


def spec(schema: str) -> str:
    return schemas.pointer(DOC, schema)


def responses_body(model: str, **extra: Any) -> dict[str, Any]:
    """The plain request most checks share: one question, a small limit, temperature 0 if allowed."""
    body: dict[str, Any] = {
        "model": model,
        "input": QUESTION,
        **deterministic(model),
        "max_output_tokens": MAX_OUTPUT_TOKENS,
    }
    body.update(extra)
    return body


WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}
TIME_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "get_time",
    "description": "Current local time in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}
TOOL_QUESTION = "What is the weather in Paris right now?"


def function_call_body(model: str, **extra: Any) -> dict[str, Any]:
    """A request that forces a call of `get_weather`."""
    return responses_body(
        model, input=TOOL_QUESTION, tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "name": WEATHER_TOOL["name"]}, **extra)


def output_entries(body: Any) -> list[Any]:
    """The `output` array as sent, entries of any kind ([] when it is not an array)."""
    return array_member(body, "output")


def output_problem(body: Any) -> str | None:
    """Why `output` cannot be read as an array of items (None: it can)."""
    found = member(body, "output")
    return None if isinstance(found, list) else (
        f"output is {describe(found)}, expected an array of output items")


def require_output(body: Any) -> None:
    """The output items can be read; else there is nothing to judge in them (the body's shape
    is judged by responses.response.object)."""
    problem = output_problem(body)
    if problem:
        inconclusive(f"{problem}, so its items cannot be read (see responses.response.object)")


def chat_named(found: Any) -> bool:
    """A usage object with Chat's names instead of the Responses ones (judged by
    responses.usage.field-names, so the other usage checks have nothing to read)."""
    return isinstance(found, dict) and "output_tokens" not in found and "input_tokens" not in \
        found and ("prompt_tokens" in found or "completion_tokens" in found)


def output_items(body: Any, item_type: str) -> list[dict[str, Any]]:
    """The output items of one type (robust to a malformed body)."""
    return [i for i in objects(member(body, "output")) if i.get("type") == item_type]


def output_types(body: Any) -> list[Any]:
    """The `type` of every output item that is an object, for failure messages."""
    return [i.get("type") for i in objects(member(body, "output"))]


def content_parts(item: Any) -> list[dict[str, Any]]:
    """The content parts of an item that are objects."""
    return objects(member(item, "content"))


def message_text(body: Any) -> str:
    """The joined text of every output_text part of every message item, in order."""
    return "".join(part["text"] for item in output_items(body, "message")
                   for part in content_parts(item)
                   if part.get("type") == "output_text" and isinstance(part.get("text"), str))


# --- streams and the event-order engine -------------------------------------------------------

# Every rule of the event-order engine belongs to exactly one check (a unit test keeps it so):
# a report then names each broken rule once, under the check that owns it.
RULE_CHECKS: dict[str, frozenset[str]] = {
    "responses.stream.created-first": frozenset({
        "first-event-created", "in-progress-after-created", "lifecycle-event-misplaced",
        "response-id-consistent"}),
    "responses.stream.sequence-number": frozenset({"sequence-number-present"}),
    "responses.stream.sequence-order": frozenset({"sequence-number-increasing"}),
    "responses.stream.sequence-contiguous": frozenset({"sequence-number-contiguous"}),
    "responses.stream.event-name": frozenset({
        "sse-event-name-matches-type", "sse-event-name-present"}),
    "responses.stream.event-schema": frozenset({"event-type-present"}),
    "responses.stream.event-order": frozenset({
        "output-index-order", "item-event-before-added", "item-event-after-done",
        "event-item-mismatch", "event-item-type", "item-done-matches-added", "item-done-status",
        "incomplete-item-last", "part-index-order", "part-event-outside-part",
        "delta-matches-part-type", "part-text-done-once", "part-closed-before-item-done",
        "annotation-in-text-part"}),
    "responses.stream.text-done-matches": frozenset({
        "part-text-matches-deltas", "part-done-matches-text", "item-done-matches-text"}),
    "responses.stream.function-call": frozenset({
        "arguments-stream-sequence", "arguments-match-deltas", "arguments-match-item",
        "function-args-done-name"}),
    "responses.stream.single-terminal": frozenset({
        "terminal-event-missing", "terminal-event-duplicated"}),
    "responses.stream.terminal-last": frozenset({"terminal-event-not-last"}),
    "responses.stream.terminal-status": frozenset({
        "terminal-status-matches-type", "incomplete-item-response-incomplete"}),
    "responses.stream.terminal-output": frozenset({
        "terminal-output-matches-items", "terminal-usage", "item-closed-before-terminal"}),
    "responses.stream.failure-shape": frozenset({
        "bare-error-payload", "error-followed-by-failed", "failed-carries-error"}),
    "responses.incomplete.details": frozenset({"incomplete-details-reason"}),
}


def _events(stream: ResponsesStream, types: Any = None) -> list[dict[str, Any]]:
    """The stream's typed events (of the given types, when named)."""
    return [p for p in stream.payloads if isinstance(p, dict)
            and (types is None or p.get("type") in types)]


def _of(*types: str) -> Callable[[ResponsesStream], int]:
    """Counts the stream's events of these types (of every type when none is named)."""
    return lambda stream: len(_events(stream, types or None))


def _items_added(item_type: str) -> Callable[[ResponsesStream], int]:
    def count(stream: ResponsesStream) -> int:
        return sum(1 for e in _events(stream, (ITEM_ADDED,))
                   if isinstance(e.get("item"), dict) and e["item"].get("type") == item_type)
    return count


def _failures(stream: ResponsesStream) -> int:
    """Mid-stream failures: `error` and `response.failed` events, or bare error payloads."""
    bare = sum(1 for p in stream.payloads
               if isinstance(p, dict) and "type" not in p and "error" in p)
    return _of(ERROR, "response.failed")(stream) + bare


TERMINAL = ("terminal events", _of(*TERMINAL_STATUS))
TEXT_DONE = ("response.output_text.done", "response.refusal.done",
             "response.reasoning_summary_text.done", "response.reasoning_text.done",
             "response.content_part.done", "response.reasoning_summary_part.done")
# What each rule group is about, and how many of those a stream holds: a group passes only
# when the streams it judged held its subject (no function_call item: nothing to judge).
RULE_SUBJECTS: dict[str, tuple[str, Callable[[ResponsesStream], int]]] = {
    "responses.stream.created-first": ("opening lifecycle events", _of(*LIFECYCLE_START)),
    "responses.stream.sequence-number": ("events", _of()),
    "responses.stream.sequence-order": ("consecutive events", lambda s: max(_of()(s) - 1, 0)),
    "responses.stream.sequence-contiguous": ("events", _of()),
    "responses.stream.event-name": ("SSE events", lambda s: len(s.payloads)),
    "responses.stream.event-schema": ("events", lambda s: len(s.payloads)),
    "responses.stream.event-order": ("output items (output_item.added)", _of(ITEM_ADDED)),
    "responses.stream.text-done-matches": ("text and part `.done` events", _of(*TEXT_DONE)),
    "responses.stream.function-call": ("function_call items", _items_added("function_call")),
    "responses.stream.single-terminal": TERMINAL,
    "responses.stream.terminal-last": TERMINAL,
    "responses.stream.terminal-status": TERMINAL,
    "responses.stream.terminal-output": TERMINAL,
    "responses.stream.failure-shape": ("mid-stream failures (error, response.failed)",
                                       _failures),
    "responses.incomplete.details": ("response.incomplete events", _of("response.incomplete")),
}




def require_stream_answer(stream: ResponsesStream) -> None:
    """A 200 event stream that the client could read up to its terminal event."""
    require_event_stream(stream.exchange, stream.complete, "responses.stream.content-type")


# The engine's rules, the checks that own them and what each check is about.
BOOK = RuleBook(RULES, RULE_CHECKS, RULE_SUBJECTS, validate_event_order, require_stream_answer)
judge = BOOK.judge
judge_rules = BOOK.judge_rules
judged_streams_of = BOOK.judge_all


stream_usable = stream_rules.usable


def stream_answered(stream: ResponsesStream) -> bool:
    """The stream delivered an answer: it ended with `response.completed` or `.incomplete`
    (not `response.failed`, not cut short)."""
    return (stream.terminal or {}).get("type") in ("response.completed", "response.incomplete")


def stream_terminal(stream: ResponsesStream, plain: ResponsesStream) -> dict[str, Any] | None:
    """The terminal response of `stream`, for a check that judges a non-stream answer too.

    Such a check judges its non-stream part whatever the stream did. When streaming fails
    altogether (the plain stream too) the streaming checks report it, so the stream part is
    left unjudged here; a stream refused while the plain one answered is this check's failure.
    """
    exchange = stream.exchange
    if not stream_usable(stream):
        if exchange.status != 200 and stream is not plain and stream_usable(plain):
            require_stream_answer(stream)  # refused while the plain stream answered: fails
        if exchange.status == 200 and exchange.is_sse:
            require_response(exchange)  # transport trouble: an error, not a verdict
        record(stream_not_judged=f"the stream got HTTP {exchange.status} "
               f"({exchange.media_type or 'no Content-Type'}): see responses.stream.*")
        return None
    if not stream_answered(stream) or stream.terminal_response is None:
        # A failed stream delivered no answer, and its response need not carry usage.
        record(stream_not_judged="the stream has no terminal response, or it failed (see "
               "responses.stream.single-terminal and responses.stream.failure-shape)")
        return None
    return stream.terminal_response
