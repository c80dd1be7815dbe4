"""Unit tests for the Messages streaming event-order engine and its accumulator.

Each case is a transcript built by hand from small builders, with the SSE `event:` names a
gateway would send; the tests assert the exact rule slugs reported, with multiplicity, so that
both missed violations and cascades of duplicate noise show up as failures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conformance import schemas
from conformance.apis.anthropic.event_order import (
    DELTA_KINDS,
    RULES,
    StreamedMessage,
    Violation,
    validate_message_stream,
    vocabulary,
)
from conformance.event_rules import CORE_RULES, check_rule_table

Event = Any  # a payload: a JSON object, or the raw data string of an event that is not JSON
Stream = list[Event]
Names = list[str | None]
Transcript = tuple[Stream, Names]

USAGE_START = {"input_tokens": 12, "output_tokens": 1}
PING = {"type": "ping"}


# ---------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------


def _start(input_tokens: Any = 12, **message: Any) -> Event:
    body = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": USAGE_START | {"input_tokens": input_tokens},
    }
    return {"type": "message_start", "message": body | message}


def _open(index: Any, block: dict[str, Any]) -> Event:
    return {"type": "content_block_start", "index": index, "content_block": block}


def _delta(index: Any, delta_type: str, **fields: Any) -> Event:
    return {"type": "content_block_delta", "index": index, "delta": {"type": delta_type, **fields}}


def _stop(index: Any) -> Event:
    return {"type": "content_block_stop", "index": index}


def _text(index: int, chunks: list[str]) -> Stream:
    deltas = [_delta(index, "text_delta", text=chunk) for chunk in chunks]
    return [_open(index, {"type": "text", "text": ""}), *deltas, _stop(index)]


def _tool(index: int, name: str, fragments: list[str]) -> Stream:
    block = {"type": "tool_use", "id": "toolu_1", "name": name, "input": {}}
    deltas = [_delta(index, "input_json_delta", partial_json=part) for part in fragments]
    return [_open(index, block), *deltas, _stop(index)]


def _thinking(index: int, chunks: list[str], signatures: tuple[str, ...] = ("sig==",)) -> Stream:
    block = {"type": "thinking", "thinking": "", "signature": ""}
    deltas = [_delta(index, "thinking_delta", thinking=chunk) for chunk in chunks]
    signed = [_delta(index, "signature_delta", signature=s) for s in signatures]
    return [_open(index, block), *deltas, *signed, _stop(index)]


def _message_delta(
    stop_reason: Any = "end_turn", output_tokens: Any = 5, stop_sequence: str | None = None
) -> Event:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
        "usage": {"output_tokens": output_tokens},
    }


def _end(stop_reason: Any = "end_turn", output_tokens: Any = 5, **extra: Any) -> Stream:
    return [_message_delta(stop_reason, output_tokens, **extra), {"type": "message_stop"}]


def named(events: Stream, names: dict[int, str | None] | None = None) -> Transcript:
    """The transcript with the SSE names a correct gateway sends; `names` overrides positions."""
    sse = [e.get("type") if isinstance(e, dict) else None for e in events]
    for position, name in (names or {}).items():
        sse[position] = name
    return events, sse


def text_stream() -> Stream:
    return [_start(), *_text(0, ["Hel", "lo"]), *_end()]


def tool_stream() -> Stream:
    fragments = ['{"city"', ': "Par', 'is"}']
    return [_start(), *_text(0, ["Checking."]), *_tool(1, "get_weather", fragments),
            *_end("tool_use", 20)]


def thinking_stream() -> Stream:
    return [_start(), *_thinking(0, ["Hmm", "..."]), *_text(1, ["Answer"]), *_end()]


def ping_stream() -> Stream:
    text = _text(0, ["Hi", "!"])
    return [PING, _start(), PING, *text[:2], PING, *text[2:], PING, *_end(), PING]


def stop_sequence_stream() -> Stream:
    return [_start(), *_text(0, ["one, two, "]), *_end("stop_sequence", 4, stop_sequence="three")]


def error_stream() -> Stream:
    # A failure after the 200: an `error` event ends the stream, open block and all.
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    return [_start(), *_text(0, ["Par"])[:2], error, PING]


def _message(content: list[dict[str, Any]], stop_reason: str = "end_turn",
             output_tokens: int = 5, stop_sequence: str | None = None) -> dict[str, Any]:
    """The Message a client assembles from the builders' streams."""
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": {"input_tokens": 12, "output_tokens": output_tokens},
    }


