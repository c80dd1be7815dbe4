"""Unit tests for the Responses streaming event-order engine.

Each case builds a correct stream with a small builder, optionally mutates it (drop, swap,
duplicate, corrupt a field) and asserts the exact rule slugs reported, with multiplicity, so
that both missed violations and cascades of duplicate noise show up as failures.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from conformance.apis.openai.event_order import (
    RULES,
    StreamSummary,
    Violation,
    validate_event_order,
)

Event = dict[str, Any]
Stream = list[Event]

RESPONSE_ID = "resp_1"
USAGE = {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}


# ---------------------------------------------------------------------------------------------
# Builders: each returns a list of events without sequence numbers; `_finish` numbers them.
# ---------------------------------------------------------------------------------------------


def _response(status: str, **extra: Any) -> dict[str, Any]:
    body = {
        "id": RESPONSE_ID,
        "object": "response",
        "status": status,
        "output": [],
        "usage": None,
        "error": None,
        "incomplete_details": None,
    }
    return body | extra


def _start(queued: bool = False) -> Stream:
    events = [
        {"type": "response.created", "response": _response("queued" if queued else "in_progress")}
    ]
    if queued:
        events.append({"type": "response.queued", "response": _response("queued")})
    events.append({"type": "response.in_progress", "response": _response("in_progress")})
    return events


def _message(
    out: int,
    item_id: str,
    chunks: list[str],
    part_type: str = "output_text",
    status: str = "completed",
    annotate: bool = False,
) -> Stream:
    text_field = "refusal" if part_type == "refusal" else "text"
    text = "".join(chunks)
    extra = {"annotations": []} if part_type == "output_text" else {}
    ref = {"item_id": item_id, "output_index": out, "content_index": 0}
    base = {"id": item_id, "type": "message", "role": "assistant"}
    events: Stream = [
        {
            "type": "response.output_item.added",
            "output_index": out,
            "item": base | {"status": "in_progress", "content": []},
        },
        {
            "type": "response.content_part.added",
            **ref,
            "part": {"type": part_type, text_field: ""} | extra,
        },
    ]
    events += [{"type": f"response.{part_type}.delta", **ref, "delta": c} for c in chunks]
    if annotate:
        annotation = {
            "type": "url_citation",
            "url": "https://example.com",
            "title": "Example",
            "start_index": 0,
            "end_index": len(text),
        }
        events.append(
            {
                "type": "response.output_text.annotation.added",
                **ref,
                "annotation_index": 0,
                "annotation": annotation,
            }
        )
    events += [
        {"type": f"response.{part_type}.done", **ref, text_field: text},
        {
            "type": "response.content_part.done",
            **ref,
            "part": {"type": part_type, text_field: text} | extra,
        },
        {
            "type": "response.output_item.done",
            "output_index": out,
            "item": base | {"status": status, "content": [{"type": part_type, text_field: text}]},
        },
    ]
    return events


def _function_call(out: int, item_id: str, name: str, chunks: list[str]) -> Stream:
    ref = {"item_id": item_id, "output_index": out}
    base = {"id": item_id, "type": "function_call", "call_id": "call_1", "name": name}
    return [
        {
            "type": "response.output_item.added",
            "output_index": out,
            "item": base | {"arguments": "", "status": "in_progress"},
        },
        *({"type": "response.function_call_arguments.delta", **ref, "delta": c} for c in chunks),
        {
            "type": "response.function_call_arguments.done",
            **ref,
            "name": name,
            "arguments": "".join(chunks),
        },
        {
            "type": "response.output_item.done",
            "output_index": out,
            "item": base | {"arguments": "".join(chunks), "status": "completed"},
        },
    ]


def _reasoning(out: int, item_id: str, summary: list[str], thoughts: list[str]) -> Stream:
    summary_ref = {"item_id": item_id, "output_index": out, "summary_index": 0}
    content_ref = {"item_id": item_id, "output_index": out, "content_index": 0}
    summary_text, thought_text = "".join(summary), "".join(thoughts)
    return [
        {
            "type": "response.output_item.added",
            "output_index": out,
            "item": {"id": item_id, "type": "reasoning", "summary": []},
        },
        {
            "type": "response.reasoning_summary_part.added",
            **summary_ref,
            "part": {"type": "summary_text", "text": ""},
        },
        *(
            {"type": "response.reasoning_summary_text.delta", **summary_ref, "delta": c}
            for c in summary
        ),
        {"type": "response.reasoning_summary_text.done", **summary_ref, "text": summary_text},
        {
            "type": "response.reasoning_summary_part.done",
            **summary_ref,
            "part": {"type": "summary_text", "text": summary_text},
        },
        {
            "type": "response.content_part.added",
            **content_ref,
            "part": {"type": "reasoning_text", "text": ""},
        },
        *({"type": "response.reasoning_text.delta", **content_ref, "delta": c} for c in thoughts),
        {"type": "response.reasoning_text.done", **content_ref, "text": thought_text},
        {
            "type": "response.content_part.done",
            **content_ref,
            "part": {"type": "reasoning_text", "text": thought_text},
        },
        {
            "type": "response.output_item.done",
            "output_index": out,
            "item": {
                "id": item_id,
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": summary_text}],
                "content": [{"type": "reasoning_text", "text": thought_text}],
            },
        },
    ]


def _web_search(out: int, item_id: str) -> Stream:
    ref = {"item_id": item_id, "output_index": out}
    item = {"id": item_id, "type": "web_search_call"}
    return [
        {
            "type": "response.output_item.added",
            "output_index": out,
            "item": item | {"status": "in_progress"},
        },
        {"type": "response.web_search_call.in_progress", **ref},
        {"type": "response.web_search_call.searching", **ref},
        {"type": "response.web_search_call.completed", **ref},
        {
            "type": "response.output_item.done",
            "output_index": out,
            "item": item | {"status": "completed", "action": {"type": "search", "query": "q"}},
        },
    ]


def _terminal(
    events: Stream, event_type: str = "response.completed", status: str = "completed", **extra: Any
) -> Stream:
    body = _response(status, usage=USAGE) | extra
    terminal = {"type": event_type, "response": body}
    return _finish([*events, terminal])


def _refresh_output(events: Stream) -> Stream:
    """Make the terminal `response.output` equal the closed items, as a real server would."""
    closed = [
        copy.deepcopy(e["item"]) for e in events if e.get("type") == "response.output_item.done"
    ]
    for event in events:
        if event.get("type") in ("response.completed", "response.incomplete"):
            event["response"]["output"] = closed
    return events


def _finish(events: Stream) -> Stream:
    events = copy.deepcopy(events)
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return _refresh_output(events)


def text_stream() -> Stream:
    return _terminal(_start() + _message(0, "msg_1", ["Hel", "lo", " world"]))


def function_call_stream() -> Stream:
    return _terminal(_start() + _function_call(0, "fc_1", "get_weather", ['{"city"', ': "Paris"}']))


def reasoning_stream() -> Stream:
    return _terminal(
        _start()
        + _reasoning(0, "rs_1", ["Think", "ing"], ["Hmm", "..."])
        + _message(1, "msg_1", ["Answer"])
    )


def web_search_stream() -> Stream:
    return _terminal(
        _start() + _web_search(0, "ws_1") + _message(1, "msg_1", ["Found ", "it"], annotate=True)
    )


def refusal_stream() -> Stream:
    return _terminal(_start() + _message(0, "msg_1", ["I can", "'t help"], part_type="refusal"))


def incomplete_stream() -> Stream:
    return _terminal(
        _start() + _message(0, "msg_1", ["Trunc"], status="incomplete"),
        "response.incomplete",
        "incomplete",
        incomplete_details={"reason": "max_output_tokens"},
    )


def failed_stream() -> Stream:
    # The failure cuts the message short: its item is never closed, which is allowed here.
    partial = _message(0, "msg_1", ["Par"])[:3]
    error = {"type": "error", "code": "server_error", "message": "boom", "param": None}
    failed = {
        "type": "response.failed",
        "response": _response("failed", error={"code": "server_error", "message": "boom"}),
    }
    return _finish([*_start(), *partial, error, failed])


def queued_stream() -> Stream:
    return _terminal(_start(queued=True) + _message(0, "msg_1", ["Hi"]))


# ---------------------------------------------------------------------------------------------
# Mutations: they work on a copy and return it; `renumber` keeps sequence numbers clean so
# that order mutations test the order rules alone.
# ---------------------------------------------------------------------------------------------

Mutation = Callable[[Stream], Stream]


def _at(events: Stream, event_type: str, nth: int = 0) -> int:
    positions = [i for i, e in enumerate(events) if e.get("type") == event_type]
    return positions[nth]


def renumber(events: Stream) -> Stream:
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


def drop(event_type: str, nth: int = 0) -> Mutation:
    def mutate(events: Stream) -> Stream:
        del events[_at(events, event_type, nth)]
        return renumber(events)

    return mutate


def drop_all(event_type: str) -> Mutation:
    def mutate(events: Stream) -> Stream:
        return renumber([e for e in events if e.get("type") != event_type])

    return mutate


def swap(first: str, second: str, first_nth: int = 0, second_nth: int = 0) -> Mutation:
    def mutate(events: Stream) -> Stream:
        i, j = _at(events, first, first_nth), _at(events, second, second_nth)
        events[i], events[j] = events[j], events[i]
        return renumber(events)

    return mutate


def move_after(event_type: str, anchor: str, nth: int = 0, anchor_nth: int = 0) -> Mutation:
    def mutate(events: Stream) -> Stream:
        moved = events.pop(_at(events, event_type, nth))
        events.insert(_at(events, anchor, anchor_nth) + 1, moved)
        return renumber(events)

    return mutate


def move_before(event_type: str, anchor: str, nth: int = 0, anchor_nth: int = 0) -> Mutation:
    def mutate(events: Stream) -> Stream:
        moved = events.pop(_at(events, event_type, nth))
        events.insert(_at(events, anchor, anchor_nth), moved)
        return renumber(events)

    return mutate


def duplicate(event_type: str, nth: int = 0) -> Mutation:
    def mutate(events: Stream) -> Stream:
        i = _at(events, event_type, nth)
        events.insert(i + 1, copy.deepcopy(events[i]))
        return renumber(events)

    return mutate


def insert_after(anchor: str, event: Event, anchor_nth: int = 0) -> Mutation:
    def mutate(events: Stream) -> Stream:
        events.insert(_at(events, anchor, anchor_nth) + 1, copy.deepcopy(event))
        return renumber(events)

    return mutate


def set_field(
    event_type: str, path: str, value: Any, nth: int = 0, refresh: bool = False
) -> Mutation:
    """Set a dotted path (list positions as digits); `refresh` re-derives the final output."""

    def mutate(events: Stream) -> Stream:
        target: Any = events[_at(events, event_type, nth)]
        *parents, last = path.split(".")
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is _DELETE:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
        return _refresh_output(events) if refresh else events

    return mutate


_DELETE = object()


def chain(*mutations: Mutation) -> Mutation:
    def mutate(events: Stream) -> Stream:
        for mutation in mutations:
            events = mutation(events)
        return events

    return mutate


def keep(events: Stream) -> Stream:
    return events


def set_seq(position: int, value: Any) -> Mutation:
    def mutate(events: Stream) -> Stream:
        events[position]["sequence_number"] = value
        return events

    return mutate


def shift_seq_from(position: int, by: int) -> Mutation:
    def mutate(events: Stream) -> Stream:
        for event in events[position:]:
            event["sequence_number"] += by
        return events

    return mutate


def add_item_before_terminal(item_events: Stream) -> Mutation:
    def mutate(events: Stream) -> Stream:
        combined = events[:-1] + copy.deepcopy(item_events) + events[-1:]
        return _refresh_output(renumber(combined))

    return mutate


def renumber_from(start: int) -> Mutation:
    def mutate(events: Stream) -> Stream:
        for number, event in enumerate(events):
            event["sequence_number"] = start + number
        return events

    return mutate


def _slugs(violations: list[Violation]) -> list[str]:
    return sorted(v.rule for v in violations)


# ---------------------------------------------------------------------------------------------
# Good streams: zero violations.
# ---------------------------------------------------------------------------------------------

GOOD_STREAMS = {
    "text": text_stream,
    "function-call": function_call_stream,
    "reasoning": reasoning_stream,
    "web-search": web_search_stream,
    "refusal": refusal_stream,
    "incomplete": incomplete_stream,
    "failed-with-error": failed_stream,
    "queued": queued_stream,
}


@pytest.mark.parametrize("builder", GOOD_STREAMS.values(), ids=GOOD_STREAMS.keys())
def test_good_stream_has_no_violations(builder: Callable[[], Stream]) -> None:
    violations, _ = validate_event_order(builder())
    assert violations == []


@pytest.mark.parametrize("builder", GOOD_STREAMS.values(), ids=GOOD_STREAMS.keys())
def test_good_stream_with_matching_sse_names(builder: Callable[[], Stream]) -> None:
    events = builder()
    violations, _ = validate_event_order(events, [e["type"] for e in events])
    assert violations == []


def test_extension_event_with_sequence_number_is_accepted() -> None:
    extension = {"type": "response.vendor_ping", "detail": "x"}
    events = insert_after("response.output_text.delta", extension)(text_stream())
    assert validate_event_order(events)[0] == []


# ---------------------------------------------------------------------------------------------
# Bad streams: (builder, mutation, expected slugs with multiplicity).
# ---------------------------------------------------------------------------------------------

_ERROR_EVENT = {"type": "error", "code": "server_error", "message": "x", "param": None}
_DELTA = "response.output_text.delta"
_TEXT_DONE = "response.output_text.done"
_PART_ADDED = "response.content_part.added"
_PART_DONE = "response.content_part.done"
_ITEM_ADDED = "response.output_item.added"
_ITEM_DONE = "response.output_item.done"
_ARGS_DONE = "response.function_call_arguments.done"

BAD_CASES: list[tuple[str, Callable[[], Stream], Mutation, list[str]]] = [
    # lifecycle
    ("created-missing", text_stream, drop("response.created"), ["first-event-created"]),
    (
        "in-progress-missing",
        text_stream,
        drop("response.in_progress"),
        ["in-progress-after-created"],
    ),
    (
        "created-in-progress-swapped",
        text_stream,
        swap("response.created", "response.in_progress"),
        ["first-event-created", "lifecycle-event-misplaced"],
    ),
    ("created-repeated", text_stream, duplicate("response.created"), ["lifecycle-event-misplaced"]),
    (
        "in-progress-repeated-mid-stream",
        text_stream,
        insert_after(
            _ITEM_ADDED, {"type": "response.in_progress", "response": _response("in_progress")}
        ),
        ["lifecycle-event-misplaced"],
    ),
    (
        "queued-after-in-progress",
        queued_stream,
        swap("response.queued", "response.in_progress"),
        ["lifecycle-event-misplaced"],
    ),
    (
        "response-id-changes",
        text_stream,
        set_field("response.completed", "response.id", "r2"),
        ["response-id-consistent"],
    ),
    # sequence numbers
    (
        "seq-missing",
        text_stream,
        set_field(_DELTA, "sequence_number", _DELETE),
        ["sequence-number-present"],
    ),
    (
        "seq-not-integer",
        text_stream,
        set_field(_DELTA, "sequence_number", "4"),
        ["sequence-number-present"],
    ),
    ("seq-repeated", text_stream, set_seq(5, 4), ["sequence-number-increasing"]),
    (
        "seq-all-zero",
        text_stream,
        lambda ev: [e | {"sequence_number": 0} for e in ev],
        ["sequence-number-increasing"],
    ),
    ("seq-starts-at-one", text_stream, renumber_from(1), ["sequence-number-contiguous"]),
    ("seq-gap", text_stream, shift_seq_from(4, 3), ["sequence-number-contiguous"]),
    (
        "unknown-event-without-seq",
        text_stream,
        chain(
            insert_after(_DELTA, {"type": "response.vendor_ping"}),
            set_field("response.vendor_ping", "sequence_number", _DELETE),
        ),
        ["sequence-number-present"],
    ),
    # payload shape and errors
    ("untyped-payload", text_stream, insert_after(_DELTA, {"choices": []}), ["event-type-present"]),
    (
        "bare-error-instead-of-terminal",
        text_stream,
        lambda ev: [*ev[:-1], {"error": {"message": "upstream failed", "type": "server_error"}}],
        ["bare-error-payload"],
    ),
    (
        "error-then-other-event",
        failed_stream,
        insert_after(
            "error",
            {
                "type": _DELTA,
                "item_id": "msg_1",
                "output_index": 0,
                "content_index": 0,
                "delta": "x",
            },
        ),
        ["error-followed-by-failed"],
    ),
    ("error-without-failed", failed_stream, drop("response.failed"), ["error-followed-by-failed"]),
    (
        "error-mid-completed-stream",
        text_stream,
        insert_after(_PART_DONE, _ERROR_EVENT),
        ["error-followed-by-failed"],
    ),
    # output items
    ("item-added-missing", text_stream, drop(_ITEM_ADDED), ["item-event-before-added"]),
    ("item-done-missing", text_stream, drop(_ITEM_DONE), ["item-closed-before-terminal"]),
    (
        "output-index-starts-at-one",
        text_stream,
        lambda ev: [e | {"output_index": 1} if "output_index" in e else e for e in ev],
        ["output-index-order"],
    ),
    (
        "output-index-reused",
        reasoning_stream,
        lambda ev: [e | {"output_index": 0} if "output_index" in e else e for e in ev],
        ["output-index-order"],
    ),
    (
        "item-done-other-id",
        text_stream,
        set_field(_ITEM_DONE, "item.id", "msg_9", refresh=True),
        ["item-done-matches-added"],
    ),
    (
        "item-done-in-progress",
        text_stream,
        set_field(_ITEM_DONE, "item.status", "in_progress", refresh=True),
        ["item-done-status"],
    ),
    (
        "item-after-incomplete-item",
        incomplete_stream,
        add_item_before_terminal(_message(1, "msg_2", ["x"])),
        ["incomplete-item-last"],
    ),
    (
        "incomplete-item-but-completed",
        incomplete_stream,
        chain(
            set_field("response.incomplete", "type", "response.completed"),
            set_field("response.completed", "response.status", "completed"),
        ),
        ["incomplete-item-response-incomplete"],
    ),
    # content parts
    ("content-part-added-missing", text_stream, drop(_PART_ADDED), ["part-event-outside-part"]),
    ("content-part-done-missing", text_stream, drop(_PART_DONE), ["part-closed-before-item-done"]),
    (
        "content-index-starts-at-one",
        text_stream,
        lambda ev: [e | {"content_index": 1} if "content_index" in e else e for e in ev],
        ["part-index-order"],
    ),
    (
        "delta-after-text-done",
        text_stream,
        swap(_DELTA, _TEXT_DONE, first_nth=2),
        ["part-text-done-once", "part-text-matches-deltas"],
    ),
    ("text-done-missing", text_stream, drop(_TEXT_DONE), ["part-text-done-once"]),
    ("text-done-duplicated", text_stream, duplicate(_TEXT_DONE), ["part-text-done-once"]),
    (
        "text-done-wrong-text",
        text_stream,
        set_field(_TEXT_DONE, "text", "Hello"),
        ["part-text-matches-deltas"],
    ),
    (
        "part-done-wrong-text",
        text_stream,
        set_field(_PART_DONE, "part.text", "Hello"),
        ["part-done-matches-text"],
    ),
    (
        "item-done-wrong-text",
        text_stream,
        set_field(_ITEM_DONE, "item.content.0.text", "Hello", refresh=True),
        ["item-done-matches-text"],
    ),
    (
        "refusal-delta-in-text-part",
        text_stream,
        set_field(_DELTA, "type", "response.refusal.delta"),
        ["delta-matches-part-type"],
    ),
    (
        "refusal-done-wrong-text",
        refusal_stream,
        set_field("response.refusal.done", "refusal", "I can"),
        ["part-text-matches-deltas"],
    ),
    (
        "annotation-after-part-done",
        web_search_stream,
        move_after("response.output_text.annotation.added", _PART_DONE, anchor_nth=0),
        ["annotation-in-text-part"],
    ),
    (
        "annotation-on-refusal-part",
        refusal_stream,
        insert_after(
            "response.refusal.delta",
            {
                "type": "response.output_text.annotation.added",
                "item_id": "msg_1",
                "output_index": 0,
                "content_index": 0,
                "annotation_index": 0,
                "annotation": None,
            },
        ),
        ["annotation-in-text-part"],
    ),
    # function calls
    (
        "content-part-on-function-call",
        function_call_stream,
        insert_after(
            _ITEM_ADDED,
            {
                "type": _PART_ADDED,
                "item_id": "fc_1",
                "output_index": 0,
                "content_index": 0,
                "part": {"type": "output_text", "text": ""},
            },
        ),
        ["event-item-type"],
    ),
    ("args-done-missing", function_call_stream, drop(_ARGS_DONE), ["arguments-stream-sequence"]),
    (
        "args-done-duplicated",
        function_call_stream,
        duplicate(_ARGS_DONE),
        ["arguments-stream-sequence"],
    ),
    (
        "args-done-wrong",
        function_call_stream,
        set_field(_ARGS_DONE, "arguments", "{}"),
        ["arguments-match-deltas"],
    ),
    (
        "args-done-without-name",
        function_call_stream,
        set_field(_ARGS_DONE, "name", _DELETE),
        ["function-args-done-name"],
    ),
    (
        "args-done-other-name",
        function_call_stream,
        set_field(_ARGS_DONE, "name", "other"),
        ["function-args-done-name"],
    ),
    (
        "item-done-wrong-args",
        function_call_stream,
        set_field(_ITEM_DONE, "item.arguments", "{}", refresh=True),
        ["arguments-match-item"],
    ),
    (
        "args-delta-on-message",
        text_stream,
        insert_after(
            _DELTA,
            {
                "type": "response.function_call_arguments.delta",
                "item_id": "msg_1",
                "output_index": 0,
                "delta": "{",
            },
        ),
        ["event-item-type"],
    ),
    # reasoning
    (
        "summary-part-added-missing",
        reasoning_stream,
        drop("response.reasoning_summary_part.added"),
        ["part-event-outside-part"],
    ),
    (
        "summary-text-done-wrong",
        reasoning_stream,
        set_field("response.reasoning_summary_text.done", "text", "Thinks"),
        ["part-text-matches-deltas"],
    ),
    (
        "summary-index-starts-at-one",
        reasoning_stream,
        lambda ev: [e | {"summary_index": 1} if "summary_index" in e else e for e in ev],
        ["part-index-order"],
    ),
    (
        "reasoning-text-on-message",
        text_stream,
        insert_after(
            _PART_ADDED,
            {
                "type": "response.reasoning_text.delta",
                "item_id": "msg_1",
                "output_index": 0,
                "content_index": 0,
                "delta": "hmm",
            },
        ),
        ["event-item-type"],
    ),
    # hosted tools
    (
        "hosted-event-after-item-done",
        web_search_stream,
        move_after("response.web_search_call.searching", _ITEM_DONE),
        ["item-event-after-done"],
    ),
    (
        "hosted-event-before-item-added",
        web_search_stream,
        move_before("response.web_search_call.in_progress", _ITEM_ADDED),
        ["item-event-before-added"],
    ),
    (
        "hosted-event-wrong-item-id",
        web_search_stream,
        set_field("response.web_search_call.completed", "item_id", "ws_9"),
        ["event-item-mismatch"],
    ),
    (
        "hosted-event-on-message",
        web_search_stream,
        chain(
            move_after("response.web_search_call.completed", _PART_ADDED),
            set_field("response.web_search_call.completed", "output_index", 1),
            set_field("response.web_search_call.completed", "item_id", "msg_1"),
        ),
        ["event-item-type"],
    ),
    # terminal
    ("terminal-missing", text_stream, drop("response.completed"), ["terminal-event-missing"]),
    (
        "event-after-terminal",
        text_stream,
        lambda ev: renumber(
            [*ev, {"type": "response.vendor_ping"}, {"type": "response.vendor_ping"}]
        ),
        ["terminal-event-not-last"],
    ),
    (
        "terminal-duplicated",
        text_stream,
        duplicate("response.completed"),
        ["terminal-event-duplicated"],
    ),
    (
        "terminal-status-wrong",
        text_stream,
        set_field("response.completed", "response.status", "in_progress"),
        ["terminal-status-matches-type"],
    ),
    (
        "incomplete-without-reason",
        incomplete_stream,
        set_field("response.incomplete", "response.incomplete_details", None),
        ["incomplete-details-reason"],
    ),
    (
        "failed-without-error",
        failed_stream,
        set_field("response.failed", "response.error", None),
        ["failed-carries-error"],
    ),
    (
        "usage-missing",
        text_stream,
        set_field("response.completed", "response.usage", None),
        ["terminal-usage"],
    ),
    (
        "terminal-output-wrong-text",
        text_stream,
        set_field("response.completed", "response.output.0.content.0.text", "Hi"),
        ["terminal-output-matches-items"],
    ),
    (
        "terminal-output-missing-item",
        reasoning_stream,
        set_field("response.completed", "response.output", []),
        ["terminal-output-matches-items"],
    ),
]


@pytest.mark.parametrize(
    ("builder", "mutation", "expected"),
    [case[1:] for case in BAD_CASES],
    ids=[case[0] for case in BAD_CASES],
)
def test_bad_stream_reports_exact_rules(
    builder: Callable[[], Stream], mutation: Mutation, expected: list[str]
) -> None:
    violations, _ = validate_event_order(mutation(builder()))
    assert _slugs(violations) == sorted(expected), [v.message for v in violations]


# ---------------------------------------------------------------------------------------------
# SSE names, noise control, violation fields and the summary.
# ---------------------------------------------------------------------------------------------


def test_sse_name_mismatch_is_reported_once_with_count() -> None:
    events = text_stream()
    names = ["message"] * len(events)
    violations, _ = validate_event_order(events, names)
    assert _slugs(violations) == ["sse-event-name-matches-type"]
    assert f"({len(events)} events affected in total)" in violations[0].message


def test_missing_sse_names_are_a_single_should() -> None:
    events = text_stream()
    names: list[str | None] = [e["type"] for e in events]
    names[3] = None
    violations, _ = validate_event_order(events, names)
    assert [(v.rule, v.level, v.index) for v in violations] == [
        ("sse-event-name-present", "SHOULD", 3)
    ]


def test_missing_item_added_does_not_cascade_over_many_deltas() -> None:
    events = _terminal(_start() + _message(0, "msg_1", [f"w{i} " for i in range(30)]))
    violations, _ = validate_event_order(drop(_ITEM_ADDED)(events))
    assert _slugs(violations) == ["item-event-before-added"]


def test_violation_names_event_by_sequence_number_and_has_context() -> None:
    events = set_field(_TEXT_DONE, "text", "nope")(text_stream())
    (violation,) = validate_event_order(events)[0]
    position = _at(events, _TEXT_DONE)
    assert violation.index == position
    assert violation.sequence_number == position
    assert violation.level == "MUST"
    assert f"seq={position}" in violation.message
    assert len(violation.context) == 5
    assert violation.context[0] == (
        f"#{position - 2} seq={position - 2} "
        "response.output_text.delta item=msg_1 out=0 part=0 "
        "delta='lo'"
    )


def test_missing_terminal_is_reported_at_end_of_stream() -> None:
    events = drop("response.completed")(text_stream())
    (violation,) = validate_event_order(events)[0]
    assert violation.index == len(events)
    assert violation.sequence_number is None
    assert len(violation.context) == 2


def test_non_object_payloads_do_not_crash() -> None:
    events: list[Any] = [*text_stream()[:3], "garbage", 42, None]
    violations, summary = validate_event_order(events)
    assert "event-type-present" in _slugs(violations)
    assert summary.terminal_type is None


def test_untyped_payloads_are_reported_once_with_count() -> None:
    chunk = {"id": "c", "object": "chat.completion.chunk", "choices": []}
    violations, _ = validate_event_order([chunk, chunk, chunk])
    assert _slugs(violations) == [
        "event-type-present",
        "first-event-created",
        "terminal-event-missing",
    ]
    (untyped,) = [v for v in violations if v.rule == "event-type-present"]
    assert untyped.message.endswith("(3 events affected in total)")


def test_empty_stream() -> None:
    violations, summary = validate_event_order([])
    assert _slugs(violations) == ["first-event-created", "terminal-event-missing"]
    assert summary == StreamSummary(None, None, (), {})


def test_summary_reconstructs_items_and_texts() -> None:
    events = reasoning_stream()
    violations, summary = validate_event_order(events)
    assert violations == []
    assert summary.terminal_type == "response.completed"
    assert summary.terminal_response == events[-1]["response"]
    assert [item["id"] for item in summary.closed_items] == ["rs_1", "msg_1"]
    assert summary.texts == {(1, 0): "Answer"}


def test_summary_text_is_the_concatenated_deltas() -> None:
    chunks = [f"w{n} " for n in range(500)] + ["", "é✓😀", "\n"]
    events = _terminal(_start() + _message(0, "msg_1", chunks) + _message(1, "msg_2", []))
    violations, summary = validate_event_order(events)
    assert violations == []
    assert summary.texts == {(0, 0): "".join(chunks), (1, 0): ""}


def test_summary_text_keeps_deltas_the_rules_reject() -> None:
    # A lenient client renders deltas even outside an opened part; the summary shows that text.
    events = drop("response.content_part.added")(text_stream())
    violations, summary = validate_event_order(events)
    assert "part-event-outside-part" in _slugs(violations)
    assert summary.texts == {(0, 0): "Hello world"}


def test_rules_table_is_well_formed() -> None:
    assert all(level in ("MUST", "SHOULD") for level, _ in RULES.values())
    assert all(slug == slug.lower() and " " not in slug for slug in RULES)
    assert all(description.endswith(".") for _, description in RULES.values())


def test_every_expected_slug_is_documented() -> None:
    used = {slug for case in BAD_CASES for slug in case[3]}
    assert used <= set(RULES)
