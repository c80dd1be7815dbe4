"""Chat Completions, streamed: SSE framing and the `[DONE]` sentinel."""

from __future__ import annotations

from collections import Counter

from conformance import schemas, tokens
from conformance.apis.openai.checks.chat import DOC, OP, answer_length
from conformance.apis.openai.checks.chat.midstream import (
    StreamParts,
    answered_both_ways,
    parts_of,
)
from conformance.apis.openai.streams import ChatStream
from conformance.check import (
    Level,
    Problems,
    check,
    expect,
    inconclusive,
    observe,
    record,
    require_observed,
    warn,
)
from conformance.delivery import delivery, judge_delivery
from conformance.http import SSE_TYPE, Exchange
from conformance.preconditions import (
    ignored_stream,
    require_stream,
    require_success,
)
from conformance.sse import DEVIATION_KINDS, SSEEvent
from conformance.streams import DONE, event_json, transcript

STREAM_SPEC = "openapi/chat.yaml#/paths/~1chat~1completions/post/responses/200/content/text~1event-stream"
SOURCE = "OpenAI API reference, chat/create `stream` and chat streaming guide"
# Legal SSE that conforming clients read, but that OpenAI never sends: warn, do not fail.
FRAMING_DEVIATIONS = ("crlf", "cr", "no-space", "multi-line-data", "bom", "unknown-field")


@check("chat.stream.content-type", level=Level.MUST, feature="streaming", operation=OP,
       observes="the Content-Type of a streamed completion", spec=STREAM_SPEC, source=SOURCE,
       fix="Set the response header `Content-Type: text/event-stream` on streamed completions, "
           "whatever type the upstream sent.")
def test_content_type(chat_stream: ChatStream) -> None:
    """A streamed completion MUST be sent with `Content-Type: text/event-stream`."""
    exchange = chat_stream.exchange
    require_success(exchange)  # an answer that is no stream at all is this check's to fail
    observe("a streamed completion's Content-Type")
    expect(exchange.media_type == SSE_TYPE, "Content-Type media type: expected "
           f"{SSE_TYPE!r}, got {exchange.media_type!r}", expected=SSE_TYPE,
           actual=exchange.media_type, root_cause=ignored_stream(exchange))


# A failure reported mid-stream in another shape (a bare text line, a non-JSON payload after the
# last chunk of a stream that stopped) is chat.stream.error-shape's to judge, not a chunk's.
@check("chat.stream.data-json", level=Level.MUST, feature="streaming", operation=OP,
       observes="the data payloads of a stream", source=SOURCE,
       spec=schemas.pointer(DOC, "CreateChatCompletionStreamResponse"),
       fix="Serialise each chunk as one complete JSON object in a single `data:` event; never "
           "split a chunk over several events or send plain text as data.")
def test_data_json(chat_stream: ChatStream) -> None:
    """Every `data:` payload before `[DONE]` MUST be one complete JSON object."""
    require_success(chat_stream.exchange)  # no stream at all is this check's to fail
    parts = parts_of(chat_stream)
    ignored = ignored_stream(chat_stream.exchange)
    expect(parts.chunks or parts.invalid, "the stream carried no data payload at all"
           + (f" ({ignored.text})" if ignored else ""),
           expected="data: {...chat.completion.chunk...}",
           actual=chat_stream.exchange.body[:500], root_cause=ignored)
    observe("data payloads", len(parts.chunks) + len(parts.invalid))
    bad = parts.invalid
    expect(not bad, f"{len(bad)} event(s) carry data that is not a JSON object",
           expected="data: <JSON object>", actual=transcript(bad)[:5])


@check("chat.stream.done-sentinel", level=Level.MUST, feature="streaming", operation=OP,
       observes="the end of a stream that ran its course", spec=f"{STREAM_SPEC}/x-sse-terminator",
       source=SOURCE,
       fix="Send `data: [DONE]` followed by a blank line as the last event of every chat stream, "
           "after the final chunk.")
def test_done_sentinel(chat_stream: ChatStream) -> None:
    """The stream MUST end with the event `data: [DONE]`, terminated by a blank line."""
    require_stream(chat_stream.exchange)
    failure = parts_of(chat_stream).failure
    if failure:  # after an error `[DONE]` is optional; how it was reported is error-shape's
        inconclusive(f"{failure}, so it had no regular end to judge (chat.stream.error-shape "
                     "judges the failure)")
    observe("the end of a stream")
    unterminated = [d for d in chat_stream.exchange.deviations if d.kind == "unterminated-event"]
    expect(chat_stream.done is not None, "the stream ended without a `data: [DONE]` event"
           + (" (a final event was not terminated by a blank line, so clients drop it)"
              if unterminated else ""),
           expected="data: [DONE]\\n\\n as the last event",
           actual=transcript(chat_stream.exchange.events)[-3:] + [d.raw for d in unterminated])