# builder, the Message a client assembles from it
GOOD_STREAMS: dict[str, tuple[Callable[[], Stream], dict[str, Any]]] = {
    "text": (text_stream, _message([{"type": "text", "text": "Hello"}])),
    "tool-use": (
        tool_stream,
        _message(
            [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                 "input": {"city": "Paris"}},
            ],
            "tool_use",
            20,
        ),
    ),
    "thinking-then-text": (
        thinking_stream,
        _message(
            [
                {"type": "thinking", "thinking": "Hmm...", "signature": "sig=="},
                {"type": "text", "text": "Answer"},
            ]
        ),
    ),
    "pings-anywhere": (ping_stream, _message([{"type": "text", "text": "Hi!"}])),
    "stop-sequence": (
        stop_sequence_stream,
        _message([{"type": "text", "text": "one, two, "}], "stop_sequence", 4, "three"),
    ),
}


# ---------------------------------------------------------------------------------------------
# Good streams: zero violations, and the assembled Message.
# ---------------------------------------------------------------------------------------------


def _slugs(violations: list[Violation]) -> list[str]:
    return sorted(v.rule for v in violations)


@pytest.mark.parametrize("builder", [b for b, _ in GOOD_STREAMS.values()], ids=GOOD_STREAMS.keys())
def test_good_stream_has_no_violations(builder: Callable[[], Stream]) -> None:
    violations, summary = validate_message_stream(*named(builder()))
    assert violations == [], [v.message for v in violations]
    assert summary.end == "message_stop"


@pytest.mark.parametrize(("builder", "expected"), GOOD_STREAMS.values(), ids=GOOD_STREAMS.keys())
def test_accumulator_assembles_the_message(
    builder: Callable[[], Stream], expected: dict[str, Any]
) -> None:
    _, summary = validate_message_stream(*named(builder()))
    assert summary.message == expected


def test_error_event_ends_a_stream_cleanly() -> None:
    violations, summary = validate_message_stream(*named(error_stream()))
    assert violations == []
    assert summary.end == "error"
    assert summary.error == {"type": "overloaded_error", "message": "Overloaded"}
    assert summary.message is not None
    assert summary.message["content"] == [{"type": "text", "text": "Par"}]
    assert summary.message["stop_reason"] is None


def test_error_before_any_output_is_clean() -> None:
    error = {"type": "error", "error": {"type": "api_error", "message": "boom"}}
    violations, summary = validate_message_stream(*named([error]))
    assert violations == []
    assert summary == StreamedMessage(None, "error", error["error"], {})


def test_unknown_event_types_are_recorded_not_reported() -> None:
    vendor = {"type": "vendor_progress", "percent": 50}
    events = text_stream()
    events = [vendor, *events[:3], vendor, *events[3:], vendor]
    violations, summary = validate_message_stream(*named(events))
    assert violations == []
    assert summary.unknown_types == {"vendor_progress": 3}


def test_citations_delta_appends_to_the_text_block() -> None:
    citation = {"type": "char_location", "cited_text": "x", "document_index": 0,
                "start_char_index": 0, "end_char_index": 1}
    text = _text(0, ["Cited"])
    events = [_start(), *text[:2], _delta(0, "citations_delta", citation=citation), *text[2:],
              *_end()]
    violations, summary = validate_message_stream(*named(events))
    assert violations == []
    assert summary.message is not None
    assert summary.message["content"] == [{"type": "text", "text": "Cited",
                                           "citations": [citation]}]


def test_tool_block_without_fragments_keeps_its_start_input() -> None:
    events = [_start(), *_tool(0, "now", []), *_end("tool_use")]
    violations, summary = validate_message_stream(*named(events))
    assert violations == []
    assert summary.message is not None
    assert summary.message["content"][0]["input"] == {}


