"""A strict Server-Sent Events reader.

Parses exactly as the WHATWG HTML "event stream interpretation" rules say a browser or SDK would,
and records every framing deviation it meets on the way, so that checks can tell "a client would
read this" apart from "this is what the gateway should have sent".
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

BOM = "\ufeff"
_TERMINATOR = re.compile(r"\r\n?|\n")  # WHATWG: CRLF, a bare CR or a bare LF ends a line


@dataclass(frozen=True)
class SSEEvent:
    index: int
    event: str | None
    data: str
    id: str | None
    offset: int  # characters before the event's first line in the decoded stream (BOM dropped)
    time: float | None  # seconds since the request was sent, when the event was dispatched
    # Its bytes were not valid UTF-8 (U+FFFD stands in `data`): its data is no JSON text.
    invalid_utf8: bool = False


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


# Deviations kept per kind, and lines kept of an event in progress (evidence of an event that
# never ends): the first ones show what happened, a flood of them must not fill memory.
DEVIATIONS_PER_KIND = 100
EVENT_LINES_KEPT = 20

@dataclass
class SSEParser:
    """Incremental parser: feed() raw bytes as they arrive, then close().

    A feed costs time in proportion to its chunk, however long the line it extends: only the new
    characters are scanned, and an unterminated line is kept as pieces, joined once it ends.
    """

    events: list[SSEEvent] = field(default_factory=list)
    deviations: list[Deviation] = field(default_factory=list)
    _pending: bytes = b""  # the first bytes of a UTF-8 character split across chunks
    _pieces: list[str] = field(default_factory=list)  # the unterminated line, as received
    _held_cr: bool = False  # _pieces ended on a CR: LF or not, the next character tells
    _consumed: int = 0  # characters before the current line, the BOM not counted
    _line_no: int = 0
    _started: bool = False
    _data: list[str] = field(default_factory=list)
    _event: str | None = None
    _last_id: str | None = None
    _event_offset: int | None = None
    _event_lines: list[str] = field(default_factory=list)
    _kinds: Counter[str] = field(default_factory=Counter)  # deviations seen, kept or not

    def feed(self, chunk: bytes, time: float | None = None) -> None:
        text = self._decode(chunk)
        if not self._started and text:
            self._started = True
            if text.startswith(BOM):
                self._deviate("bom", BOM)
                text = text[1:]
        self._scan(text, time, final=False)

    def close(self, time: float | None = None) -> None:
        text = ""
        if self._pending:
            text = self._pending.decode("utf-8", errors="replace")
            self._deviate("invalid-utf8", repr(self._pending))
            self._pending = b""
        self._scan(text, time, final=True)
        if self._pieces:  # a last line without any terminator
            self._line(self._take(""), "", time)
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

    def _scan(self, text: str, time: float | None, final: bool) -> None:
        """Hand every line that `text` completes to _line; keep the unterminated rest."""
        start = self._end_held_line(text, time, final)
        if "\r" in text:
            start = self._scan_any(text, start, time, final)
        else:
            start = self._scan_lf(text, start, time)
        if start < len(text):
            self._pieces.append(text[start:])

    def _scan_lf(self, text: str, start: int, time: float | None) -> int:
        """Lines ended by LF alone, as OpenAI sends them: one split instead of a search per
        line. Returns where the unterminated rest of `text` starts."""
        end = text.rfind("\n")
        if end < start:
            return start
        lines = text[start:end].split("\n")
        lines[0] = self._take(lines[0])
        for line in lines:
            self._line(line, "\n", time)
        return end + 1

    def _scan_any(self, text: str, start: int, time: float | None, final: bool) -> int:
        """Lines ended by CRLF, CR or LF. Returns where the unterminated rest of `text` starts
        (its end when a CR there is held)."""
        # search() rather than finditer(): a drip feed is one character, and finditer costs
        # several times more to set up than one search.
        while (match := _TERMINATOR.search(text, start)) is not None:
            end, terminator = match.start(), match.group()
            if terminator == "\r" and match.end() == len(text) and not final:
                # A CR at the end of a chunk may be the first half of a CRLF.
                self._pieces.append(text[start:end])
                self._held_cr = True
                return len(text)
            self._line(self._take(text[start:end]), terminator, time)
            start = match.end()
        return start

    def _end_held_line(self, text: str, time: float | None, final: bool) -> int:
        """End a line held on a CR once `text` shows whether an LF follows. Returns where
        scanning `text` resumes."""
        if not self._held_cr or not (text or final):
            return 0
        self._held_cr = False
        crlf = text.startswith("\n")
        self._line(self._take(""), "\r\n" if crlf else "\r", time)
        return 1 if crlf else 0

    def _take(self, last: str) -> str:
        """The current line: the pieces kept from earlier chunks, then `last`."""
        if not self._pieces:
            return last
        self._pieces.append(last)
        line = "".join(self._pieces)
        self._pieces = []
        return line

    def _line(self, line: str, terminator: str, time: float | None) -> None:
        offset = self._consumed
        self._consumed += len(line) + len(terminator)
        self._line_no += 1
        if terminator == "\r\n":
            self._deviate("crlf", line + "\\r\\n")
        elif terminator == "\r":
            self._deviate("cr", line + "\\r")
        if line == "":
            self._dispatch(time)
            return
        if self._event_offset is None:
            self._event_offset = offset
        if len(self._event_lines) < EVENT_LINES_KEPT:  # only evidence of an unterminated event
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
        # The first ones of each kind show it; a flood of them must not fill memory.
        self._kinds[kind] += 1
        if self._kinds[kind] <= DEVIATIONS_PER_KIND:
            self.deviations.append(Deviation(kind=kind, line=self._line_no, raw=raw[:200]))


def parse(raw: bytes) -> SSEParser:
    """Parse a complete stream at once (for tests and re-parsing recorded bytes)."""
    parser = SSEParser()
    parser.feed(raw)
    parser.close()
    return parser