@check("chat.stream.nothing-after-done", level=Level.MUST, feature="streaming", operation=OP,
       observes="a `data: [DONE]` event and what follows it",
       spec=f"{STREAM_SPEC}/x-sse-terminator", source=SOURCE,
       fix="Close the response right after writing `data: [DONE]`; send no usage, keep-alive or "
           "other event after it.")
def test_nothing_after_done(chat_stream: ChatStream) -> None:
    """After `data: [DONE]` the server MUST send no further event and close the stream."""
    require_stream(chat_stream.exchange)
    if chat_stream.done is None:
        inconclusive("the stream sent no `data: [DONE]`, so nothing can follow it (judged by "
                     "chat.stream.done-sentinel)")
    observe("a [DONE] event")
    expect(not chat_stream.after_done, f"{len(chat_stream.after_done)} event(s) after [DONE]",
           expected="end of stream after [DONE]", actual=transcript(chat_stream.after_done))


@check("chat.stream.framing", level=Level.SHOULD, feature="streaming", operation=OP,
       observes="the events of a stream", spec=STREAM_SPEC,
       source="WHATWG HTML, server-sent events; OpenAI's observed framing",
       fix="Write each event as one `data: <json>` line (one space after the colon, no line break "
           "inside the JSON) and a blank line, with LF line endings and no byte order mark.")
def test_framing(chat_stream: ChatStream) -> None:
    """Events SHOULD be framed as OpenAI frames them: `data: <json>` lines ending in LF, one per event."""
    require_stream(chat_stream.exchange)
    require_observed(len(chat_stream.exchange.events), "events",
                     "the stream carried no event at all (judged by chat.stream.data-json)")
    judged = _framing_kinds(parts_of(chat_stream))
    found = [d for d in chat_stream.exchange.deviations if d.kind in judged]
    kinds = Counter(d.kind for d in found)
    expect(not found, "framing deviations: " + ", ".join(
        f"{n}x {kind} ({DEVIATION_KINDS[kind]})" for kind, n in kinds.items()),
        expected="'data: ' + JSON + '\\n\\n' per event",
        actual=[f"line {d.line}: {d.raw!r}" for d in found[:10]])


def _framing_kinds(parts: StreamParts) -> tuple[str, ...]:
    """The deviations framing judges: in a stream that stopped mid-way, a stray non-SSE line is
    how the failure was reported (chat.stream.error-shape's verdict), not a framing habit."""
    if parts.stopped:
        return tuple(k for k in FRAMING_DEVIATIONS if k != "unknown-field")
    return FRAMING_DEVIATIONS


# --- delivery: incremental, and the same text as without streaming ---------------------------


@check("chat.stream.incremental", level=Level.SHOULD, feature="streaming", operation=OP,
       observes="the content deltas of the recorded streams, for an answer longer than one "
       "token", spec=STREAM_SPEC, source=SOURCE + ": 'partial message deltas will be sent'",
       fix="Flush each chunk to the client as soon as the upstream produces it: turn off response "
           "buffering and compression for `text/event-stream`, in the gateway and in any proxy in "
           "front of it.")
def test_incremental(chat_stream: ChatStream, chat_usage_stream: ChatStream,
                     chat_stop_stream: ChatStream | None, chat_completion: Exchange,
                     tokenizer: tokens.Tokenizer) -> None:
    """Content SHOULD reach the client as it is generated: in several deltas, over at least two network reads, the first at least 20 ms before the end of the stream."""
    require_stream(chat_stream.exchange)
    # Reported usage alone could under-report (0 for a whole sentence): the text is counted too.
    length = answer_length(chat_completion.json_or_none(), tokenizer.encoding)
    if length is not None and length <= 1:  # one token can only come in one delta
        inconclusive(f"the same request not streamed is answered in {length} token(s), too "
                     "short to be delivered in several deltas")
    # Every stream the run recorded, so that a client stalled through one stream's delivery
    # does not decide the verdict (conformance/delivery.py).
    streams = {"plain": chat_stream, "include_usage": chat_usage_stream, "stop": chat_stop_stream}
    judge_delivery([delivery(label, stream.exchange, [e.time for e in _delta_events(stream)])
                    for label, stream in streams.items()
                    if stream is not None and _complete(stream)], "content deltas")


