"""Chat streams that did not run their course: what each check may still judge in them.

A stream can fail after its 200 began (the upstream dies): the rules say the failure is sent as
a `data:` payload carrying the error envelope, and chat.stream.error-shape judges that report.
The checks that need a *complete* stream ([DONE], a finish_reason, the usage chunk, whole tool
calls, the whole text) cannot judge such a stream, nor one whose chunk data is not JSON (that
is chat.stream.data-json's failure): they end inconclusive and name the check that owns the
defect, so one root cause is one failure, never a wall of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.apis.openai.checks.chat import first_message
from conformance.apis.openai.streams import ChatStream
from conformance.check import inconclusive, record
from conformance.http import Exchange
from conformance.preconditions import refusal, require_object, require_stream
from conformance.shapes import is_int, member
from conformance.sse import SSEEvent
from conformance.streams import DONE, event_json


@dataclass
class StreamParts:
    """The events of one stream before `[DONE]`, sorted by what they carry."""

    chunks: list[tuple[SSEEvent, dict[str, Any]]] = field(default_factory=list)
    errors: list[tuple[SSEEvent, Any]] = field(default_factory=list)  # {"error": ...} payloads
    invalid: list[SSEEvent] = field(default_factory=list)  # data that is not a JSON object
    report: list[SSEEvent] = field(default_factory=list)  # how the failure was reported
    stopped: bool = False  # ended before any choice finished, and without [DONE]

    @property
    def failure(self) -> str | None:
        """Why this stream did not complete (None: it did)."""
        if self.errors:
            return f"the stream reported an error mid-way (event #{self.errors[0][0].index})"
        if self.stopped:
            return "the stream stopped mid-way: no choice got a finish_reason and no [DONE] came"
        return None


def parts_of(stream: ChatStream) -> StreamParts:
    parts = StreamParts()
    for event in stream.exchange.events:
        if event.data.strip() == DONE:
            break
        payload = event_json(event)
        if isinstance(payload, dict) and "error" in payload:
            parts.errors.append((event, payload))
        elif isinstance(payload, dict):
            parts.chunks.append((event, payload))
        else:
            parts.invalid.append(event)
    parts.stopped = bool(parts.chunks) and stream.done is None and not _finished(parts)
    if parts.errors:  # the error payload and whatever followed it
        first = parts.errors[0][0].index
        parts.report = [e for e in stream.exchange.events if e.index >= first]
    elif parts.stopped:  # whatever came after the last real chunk is the failure's report
        last = max(e.index for e, c in parts.chunks if "choices" in c) if any(
            "choices" in c for _, c in parts.chunks) else -1
        parts.report = [e for e in stream.exchange.events if e.index > last]
    reported = {e.index for e in parts.report}
    parts.chunks = [(e, c) for e, c in parts.chunks if e.index not in reported]
    parts.invalid = [e for e in parts.invalid if e.index not in reported]
    return parts


def judged_chunks(stream: ChatStream) -> list[dict[str, Any]]:
    """The chunks the chunk rules judge: every JSON object but a failure's report."""
    return [chunk for _, chunk in parts_of(stream).chunks]


def require_streaming_served(plain: ChatStream, what: str) -> None:
    """The plain stream got a 200: a refusal of another stream is then about its own parameter.

    When streaming itself is refused (a failure of the core chat.stream checks), a stream that
    adds an optional parameter cannot tell whether that parameter is served: inconclusive.
    """
    if plain.exchange.ok and plain.exchange.status != 200:
        inconclusive(f"streaming itself was refused (HTTP {plain.exchange.status} to the plain "
                     f"stream, judged by the chat.stream checks), so {what} cannot be judged",
                     root_cause=refusal(plain.exchange))


def answered_both_ways(plain: Exchange, stream: ChatStream) -> tuple[Any, str]:
    """The non-streamed first answer's `content` and the streamed text of the same request,
    both recorded (an error or inconclusive first, when either has nothing to compare)."""
    body = require_object(plain)
    require_intact(stream, "the streamed text")
    expected = first_message(body).get("content")
    streamed = stream.text()
    record(non_streamed=expected, streamed=streamed)
    return expected, streamed


def require_intact(stream: ChatStream, what: str) -> StreamParts:
    """A 200 stream that ran its course, JSON and indexed throughout, or inconclusive saying why.

    `what` names what the caller judges ("the usage chunk"), for the reason.
    """
    require_stream(stream.exchange)
    parts = parts_of(stream)
    if parts.failure:
        inconclusive(f"{parts.failure}, so {what} cannot be judged in it "
                     "(chat.stream.error-shape judges how the failure was reported)")
    if parts.invalid:
        inconclusive(f"{len(parts.invalid)} event(s) carry data that is not JSON, so {what} "
                     "cannot be judged (chat.stream.data-json fails the stream)")
    if _unindexed(parts):
        inconclusive(f"{_unindexed(parts)} streamed choice(s) carry no integer `index`, so "
                     f"{what} cannot be assembled (chat.chunk.schema fails the stream)")
    beyond = _beyond_n(parts, requested_n(stream))
    if beyond:
        inconclusive(f"{beyond} streamed choice(s) carry an index beyond the n = "
                     f"{requested_n(stream)} requested, so {what} cannot be assembled "
                     "(chat.chunk.choice-index fails the stream)")
    return parts


def intact(stream: ChatStream) -> bool:
    """A complete 200 stream that ran its course, JSON and indexed throughout."""
    if not stream.exchange.ok or stream.exchange.status != 200:
        return False
    parts = parts_of(stream)
    return parts.failure is None and not parts.invalid and not _unindexed(parts) and \
        not _beyond_n(parts, requested_n(stream))


def requested_n(stream: ChatStream) -> int:
    """The `n` the stream's request asked for (1: absent, or not a positive integer)."""
    n = member(stream.exchange.request_json(), "n")
    return n if is_int(n) and n > 0 else 1


def _unindexed(parts: StreamParts) -> int:
    """Choice entries without an integer `index`: a client cannot tell whose delta they are."""
    return sum(1 for _, chunk in parts.chunks for entry in _entries(chunk)
               if isinstance(entry, dict) and not is_int(entry.get("index")))


def _beyond_n(parts: StreamParts, n: int) -> int:
    """Choice entries whose integer `index` is not one of the n choices asked for."""
    return sum(1 for _, chunk in parts.chunks for entry in _entries(chunk)
               if isinstance(entry, dict) and beyond(entry.get("index"), n))


def beyond(index: Any, n: int) -> bool:
    """True for an integer choice index that is not one of the n choices asked for."""
    return is_int(index) and not 0 <= index < n


def _finished(parts: StreamParts) -> bool:
    return any(isinstance(entry, dict) and entry.get("finish_reason") is not None
               for _, chunk in parts.chunks for entry in _entries(chunk))


def _entries(chunk: dict[str, Any]) -> list[Any]:
    choices = chunk.get("choices")
    return choices if isinstance(choices, list) else []