def test_message_delta_usage_replaces_the_start_counts() -> None:
    delta = _message_delta(output_tokens=7)
    delta["usage"] |= {"input_tokens": 13, "cache_read_input_tokens": 2}
    events = [_start(), *_text(0, ["Hi"]), delta, {"type": "message_stop"}]
    violations, summary = validate_message_stream(*named(events))
    assert violations == []
    assert summary.message is not None
    assert summary.message["usage"] == {"input_tokens": 13, "output_tokens": 7,
                                        "cache_read_input_tokens": 2}


# ---------------------------------------------------------------------------------------------
# Bad streams: one minimal broken transcript per rule (several for some), expected slugs with
# multiplicity.
# ---------------------------------------------------------------------------------------------

_ERROR = {"type": "error", "error": {"type": "api_error", "message": "x"}}
_STOP = {"type": "message_stop"}


def _usage_without_input() -> Event:
    start = _start()
    del start["message"]["usage"]["input_tokens"]
    return start


BAD_CASES: list[tuple[str, Callable[[], Transcript], list[str]]] = [
    # transport and payloads
    ("event-line-missing", lambda: named(text_stream(), {2: None}), ["sse-event-name-present"]),
    (
        "event-name-differs",
        lambda: named(text_stream(), {2: "content_block_start"}),
        ["sse-event-name-matches-type"],
    ),
    (
        "untyped-payload",
        lambda: named([*text_stream()[:3], {"delta": {"text": "x"}}, *text_stream()[3:]]),
        ["event-type-present"],
    ),
    ("done-appended", lambda: named([*text_stream(), "[DONE]"]), ["no-done-sentinel"]),
    # message_start
    ("start-missing", lambda: named(text_stream()[1:]), ["message-start-first"]),
    ("start-repeated", lambda: named([_start(), *text_stream()]), ["message-start-first"]),
    (
        "start-after-first-block",
        lambda: named([*_text(0, ["Hi"])[:1], _start(), *_text(0, ["Hi"])[1:], *_end()]),
        ["message-start-first"],
    ),
    (
        "start-with-content",
        lambda: named([_start(content=[{"type": "text", "text": "x"}]), *text_stream()[1:]]),
        ["message-start-shape"],
    ),
    (
        "start-with-stop-reason",
        lambda: named([_start(stop_reason="end_turn"), *text_stream()[1:]]),
        ["message-start-shape"],
    ),
    (
        "start-input-tokens-zero",
        lambda: named([_start(0), *text_stream()[1:]]),
        ["message-start-input-tokens"],
    ),
    (
        "start-input-tokens-missing",
        lambda: named([_usage_without_input(), *text_stream()[1:]]),
        ["message-start-input-tokens"],
    ),
    # content blocks
    (
        "block-index-from-one",
        lambda: named([_start(), *_text(1, ["Hi"]), *_end()]),
        ["block-index-order"],
    ),
    (
        "block-index-repeated",
        lambda: named([_start(), *_text(0, ["Hi"]), *_text(0, ["there"]), *_end()]),
        ["block-index-order"],
    ),
    (
        "blocks-interleaved",
        lambda: named([_start(), _open(0, {"type": "text", "text": ""}),
                       _open(1, {"type": "text", "text": ""}), _delta(0, "text_delta", text="a"),
                       _stop(0), _delta(1, "text_delta", text="b"), _stop(1), *_end()]),
        ["block-closed-in-turn"],
    ),
    (
        "block-stop-missing",
        lambda: named([_start(), *_text(0, ["Hi"])[:-1], *_end()]),
        ["block-closed-in-turn"],
    ),
    (
        "deltas-before-block-start",
        lambda: named([_start(), *_text(0, ["a", "b", "c"])[1:], *_end()]),
        ["block-event-outside-block"],
    ),
    (
        "delta-after-block-stop",
        lambda: named([_start(), *_text(0, ["Hi"]), _delta(0, "text_delta", text="!"), *_end()]),
        ["block-event-outside-block"],
    ),
    (
        "thinking-delta-into-text-block",  # LiteLLM#33224
        lambda: named([_start(), *_text(0, [])[:1], _delta(0, "thinking_delta", thinking="hm"),
                       _stop(0), *_end()]),
        ["delta-matches-block"],
    ),
    (
        "text-delta-into-tool-block",
        lambda: named([_start(), *_tool(0, "f", [])[:1], _delta(0, "text_delta", text="x"),
                       _delta(0, "text_delta", text="y"), _stop(0), *_end("tool_use")]),
        ["delta-matches-block"],
    ),
    (
        "unknown-delta-type",
        lambda: named([_start(), *_text(0, [])[:1], _delta(0, "vendor_delta", text="x"),
                       _stop(0), *_end()]),
        ["delta-matches-block"],
    ),
    (
        "tool-input-cut",
        lambda: named([_start(), *_tool(0, "f", ['{"city": "Par']), *_end("tool_use")]),
        ["tool-input-json"],
    ),
    (
        "tool-input-not-an-object",
        lambda: named([_start(), *_tool(0, "f", ["[1, ", "2]"]), *_end("tool_use")]),
        ["tool-input-json"],
    ),
    (
        "thinking-without-signature",  # LiteLLM#8797
        lambda: named([_start(), *_thinking(0, ["Hmm"], ()), *_text(1, ["A"]), *_end()]),
        ["thinking-signature"],
    ),
    (
        "thinking-signature-empty",
        lambda: named([_start(), *_thinking(0, ["Hmm"], ("",)), *_end()]),
        ["thinking-signature"],
    ),
    (
        "thinking-signature-split",
        lambda: named([_start(), *_thinking(0, ["Hmm"], ("sig", "==")), *_end()]),
        ["thinking-signature"],
    ),
    (
        "thinking-after-signature",
        lambda: named([_start(), *_thinking(0, ["Hmm"])[:-1],
                       _delta(0, "thinking_delta", thinking="more"), _stop(0), *_end()]),
        ["thinking-signature"],
    ),
    # the end of the message
    (
        "message-delta-missing",
        lambda: named([_start(), *_text(0, ["Hi"]), _STOP]),
        ["message-delta-once"],
    ),
    (
        "message-delta-repeated",
        lambda: named([_start(), *_text(0, ["Hi"]), _message_delta(), *_end()]),
        ["message-delta-once"],
    ),
    (
        "block-after-message-delta",
        lambda: named([_start(), *_text(0, ["Hi"]), _message_delta(), *_text(1, ["!"]), _STOP]),
        ["message-delta-once"],
    ),
    (
        "stop-reason-openai-value",
        lambda: named([_start(), *_text(0, ["Hi"]), *_end("stop")]),
        ["stop-reason-valid"],
    ),
    (
        "stop-reason-null",
        lambda: named([_start(), *_text(0, ["Hi"]), *_end(None)]),
        ["stop-reason-valid"],
    ),
    (
        "output-tokens-below-start",
        lambda: named([_start(usage={"input_tokens": 12, "output_tokens": 8}),
                       *_text(0, ["Hi"]), *_end(output_tokens=3)]),
        ["output-tokens-cumulative"],
    ),
    (
        "output-tokens-missing",
        lambda: named([_start(), *_text(0, ["Hi"]), *_end(output_tokens=None)]),
        ["output-tokens-cumulative"],
    ),
    (
        "message-delta-and-stop-missing",  # new-api#5345
        lambda: named([_start(), *_text(0, ["Hi"])]),
        ["message-stop-last"],
    ),
    (
        "message-stop-missing",
        lambda: named([_start(), *_text(0, ["Hi"]), _message_delta()]),
        ["message-stop-last"],
    ),
    (
        "event-after-message-stop",
        lambda: named([*text_stream(), _message_delta(), *_text(1, ["late"])]),
        ["nothing-after-message-stop"],
    ),
    ("message-stop-repeated", lambda: named([*text_stream(), _STOP]),
     ["nothing-after-message-stop"]),
    (
        "event-after-error",
        lambda: named([_start(), *_text(0, ["Hi"])[:2], _ERROR, *_text(0, ["Hi"])[1:], *_end()]),
        ["error-ends-stream"],
    ),
    ("empty-stream", lambda: named([]), ["message-start-first", "message-stop-last"]),
]