def _delta_events(stream: ChatStream) -> list[SSEEvent]:
    """The events that carry generated output (content text or tool-call fragments)."""
    found = []
    for event in stream.exchange.events:
        payload = event_json(event)
        entries = payload.get("choices") if isinstance(payload, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            delta = entry.get("delta") if isinstance(entry, dict) else None
            if isinstance(delta, dict) and (delta.get("content") or delta.get("tool_calls")):
                found.append(event)
                break
    return found


@check("chat.stream.matches-non-stream", level=Level.SHOULD, feature="streaming", operation=OP,
       observes="the text of one request answered both streamed and not", spec=STREAM_SPEC,
       source=SOURCE,
       fix="Serve streamed and unstreamed requests with the same upstream model and parameters "
           "(same `temperature`, no extra prompt), and forward every content delta unchanged.")
def test_matches_non_stream(chat_completion: Exchange, chat_stream: ChatStream) -> None:
    """The concatenated content deltas SHOULD equal the non-streamed content of the same request at temperature 0."""
    expected, streamed = answered_both_ways(chat_completion, chat_stream)
    if not isinstance(expected, str):  # chat.response.content-present judges a missing text
        inconclusive(f"the non-streamed answer has no text to compare: choices[0].message."
                     f"content is {expected!r}")
    observe("an answer's text, streamed and not")
    if streamed != expected:
        offset = _common_prefix_length(streamed, expected)
        warn(f"streamed text differs from the non-streamed text from offset {offset}",
             expected=expected, actual=streamed)


def _common_prefix_length(first: str, second: str) -> int:
    length = 0
    while length < min(len(first), len(second)) and first[length] == second[length]:
        length += 1
    return length


# --- a failure after the stream began --------------------------------------------------------


# No request can make an arbitrary gateway fail mid-stream: every stream the run keeps is
# searched for a failure (an error payload, or a stream that stopped before any finish_reason
# and without [DONE]). A healthy gateway shows none, so the check is inconclusive there; a
# failure reported in any other shape fails it.
@check("chat.stream.error-shape", level=Level.MUST, feature="streaming", operation=OP,
       observes="a failure after a 200 stream began", spec=f"{STREAM_SPEC}/x-sse-error-schema",
       source="openai-python: a `data:` payload with an `error` key is raised as APIError",
       fix='When the upstream fails mid-stream, send one `data: {"error": {"message", "type", '
           '"param", "code"}}` event and stop (a `data: [DONE]` may follow), instead of cutting '
           'the stream or writing a plain-text line.')
def test_error_shape(chat_stream: ChatStream, chat_usage_stream: ChatStream) -> None:
    """An error after a 200 stream began MUST be a `data:` payload carrying the error envelope `{"error": {...}}`, after which no chunk follows (a `[DONE]` may)."""
    require_stream(chat_stream.exchange)
    streams = [chat_stream] + ([chat_usage_stream] if _complete(chat_usage_stream) else [])
    problems = Problems()
    for stream in streams:
        problems.items += [f"{stream.exchange.id}: {p}" for p in _failure_problems(stream)]
    record(streams_judged=[s.exchange.id for s in streams])
    problems.raise_if_any("a mid-stream failure is not reported as an error payload",
                          expected='data: {"error": {"message", "type", "param", "code"}}')
    if not any(parts_of(stream).failure for stream in streams):
        inconclusive(f"none of the {len(streams)} streams failed after it began, so there was "
                     "no mid-stream error report to judge (a healthy gateway shows none)")


def _complete(stream: ChatStream) -> bool:
    """A 200 stream read to its end (a refused or cut one has no failure report to judge)."""
    return stream.exchange.ok and stream.exchange.status == 200


def _failure_problems(stream: ChatStream) -> list[str]:
    """What is wrong with how this stream reported its failure (observes each failure)."""
    parts = parts_of(stream)
    found: list[str] = []
    for event, payload in parts.errors:
        observe("mid-stream error payloads")
        found += [f"event #{event.index}: {p}"
                  for p in schemas.errors(DOC, "ErrorResponse", payload, limit=3)]
        later = [e.index for e in stream.exchange.events[event.index + 1:]
                 if e.data.strip() != DONE]
        if later:
            found.append(f"event #{event.index} reports an error, yet events {later[:5]} "
                         "follow it")
    if parts.stopped and not parts.errors:
        observe("streams that stopped mid-way")
        found.append("the stream stopped before any finish_reason, without [DONE] and without "
                     "an error payload: " + "; ".join(_strays(stream, parts)))
    return found


def _strays(stream: ChatStream, parts: StreamParts) -> list[str]:
    """How a failure was reported instead of as an error payload, for the evidence."""
    found = [f"line {d.line}: {d.raw!r} is not an SSE field, so clients drop it silently"
             for d in stream.exchange.deviations if d.kind == "unknown-field"]
    found += [f"event #{e.index}: {e.data[:120]!r} is neither a chunk nor the error envelope"
              for e in parts.report]
    return found or ["nothing told the client why it ended"]
