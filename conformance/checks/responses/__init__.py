"""POST /v1/responses: the checks, by part of the contract, and the requests they share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance import schemas
from conformance.check import Problems, fail, record, warn
from conformance.event_order import MUST, RULES, StreamSummary, Violation, validate_event_order
from conformance.http import Exchange
from conformance.preconditions import require_stream
from conformance.sampling import deterministic
from conformance.shapes import array_member, describe, member, objects
from conformance.streams import ResponsesStream

PATH = "/responses"
DOC = "responses.yaml"
OP_CREATE = "createResponse"
OP_GET = "getResponse"
QUESTION = "In one short sentence, what is an API gateway?"
# Room for a short answer (and a reasoning model's summary) without being cut.
MAX_OUTPUT_TOKENS = 96
# The documented minimum of max_output_tokens: the answer is cut long before it ends.
CUT_OUTPUT_TOKENS = 16
LONG_QUESTION = ("Explain in detail, over several paragraphs, how an API gateway routes, "
                 "authenticates and rate-limits requests.")
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


@dataclass
class JudgedStream:
    """One recorded stream with the event-order engine's verdict on it."""

    label: str
    stream: ResponsesStream
    violations: list[Violation]
    summary: StreamSummary

    @property
    def exchange(self) -> Exchange:
        return self.stream.exchange


def judge(label: str, stream: ResponsesStream) -> JudgedStream:
    violations, summary = validate_event_order(stream.payloads, stream.sse_names)
    return JudgedStream(label, stream, violations, summary)


def require_stream_answer(stream: ResponsesStream, feature: str = "streaming") -> None:
    """A 200 event stream that the client could read up to its terminal event.

    A connection left open after the terminal event is cut by the harness; only
    `responses.stream.closes-after-terminal` judges that, the other checks judge what arrived.
    """
    exchange = stream.exchange
    if not (exchange.cut and exchange.status == 200 and stream.complete):
        require_stream(exchange, feature)
    if not exchange.is_sse:
        fail(f"the stream was sent as {exchange.media_type or 'no Content-Type'!r}, not "
             "text/event-stream, so no event could be read",
             expected="text/event-stream", actual=exchange.body[:300])


def stream_usable(stream: ResponsesStream) -> bool:
    """An optional stream (function call, cut answer, hosted tool) the engine can judge."""
    exchange = stream.exchange
    return exchange.status == 200 and exchange.is_sse and (exchange.ok or stream.complete)


def rule_problems(judged: list[JudgedStream], check_id: str) -> tuple[list[str], list[str]]:
    """The engine's MUST and SHOULD violations of one check's rules, over every stream."""
    rules = RULE_CHECKS[check_id]
    musts: list[str] = []
    shoulds: list[str] = []
    for entry in judged:
        for violation in entry.violations:
            if violation.rule in rules:
                line = (f"{entry.label} stream [{violation.rule}]: {violation.message}\n    "
                        + "\n    ".join(violation.context))
                (musts if violation.level == MUST else shoulds).append(line)
    return musts, shoulds


def judge_rules(judged: list[JudgedStream], check_id: str, summary: str) -> None:
    """Fail on the check's MUST rules, warn on its SHOULD rules; record what was judged."""
    rules = sorted(RULE_CHECKS[check_id])
    record(streams_judged=[f"{j.label} ({len(j.stream.payloads)} events, exchange "
                           f"{j.exchange.id})" for j in judged],
           rules=rules)
    musts, shoulds = rule_problems(judged, check_id)
    problems = Problems()
    problems.items.extend(musts)
    problems.raise_if_any(summary, expected=[RULES[r][1] for r in rules if RULES[r][0] == MUST])
    if shoulds:
        warn(f"{summary} (SHOULD): {len(shoulds)} deviation(s)", actual=shoulds[:20],
             expected=[RULES[r][1] for r in rules if RULES[r][0] != MUST])
