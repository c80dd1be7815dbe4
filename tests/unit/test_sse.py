"""The strict SSE reader: WHATWG parsing plus the framing deviations it records."""

from __future__ import annotations

import pytest

from conformance.sse import SSEParser, parse


def kinds(raw: bytes) -> list[str]:
    return [d.kind for d in parse(raw).deviations]


def datas(raw: bytes) -> list[str]:
    return [e.data for e in parse(raw).events]


def test_openai_framing_has_no_deviation() -> None:
    raw = b'data: {"a":1}\n\ndata: {"a":2}\n\ndata: [DONE]\n\n'
    assert datas(raw) == ['{"a":1}', '{"a":2}', "[DONE]"]
    assert kinds(raw) == []


def test_event_names_and_ids() -> None:
    parser = parse(b"event: response.created\nid: 7\ndata: {}\n\n")
    event = parser.events[0]
    assert (event.event, event.id, event.data) == ("response.created", "7", "{}")


@pytest.mark.parametrize(
    ("raw", "expected_data", "expected_kinds"),
    [
        (b"data:{}\n\n", ["{}"], ["no-space"]),
        (b"data: {}\r\n\r\n", ["{}"], ["crlf", "crlf"]),
        (b"data: {}\r\r", ["{}"], ["cr", "cr"]),
        (b": keep-alive\n\ndata: {}\n\n", ["{}"], ["comment"]),
        (b"data: a\ndata: b\n\n", ["a\nb"], ["multi-line-data"]),
        (b"data: {}\n", [], ["unterminated-event"]),
        (b"data: {}", [], ["unterminated-event"]),
        (b"\xef\xbb\xbfdata: {}\n\n", ["{}"], ["bom"]),
        (b"foo: bar\ndata: {}\n\n", ["{}"], ["unknown-field"]),
        (b"data: \xff\n\n", ["\ufffd"], ["invalid-utf8"]),
        (b"data\n\n", [""], []),
        (b"data:  two spaces\n\n", [" two spaces"], []),
        (b"event: x\n\n", [], []),
        (b"retry: 100\ndata: {}\n\n", ["{}"], []),
    ],
    ids=["no-space", "crlf", "bare-cr", "comment", "multi-line", "no-final-blank",
         "no-final-newline", "bom", "unknown-field", "invalid-utf8", "field-only",
         "only-first-space-stripped", "event-without-data", "retry"],
)
def test_framing_edge_cases(
    raw: bytes, expected_data: list[str], expected_kinds: list[str]
) -> None:
    parser = parse(raw)
    assert [e.data for e in parser.events] == expected_data
    assert [d.kind for d in parser.deviations] == expected_kinds


def test_missing_blank_line_between_events_merges_them() -> None:
    # Without the blank line two JSON payloads become one multi-line data field: not JSON.
    assert datas(b'data: {"a":1}\ndata: {"a":2}\n\n') == ['{"a":1}\n{"a":2}']
    assert kinds(b'data: {"a":1}\ndata: {"a":2}\n\n') == ["multi-line-data"]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7])
def test_chunk_boundaries_do_not_matter(size: int) -> None:
    raw = 'data: {"t":"héllo ✓"}\r\n\r\ndata: [DONE]\r\n\r\n'.encode()
    parser = SSEParser()
    for start in range(0, len(raw), size):
        parser.feed(raw[start:start + size], time=float(start))
    parser.close()
    assert [e.data for e in parser.events] == ['{"t":"héllo ✓"}', "[DONE]"]
    assert [d.kind for d in parser.deviations] == ["crlf"] * 4


def test_arrival_time_is_the_time_of_the_dispatching_chunk() -> None:
    parser = SSEParser()
    parser.feed(b"data: a\n", time=0.1)
    parser.feed(b"\n", time=0.5)
    parser.close(time=1.0)
    assert parser.events[0].time == 0.5


def drip(raw: bytes) -> SSEParser:
    """The stream fed one byte per feed, as a gateway that flushes every byte sends it."""
    parser = SSEParser()
    for position in range(len(raw)):
        parser.feed(raw[position:position + 1])
    parser.close()
    return parser


def outcome(parser: SSEParser) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Everything a parse yields: events with offsets, deviations with line numbers."""
    events = [(e.index, e.event, e.data, e.id, e.offset, e.time) for e in parser.events]
    return events, [(d.kind, d.line, d.raw) for d in parser.deviations]


@pytest.mark.parametrize(
    "raw",
    [
        b'data: {"a":1}\n\ndata: [DONE]\n\n',
        b"data: a\r\n\r\ndata: b\r\n\r\n",
        b"data: a\r\rdata: b\r\r",
        b"data: a\r\n\rdata: b\n\r\n",
        "data: é ✓ 😀\n\nevent: ü\nid: ✓\ndata: x\n\n".encode(),
        b"\xef\xbb\xbf: hi\ndata:a\ndata: b\nfoo: c\nretry: 1\n\n",
        b"data: " + b"x" * 5000 + b"\r\n\r\ndata: tail",
        b"event: only\r",
    ],
    ids=["lf", "crlf", "bare-cr", "mixed", "utf8", "bom-and-oddities", "long-line", "ends-on-cr"],
)
def test_one_byte_per_feed_parses_like_one_feed(raw: bytes) -> None:
    assert outcome(drip(raw)) == outcome(parse(raw))


def test_offsets_count_characters_after_the_bom_whatever_the_chunking() -> None:
    # An event starts at its first line, comment included; é is one character, CRLF two.
    raw = "\ufeffdata: é\n\n: note\r\ndata: b\r\n\r\nid: 1\ndata: c\n\n".encode()
    assert [e.offset for e in parse(raw).events] == [0, 9, 28]
    assert [e.offset for e in drip(raw).events] == [0, 9, 28]


def test_crlf_split_across_feeds_is_one_terminator() -> None:
    parser = SSEParser()
    for chunk in (b"data: a\r", b"\n\r", b"\ndata: b\r", b"", b"\n\r\n"):
        parser.feed(chunk)
    parser.close()
    assert [e.data for e in parser.events] == ["a", "b"]
    assert [(d.kind, d.line) for d in parser.deviations] == [("crlf", n) for n in (1, 2, 3, 4)]


def test_cr_at_the_end_of_a_feed_then_something_else_is_a_bare_cr() -> None:
    parser = SSEParser()
    for chunk in (b"data: a\r", b"\r", b"data: b\r"):
        parser.feed(chunk)
    parser.close()
    assert [e.data for e in parser.events] == ["a"]
    assert [(d.kind, d.line) for d in parser.deviations] == [
        ("cr", 1), ("cr", 2), ("cr", 3), ("unterminated-event", 4)]


@pytest.mark.parametrize("text", ["é", "✓", "😀"])
def test_utf8_character_split_across_feeds(text: str) -> None:
    encoded = text.encode()
    parser = SSEParser()
    parser.feed(b"data: " + encoded[:1])
    for position in range(1, len(encoded)):
        parser.feed(encoded[position:position + 1])
    parser.feed(b"\n\n")
    parser.close()
    assert [e.data for e in parser.events] == [text]
    assert parser.deviations == []


def test_long_line_fed_in_pieces_arrives_whole() -> None:
    parser = SSEParser()
    parser.feed(b"data: ")
    for _ in range(1000):
        parser.feed(b"0123456789")
    parser.feed(b"\n\n")
    parser.close()
    assert [e.data for e in parser.events] == ["0123456789" * 1000]
    assert [e.offset for e in parser.events] == [0]
