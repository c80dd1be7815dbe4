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
