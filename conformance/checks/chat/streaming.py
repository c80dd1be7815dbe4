"""Chat Completions, streamed: SSE framing and the `[DONE]` sentinel."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from conformance import schemas
from conformance.check import Level, Problems, check, expect, expect_equal, record, warn
from conformance.checks.chat import DOC, OP, first_message
from conformance.http import Exchange
from conformance.preconditions import require_object, require_stream
from conformance.shapes import describe
from conformance.sse import DEVIATION_KINDS, SSEEvent
from conformance.streams import DONE, ChatStream, decode_chat_stream, transcript

STREAM_SPEC = "openapi/chat.yaml#/paths/~1chat~1completions/post/responses/200/content/text~1event-stream"
SOURCE = "OpenAI API reference, chat/create `stream` and chat streaming guide"
# Legal SSE that conforming clients read, but that OpenAI never sends: warn, do not fail.
FRAMING_DEVIATIONS = ("crlf", "cr", "no-space", "multi-line-data", "bom", "unknown-field")


@check("chat.stream.content-type", level=Level.MUST, feature="streaming", operation=OP,
       spec=STREAM_SPEC, source=SOURCE)
def test_content_type(chat_stream: ChatStream) -> None:
    """A streamed completion MUST be sent with `Content-Type: text/event-stream`."""
    require_stream(chat_stream.exchange)
    expect_equal(chat_stream.exchange.media_type, "text/event-stream", "Content-Type media type")


@check("chat.stream.data-json", level=Level.MUST, feature="streaming", operation=OP,
       spec=schemas.pointer(DOC, "CreateChatCompletionStreamResponse"), source=SOURCE)
def test_data_json(chat_stream: ChatStream) -> None:
    """Every `data:` payload before `[DONE]` MUST be one complete JSON object."""
    require_stream(chat_stream.exchange)
    expect(chat_stream.chunks, "the stream carried no JSON chunk at all",
           expected="data: {...chat.completion.chunk...}",
           actual=chat_stream.exchange.body[:500])
    bad = chat_stream.invalid
    expect(not bad, f"{len(bad)} event(s) carry data that is not a JSON object",
           expected="data: <JSON object>", actual=transcript(bad)[:5])


@check("chat.stream.done-sentinel", level=Level.MUST, feature="streaming", operation=OP,
       spec=f"{STREAM_SPEC}/x-sse-terminator", source=SOURCE)
def test_done_sentinel(chat_stream: ChatStream) -> None:
    """The stream MUST end with the event `data: [DONE]`, terminated by a blank line."""
    require_stream(chat_stream.exchange)
    unterminated = [d for d in chat_stream.exchange.deviations if d.kind == "unterminated-event"]
    expect(chat_stream.done is not None, "the stream ended without a `data: [DONE]` event"
           + (" (a final event was not terminated by a blank line, so clients drop it)"
              if unterminated else ""),
           expected="data: [DONE]\\n\\n as the last event",
           actual=transcript(chat_stream.exchange.events)[-3:] + [d.raw for d in unterminated])


@check("chat.stream.nothing-after-done", level=Level.MUST, feature="streaming", operation=OP,
       spec=f"{STREAM_SPEC}/x-sse-terminator", source=SOURCE)
def test_nothing_after_done(chat_stream: ChatStream) -> None:
    """After `data: [DONE]` the server MUST send no further event and close the stream."""
    require_stream(chat_stream.exchange)
    expect(not chat_stream.after_done, f"{len(chat_stream.after_done)} event(s) after [DONE]",
           expected="end of stream after [DONE]", actual=transcript(chat_stream.after_done))


@check("chat.stream.framing", level=Level.SHOULD, feature="streaming", operation=OP,
       spec=STREAM_SPEC, source="WHATWG HTML, server-sent events; OpenAI's observed framing")
def test_framing(chat_stream: ChatStream) -> None:
    """Events SHOULD be framed as OpenAI frames them: `data: <json>` lines ending in LF, one per event."""
    require_stream(chat_stream.exchange)
    found = [d for d in chat_stream.exchange.deviations if d.kind in FRAMING_DEVIATIONS]
    kinds = Counter(d.kind for d in found)
    expect(not found, "framing deviations: " + ", ".join(
        f"{n}x {kind} ({DEVIATION_KINDS[kind]})" for kind, n in kinds.items()),
        expected="'data: ' + JSON + '\\n\\n' per event",
        actual=[f"line {d.line}: {d.raw!r}" for d in found[:10]])


# --- delivery: incremental, and the same text as without streaming ---------------------------

# A stream is incremental when its content deltas reach the client over at least two network
# reads and the first one arrives at least MIN_LEAD_SECONDS before the stream's last byte. Reads,
# not only time, because a fast local gateway streams a whole answer within a few milliseconds;
# the lead, because a buffered answer sent over a real network can still be split into several
# reads, all within a moment. A real model's tokens are tens of milliseconds apart.
MIN_LEAD_SECONDS = 0.005


@check("chat.stream.incremental", level=Level.SHOULD, feature="streaming", operation=OP,
       spec=STREAM_SPEC, source=SOURCE + ": 'partial message deltas will be sent'")
def test_incremental(chat_stream: ChatStream) -> None:
    """Content SHOULD reach the client as it is generated: in several deltas, over at least two network reads, the first at least 5 ms before the end of the stream."""
    exchange = chat_stream.exchange
    require_stream(exchange)
    times = [event.time for event in _delta_events(chat_stream) if event.time is not None]
    expect(times, "the stream carried no content delta", actual=exchange.body[:300])
    last_byte = exchange.chunk_times[-1][0] if exchange.chunk_times else exchange.elapsed
    reads = sorted(set(times))
    lead = last_byte - times[0]
    record(content_deltas=len(times), content_reads=len(reads), body_reads=len(
        exchange.chunk_times), first_content_at=round(times[0], 4), last_byte_at=round(
        last_byte, 4), lead_seconds=round(lead, 4))
    problems = Problems()
    problems.expect(len(times) > 1, "the whole answer came in a single content delta")
    problems.expect(len(reads) > 1, f"all {len(times)} content deltas arrived in one network "
                    f"read (the body came in {len(exchange.chunk_times)} read(s)): the answer "
                    "was buffered, then sent at once")
    problems.expect(lead >= MIN_LEAD_SECONDS, f"the first content delta arrived only "
                    f"{lead * 1000:.1f} ms before the end of the stream")
    problems.raise_if_any("the stream is not incremental",
                          expected=f"deltas over >= 2 reads, lead >= {MIN_LEAD_SECONDS * 1000:g} ms")


def _delta_events(stream: ChatStream) -> list[SSEEvent]:
    """The events that carry generated output (content text or tool-call fragments)."""
    found = []
    for event in stream.exchange.events:
        try:
            payload = json.loads(event.data)
        except ValueError:
            continue
        entries = payload.get("choices") if isinstance(payload, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            delta = entry.get("delta") if isinstance(entry, dict) else None
            if isinstance(delta, dict) and (delta.get("content") or delta.get("tool_calls")):
                found.append(event)
                break
    return found


@check("chat.stream.matches-non-stream", level=Level.SHOULD, feature="streaming", operation=OP,
       spec=STREAM_SPEC, source=SOURCE)
def test_matches_non_stream(chat_stop: Exchange, chat_stop_stream: ChatStream) -> None:
    """The concatenated content deltas SHOULD equal the non-streamed content of the same request at temperature 0 (a counting prompt, near-deterministic for every model)."""
    body = require_object(chat_stop)
    require_stream(chat_stop_stream.exchange)
    expected = first_message(body).get("content")
    streamed = chat_stop_stream.text()
    record(non_streamed=expected, streamed=streamed)
    if not isinstance(expected, str):
        warn(f"the non-streamed answer has no text to compare: choices[0].message.content is "
             f"{describe(expected)} (choices: {describe(body.get('choices'))})",
             expected="the same text, streamed and not", actual=streamed)
    if streamed != expected:
        offset = _common_prefix_length(streamed, str(expected))
        warn(f"streamed text differs from the non-streamed text from offset {offset}",
             expected=expected, actual=streamed)


def _common_prefix_length(first: str, second: str) -> int:
    length = 0
    while length < min(len(first), len(second)) and first[length] == second[length]:
        length += 1
    return length


# --- a failure after the stream began --------------------------------------------------------


@check("chat.stream.error-shape", level=Level.MUST, feature="streaming", operation=OP,
       spec=f"{STREAM_SPEC}/x-sse-error-schema",
       source="openai-python: a `data:` payload with an `error` key is raised as APIError")
def test_error_shape(chat_stream: ChatStream, chat_stream_without_usage: Exchange) -> None:
    """An error after a 200 stream began MUST be a `data:` payload carrying the error envelope `{"error": {...}}`, after which no chunk follows (a `[DONE]` may)."""
    # No request can make an arbitrary gateway fail mid-stream; every stream the run recorded is
    # judged, and a failure that happened in any of them must have been reported this way.
    streams = [chat_stream, decode_chat_stream(chat_stream_without_usage)]
    problems = Problems()
    observed = 0
    for stream in streams:
        require_stream(stream.exchange)
        errors, strays = _error_reports(stream)
        observed += len(errors) + len(strays)
        problems.items += [f"{stream.exchange.id}: {s}" for s in strays]
        for index, payload in errors:
            problems.items += [f"{stream.exchange.id} event #{index}: {p}" for p in
                               schemas.errors(DOC, "ErrorResponse", payload, limit=3)]
            later = [e.index for e in stream.exchange.events[index + 1:]
                     if e.data.strip() != DONE]
            problems.expect(not later, f"{stream.exchange.id} event #{index} reports an error, "
                            f"yet events {later[:5]} follow it")
    record(streams_judged=len(streams), mid_stream_errors=observed)
    problems.raise_if_any("a mid-stream failure is not reported as an error payload",
                          expected='data: {"error": {"message", "type", "param", "code"}}')


def _error_reports(stream: ChatStream) -> tuple[list[tuple[int, Any]], list[str]]:
    """Error payloads (event index, JSON) and the malformed ways a failure was reported."""
    errors: list[tuple[int, Any]] = []
    strays = [f"line {d.line}: {d.raw!r} is not an SSE field, so clients drop it silently"
              for d in stream.exchange.deviations if d.kind == "unknown-field"]
    for event in stream.exchange.events:
        if event.data.strip() == DONE:
            continue
        try:
            payload = json.loads(event.data)
        except ValueError:
            strays.append(f"event #{event.index}: data {event.data[:120]!r} is not JSON")
            continue
        if isinstance(payload, dict) and "error" in payload:
            errors.append((event.index, payload))
        elif not (isinstance(payload, dict) and "choices" in payload):
            strays.append(f"event #{event.index}: {event.data[:120]} is neither a chunk nor "
                          'the error envelope {"error": {...}}')
    return errors, strays
