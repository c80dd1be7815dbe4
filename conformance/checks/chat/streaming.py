"""Chat Completions, streamed: SSE framing and the `[DONE]` sentinel."""

from __future__ import annotations

from collections import Counter

from conformance import schemas
from conformance.check import Level, check, expect, expect_equal
from conformance.preconditions import require_stream
from conformance.sse import DEVIATION_KINDS
from conformance.streams import ChatStream, transcript

OP = "createChatCompletion"
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
       spec=schemas.pointer("chat.yaml", "CreateChatCompletionStreamResponse"), source=SOURCE)
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
