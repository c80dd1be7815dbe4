"""A strict Server-Sent Events reader.

Parses exactly as the WHATWG HTML "event stream interpretation" rules say a browser or SDK would,
and records every framing deviation it meets on the way, so that checks can tell "a client would
read this" apart from "this is what the gateway should have sent".
"""

from __future__ import annotations

from dataclasses import dataclass, field

BOM = "\ufeff"


@dataclass(frozen=True)
class SSEEvent:
    index: int
    event: str | None
    data: str
    id: str | None
    offset: int  # character offset of the event's first line in the decoded stream
    time: float | None  # seconds since the request was sent, when the event was dispatched


@dataclass(frozen=True)
class Deviation:
    kind: str
    line: int  # 1-based line number in the decoded stream
    raw: str  # the offending line, as sent (line terminator made visible)


# Kinds of deviation: each one is legal SSE or tolerated by clients, but not what OpenAI sends.
DEVIATION_KINDS = {
    "crlf": "line ended with CRLF instead of LF",
    "cr": "line ended with a bare CR",
    "no-space": "field name followed by ':' without the single space OpenAI sends",
    "comment": "comment line (starts with ':')",
    "multi-line-data": "event carries several data: lines joined with newlines",
    "unknown-field": "line with a field name SSE does not define (ignored by clients)",
    "bom": "stream starts with a byte order mark",
    "unterminated-event": "stream ended inside an event (no blank line): clients drop that event",
    "invalid-utf8": "bytes that are not valid UTF-8",
}


@dataclass
class SSEParser:
    """Incremental parser: feed() raw bytes as they arrive, then close()."""

    events: list[SSEEvent] = field(default_factory=list)
    deviations: list[Deviation] = field(default_factory=list)
    _text: str = ""
    _pending: bytes = b""
    _consumed: int = 0
    _line_no: int = 0
    _started: bool = False
    _data: list[str] = field(default_factory=list)
    _event: str | None = None
    _last_id: str | None = None
    _event_offset: int | None = None
    _event_lines: list[str] = field(default_factory=list)

    def feed(self, chunk: bytes, time: float | None = None) -> None:
        self._text += self._decode(chunk)
        if not self._started and self._text:
            self._started = True
            if self._text.startswith(BOM):
                self._deviate("bom", BOM)
                self._text = self._text[1:]
        self._drain_lines(time, final=False)

    def close(self, time: float | None = None) -> None:
        if self._pending:
            self._text += self._pending.decode("utf-8", errors="replace")
            self._deviate("invalid-utf8", repr(self._pending))
            self._pending = b""
        self._drain_lines(time, final=True)
        if self._text:  # a last line without any terminator
            self._line(self._text, "", time)
            self._text = ""
        if self._data or self._event is not None:
            self._line_no += 1
            self._deviate("unterminated-event", "\n".join(self._event_lines))
            self._reset_event()

    def _decode(self, chunk: bytes) -> str:
        data = self._pending + chunk
        try:
            self._pending = b""
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
                self._pending = data[exc.start :]  # a character split across chunks
                return data[: exc.start].decode("utf-8")
            self._deviate("invalid-utf8", repr(data[exc.start : exc.end]))
            return data.decode("utf-8", errors="replace")

    def _drain_lines(self, time: float | None, final: bool) -> None:
        text = self._text
        start = 0
        while True:
            cut = _next_terminator(text, start)
            if cut is None:
                break
            end, terminator = cut
            if terminator == "\r" and end + 1 == len(text) and not final:
                break  # a CR at the end of a chunk may be the first half of a CRLF
            self._line(text[start:end], terminator, time)
            start = end + len(terminator)
        self._consumed += start
        self._text = text[start:]

    def _line(self, line: str, terminator: str, time: float | None) -> None:
        self._line_no += 1
        if terminator == "\r\n":
            self._deviate("crlf", line + "\\r\\n")
        elif terminator == "\r":
            self._deviate("cr", line + "\\r")
        if line == "":
            self._dispatch(time)
            return
        if self._event_offset is None:
            self._event_offset = self._consumed
        self._event_lines.append(line)
        if line.startswith(":"):
            self._deviate("comment", line)
            return
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        elif colon and value:
            self._deviate("no-space", line)
        self._field(name, value, line)

    def _field(self, name: str, value: str, line: str) -> None:
        if name == "data":
            if self._data:
                self._deviate("multi-line-data", line)
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry":
            pass  # a reconnection hint: legal, irrelevant to conformance
        else:
            self._deviate("unknown-field", line)

    def _dispatch(self, time: float | None) -> None:
        if self._data:
            self.events.append(
                SSEEvent(
                    index=len(self.events),
                    event=self._event,
                    data="\n".join(self._data),
                    id=self._last_id,
                    offset=self._event_offset or 0,
                    time=time,
                )
            )
        self._reset_event()

    def _reset_event(self) -> None:
        self._data = []
        self._event = None
        self._event_offset = None
        self._event_lines = []

    def _deviate(self, kind: str, raw: str) -> None:
        self.deviations.append(Deviation(kind=kind, line=self._line_no, raw=raw[:200]))


def _next_terminator(text: str, start: int) -> tuple[int, str] | None:
    lf = text.find("\n", start)
    cr = text.find("\r", start)
    if cr == -1 and lf == -1:
        return None
    if cr == -1 or (lf != -1 and lf < cr):
        return lf, "\n"
    if cr + 1 < len(text) and text[cr + 1] == "\n":
        return cr, "\r\n"
    return cr, "\r"


def parse(raw: bytes) -> SSEParser:
    """Parse a complete stream at once (for tests and re-parsing recorded bytes)."""
    parser = SSEParser()
    parser.feed(raw)
    parser.close()
    return parser
