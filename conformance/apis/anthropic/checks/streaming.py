"""Messages, streamed: SSE framing, per-event schemas, the event-order engine's rule groups, how
the stream ends, and whether it assembles into the unstreamed answer."""

from __future__ import annotations

from typing import Any

from conformance import stream_rules, tokens
from conformance.apis.anthropic.checks import (
    DOC,
    OP,
    PATH,
    RULE_SUBJECTS,
    SOURCE,
    SOURCE_STREAMING,
    MessagesStream,
    content_blocks,
    judge_rules,
    require_stream_answer,
    spec,
    text_of,
    usage_of,
)
from conformance.check import (
    Level,
    Problems,
    check,
    inconclusive,
    observe,
    record,
    require_observed,
)
from conformance.http import Exchange
from conformance.stream_rules import JudgedStreams

STREAM_SPEC = f"{spec('MessageStreamEvent')}"
EVENTS_SPEC = f"openapi/{DOC}#/paths/~1messages/post/responses/200/content/text~1event-stream"


def _rule_check(check_id: str, level: Level = Level.MUST, pointer: str = STREAM_SPEC, *,
                fix: str):
    """A check over the judged streams that owns a group of the engine's rules."""
    return check(check_id, level=level, feature="streaming", operation=OP, spec=pointer,
                 observes=f"{_subject(check_id)} in the recorded streams",
                 source=SOURCE_STREAMING, fix=fix)


def _subject(check_id: str) -> str:
    return RULE_SUBJECTS[check_id][0]


@check("messages.stream.content-type", level=Level.MUST, feature="streaming",
       observes="the Content-Type of each answered stream", operation=OP, spec=EVENTS_SPEC,
       source=SOURCE_STREAMING,
       fix="Set the response header `Content-Type: text/event-stream` on every streamed Messages "
           "answer, whatever type the upstream sent.")
def test_content_type(message_stream: MessagesStream, message_cut_stream: MessagesStream,
                      message_tool_stream: MessagesStream,
                      message_thinking_stream: MessagesStream) -> None:
    """A streamed message MUST be sent with `Content-Type: text/event-stream`."""
    if message_stream.exchange.status != 200:
        require_stream_answer(message_stream)  # refused: a failure, streaming is core
    stream_rules.judge_content_type({
        "text": message_stream, "max_tokens cut": message_cut_stream,
        "tool_use": message_tool_stream, "thinking": message_thinking_stream})


@_rule_check("messages.stream.event-name", pointer=f"{EVENTS_SPEC}/x-sse-framing",
             fix="Write an `event: <type>` line before each `data:` line, with the value of the "
                 "payload's `type` (e.g. `event: content_block_delta`).")
def test_event_name(judged_streams: JudgedStreams) -> None:
    """Every SSE frame MUST carry an `event:` line equal to its payload's JSON `type` (the official SDKs dispatch on it and drop a frame without one)."""
    judge_rules(judged_streams, "messages.stream.event-name",
                "SSE event names are missing or do not match the payload types")


@_rule_check("messages.stream.event-schema", pointer=f"{EVENTS_SPEC}/x-sse-events",
             fix="Send as `data` only JSON objects whose `type` is a documented Messages event, "
                 "with the fields that event's schema requires (e.g. `index` and a typed `delta` "
                 "on `content_block_delta`).")
def test_event_schema(judged_streams: JudgedStreams) -> None:
    """Every event MUST be a JSON object with a string `type`, valid against the schema of its type (`x-sse-events`)."""
    judge_rules(judged_streams, "messages.stream.event-schema",
                "stream payloads are not typed event objects")
    stream_rules.judge_event_schemas(judged_streams, DOC, PATH,
                                     lambda index, payload: f"event #{index} ({payload['type']})")


@_rule_check("messages.stream.no-done", Level.SHOULD, f"{EVENTS_SPEC}/x-sse-framing",
             fix="Do not append OpenAI's `data: [DONE]` to Messages streams; end them by closing "
                 "the connection after `message_stop`.")
def test_no_done(judged_streams: JudgedStreams) -> None:
    """A Messages stream SHOULD end when the connection closes after `message_stop`, with no `data: [DONE]` frame (strict SSE clients fail on it)."""
    judge_rules(judged_streams, "messages.stream.no-done",
                "the stream sends an OpenAI-style [DONE] sentinel")


@_rule_check("messages.stream.message-start", pointer=spec("MessageStartEvent"),
             fix='Open every stream with one `message_start` event whose `message` has `role: '
                 '"assistant"`, `content: []` and `stop_reason: null`, before any content block '
                 'event.')
def test_message_start(judged_streams: JudgedStreams) -> None:
    """The stream MUST open with one `message_start` (pings aside) whose message is an assistant message with empty `content` and null `stop_reason`."""
    judge_rules(judged_streams, "messages.stream.message-start",
                "the stream does not open with message_start")


@_rule_check("messages.stream.block-order", pointer=spec("ContentBlockStartEvent"),
             fix="Emit each content block as `content_block_start`, its own deltas, then "
                 "`content_block_stop` before opening the next one, numbering `index` from 0; "
                 "buffer upstream fragments rather than interleave blocks.")
def test_block_order(judged_streams: JudgedStreams) -> None:
    """Content blocks MUST open at `index` 0, 1, 2, … one at a time (`content_block_start`, deltas of the block's own kind, `content_block_stop`), never interleaved."""
    judge_rules(judged_streams, "messages.stream.block-order",
                "content blocks are out of order or deltas target the wrong block")