@pytest.mark.parametrize(
    ("transcript", "expected"),
    [case[1:] for case in BAD_CASES],
    ids=[case[0] for case in BAD_CASES],
)
def test_bad_stream_reports_exact_rules(
    transcript: Callable[[], Transcript], expected: list[str]
) -> None:
    violations, _ = validate_message_stream(*transcript())
    assert _slugs(violations) == sorted(expected), [v.message for v in violations]


def test_every_rule_has_a_firing_case() -> None:
    """No rule is vacuous: each one fires on at least one transcript above."""
    assert {slug for case in BAD_CASES for slug in case[2]} == set(RULES)


# ---------------------------------------------------------------------------------------------
# Noise control, violation fields, robustness.
# ---------------------------------------------------------------------------------------------


def test_stream_without_event_lines_is_one_violation_with_count() -> None:
    events = text_stream()
    violations, _ = validate_message_stream(events, [None] * len(events))
    assert [(v.rule, v.level, v.index) for v in violations] == [
        ("sse-event-name-present", "MUST", 0)
    ]
    assert violations[0].message.endswith(f"({len(events)} events affected in total)")


def test_done_is_judged_by_its_own_rule_only() -> None:
    events = [*text_stream(), "[DONE]", "[DONE]"]
    violations, _ = validate_message_stream(events, [*named(text_stream())[1], None, None])
    assert [(v.rule, v.level) for v in violations] == [("no-done-sentinel", "SHOULD")]


def test_violation_names_event_and_has_context() -> None:
    events = [_start(), *_text(0, [])[:1], _delta(0, "thinking_delta", thinking="hm"), _stop(0),
              *_end()]
    (violation,) = validate_message_stream(*named(events))[0]
    assert violation.index == 2
    assert violation.sequence_number is None
    assert "event #2 (content_block_delta)" in violation.message
    assert len(violation.context) == 5
    assert violation.context[2] == (
        "#2 content_block_delta index=0 type=thinking_delta thinking='hm'"
    )


def test_missing_message_stop_is_reported_at_the_end() -> None:
    events = [_start(), *_text(0, ["Hi"])]
    (violation,) = validate_message_stream(*named(events))[0]
    assert violation.index == len(events)
    assert len(violation.context) == 2


def test_non_object_payloads_do_not_crash() -> None:
    events: list[Any] = [*text_stream()[:3], "garbage", 42, None, {"type": 7}]
    violations, summary = validate_message_stream(events)
    assert _slugs(violations) == ["event-type-present", "message-stop-last"]
    assert summary.end is None


def test_garbage_fields_do_not_crash() -> None:
    events = [
        {"type": "message_start", "message": "x"},
        {"type": "content_block_start", "index": "0", "content_block": None},
        {"type": "content_block_delta", "index": None, "delta": []},
        {"type": "content_block_stop", "index": 0.0},
        {"type": "message_delta", "delta": None, "usage": None},
        {"type": "message_stop"},
    ]
    violations, summary = validate_message_stream(*named(events))
    assert "block-index-order" in _slugs(violations)
    assert summary.end == "message_stop"


def test_stream_cut_before_message_start_assembles_nothing() -> None:
    violations, summary = validate_message_stream(*named([PING]))
    assert _slugs(violations) == ["message-start-first", "message-stop-last"]
    assert summary == StreamedMessage(None, None, None, {})


# ---------------------------------------------------------------------------------------------
# The rule table and the vocabulary, against openapi/messages.yaml.
# ---------------------------------------------------------------------------------------------


def test_rules_table_is_well_formed() -> None:
    assert check_rule_table(RULES, CORE_RULES) == []


def test_delta_kinds_are_the_documented_delta_types() -> None:
    components = schemas.document("messages.yaml")["components"]["schemas"]
    assert sorted(DELTA_KINDS) == sorted(components["ContentBlockDelta"]["x-known-types"])
    block_types = set(components["ContentBlock"]["x-known-types"])
    assert {t for kind in DELTA_KINDS.values() for t in kind.blocks} <= block_types


def test_vocabulary_comes_from_the_document() -> None:
    words = vocabulary()
    assert {"message_start", "content_block_delta", "message_stop", "ping", "error"} <= \
        words.event_types
    assert "end_turn" in words.stop_reasons
    assert "stop" not in words.stop_reasons