@_rule_check("messages.stream.message-delta", pointer=spec("MessageDeltaEvent"),
             fix="Send exactly one `message_delta` after the last `content_block_stop`, with "
                 "`delta.stop_reason` set to a documented value and the final `usage`.")
def test_message_delta(judged_streams: JudgedStreams) -> None:
    """Exactly one `message_delta` MUST follow the last block, with a documented `stop_reason`."""
    judge_rules(judged_streams, "messages.stream.message-delta",
                "message_delta is missing, repeated, misplaced or has an unknown stop_reason")


@_rule_check("messages.stream.message-stop", pointer=spec("MessageStopEvent"),
             fix="Write a `message_stop` event (or an `error` event on failure) as the last event "
                 "of every stream, and nothing after it.")
def test_message_stop(judged_streams: JudgedStreams) -> None:
    """A stream MUST end with `message_stop` (or an `error` event) and nothing after it."""
    judge_rules(judged_streams, "messages.stream.message-stop",
                "the stream does not end with message_stop")


@check("messages.stream.closes-after-stop", level=Level.MUST, feature="streaming",
       observes="streams that reached message_stop or an error event", operation=OP,
       spec=f"{EVENTS_SPEC}/x-sse-framing", source=SOURCE_STREAMING
       + "; anthropic-python reads the stream until the server closes it",
       fix="End the HTTP response (the last chunk of the body) right after writing `message_stop` "
           "or an `error` event, instead of holding the connection open.")
def test_closes_after_stop(judged_streams: JudgedStreams) -> None:
    """After `message_stop` (or an `error` event) the server MUST close the connection."""
    judged_streams.required()
    problems = Problems()
    problems.items += stream_rules.held_open(judged_streams)
    problems.raise_if_any("the connection stays open after the stream's end",
                          expected="the server closes the stream after message_stop")
    require_observed(sum(1 for j in judged_streams if j.stream.complete),
                     "streams that reached message_stop or an error event",
                     "no stream reached its end (see messages.stream.message-stop)")


# --- the assembled message --------------------------------------------------------------------


@check("messages.stream.matches-message", level=Level.MUST, feature="streaming",
       observes="streams whose unstreamed request was answered", operation=OP,
       spec=spec("Message"), source=SOURCE_STREAMING + "; " + SOURCE,
       fix="Build the stream from the same translation of the upstream answer as the unstreamed "
           "message, so it carries the same content blocks in order, the same tool names and the "
           "same `stop_reason`.")
def test_matches_message(judged_streams: JudgedStreams, message: Exchange,
                         message_tool: Exchange) -> None:
    """The message a client assembles from a stream MUST have the structure of the same request answered unstreamed: the same block types in order, tool names and, where both hold the same text, `stop_reason`."""
    judged_streams.required()
    plain = {"text": message, "tool_use": message_tool}
    problems = Problems()
    compared = 0
    for entry in judged_streams:
        unstreamed = _answer(plain.get(entry.label))
        assembled = entry.summary.message
        if unstreamed is None or assembled is None or entry.summary.end != "message_stop":
            continue
        compared += 1
        for field, streamed, whole in _structure(assembled, unstreamed):
            problems.expect(streamed == whole, f"{entry.label} stream: {field} is {streamed!r} "
                            f"streamed but {whole!r} unstreamed")
    record(compared=compared)
    problems.raise_if_any("the streamed message differs from the unstreamed answer",
                          expected="the same content block types, tool names and stop_reason")
    if not compared:
        inconclusive("no stream ended with message_stop beside an answered unstreamed twin, so "
                     "nothing could be compared (see messages.stream.message-stop)")
    observe("streams compared", compared)


def _answer(exchange: Exchange | None) -> dict[str, Any] | None:
    if exchange is None or exchange.status != 200:
        return None
    body = exchange.json_or_none()
    return body if isinstance(body, dict) else None


def _structure(streamed: dict[str, Any], whole: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, streamed value, unstreamed value) for what both answers must share. Text is not
    compared: a sampled model may word the two answers differently, and so end them
    differently (one cut at `max_tokens`), so `stop_reason` is compared when the texts agree."""
    def shape(message: dict[str, Any]) -> list[Any]:
        blocks = content_blocks(message)
        return [[b.get("type") for b in blocks],
                [b.get("name") for b in blocks if b.get("type") == "tool_use"],
                message.get("stop_reason")]
    fields = ["content block types", "tool_use names", "stop_reason"]
    if text_of(streamed) != text_of(whole):
        fields.pop()
    return list(zip(fields, shape(streamed), shape(whole), strict=False))


# --- delivery ---------------------------------------------------------------------------------


@check("messages.stream.incremental", level=Level.SHOULD, feature="streaming",
       observes="the text deltas of the recorded streams, for an answer longer than one token",
       operation=OP, spec=EVENTS_SPEC, source=SOURCE_STREAMING,
       fix="Flush each event to the client as soon as the upstream produces it: turn off response "
           "buffering and compression for `text/event-stream`, in the gateway and in any proxy in "
           "front of it.")
def test_incremental(judged_streams: JudgedStreams, message: Exchange,
                     tokenizer: tokens.Tokenizer) -> None:
    """Output SHOULD reach the client as it is generated: in several deltas, over at least two network reads, the first at least 20 ms before the end of the stream."""
    body = _answer(message)
    usage = usage_of(body)
    length = tokens.answer_length(usage.get("output_tokens") if usage else None,
                                  text_of(body) if body else None, tokenizer.encoding)
    stream_rules.judge_incremental(judged_streams, length, ("content_block_delta",),
                                   "content deltas")
