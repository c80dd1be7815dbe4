"""Responses-API streaming event-order engine.

A pure, reusable validator: it takes the parsed JSON payloads of one `POST /v1/responses`
stream (in arrival order, a trailing `[DONE]` already removed) and reports every ordering or
consistency violation it finds, plus a summary of what a client would have reconstructed.

Sources of the rules (see the shared OpenAI reference notes, sections (a) and (b)):
the OpenAPI `ResponseStreamEvent` union and its examples, the openai-python stream accumulator,
and the Open Responses MUST rules for items and content parts.

The machinery (reporting with context, tallied rules, the pass over the events) is the shared
core in `conformance.event_rules`; this module holds the Responses rules and vocabulary.

Design notes:
* Every violation names the offending event by index and sequence number and carries a few
  lines of context, so a report can be read without the raw stream.
* Defects that tend to repeat on every event (bad sequence numbers, wrong SSE names) are
  collapsed into one violation with a count; item- and part-level defects are reported once
  per item or part. One root cause should give one line in a report, not thirty.

Judgement calls (the sources leave these open):
* `response.in_progress` after `response.created` is SHOULD: only the spec example shows it,
  and the SDK does not need it.
* Before `response.failed`, open items are allowed (a failure may cut an item short) and
  `usage` is not required; the output comparison then runs only if every item was closed.
* Hosted-tool call items may close with status `failed` (their schemas list it).
* Text and argument `.done` values are compared with the concatenated deltas even when no
  delta was sent, since a client that renders deltas would have shown nothing.
* Unknown event types are extension events: only the sequence-number rules apply to them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.event_rules import (
    MUST,
    SHOULD,
    EventValidator,
    Violation,
    as_int,
    as_list,
    as_map,
    as_str,
    clip,
    divergence,
    non_object_line,
    payload_type,
    type_label,
)

RULES: dict[str, tuple[str, str]] = {
    # lifecycle
    "first-event-created": (MUST, "The first event is `response.created`."),
    "in-progress-after-created": (
        SHOULD,
        (
            "`response.created` is followed by `response.in_progress`, or by `response.queued` "
            "then `response.in_progress`."
        ),
    ),
    "lifecycle-event-misplaced": (
        MUST,
        (
            "`response.created`, `response.queued` and `response.in_progress` appear at most once "
            "each, only at the start of the stream."
        ),
    ),
    "response-id-consistent": (
        MUST,
        "`response.id` is the same in the created, queued, in_progress and terminal events.",
    ),
    # sequence numbers
    "sequence-number-present": (MUST, "Every event carries an integer `sequence_number`."),
    "sequence-number-increasing": (MUST, "`sequence_number` strictly increases across events."),
    "sequence-number-contiguous": (
        SHOULD,
        "`sequence_number` starts at 0 and goes up by exactly 1 per event.",
    ),
    # transport
    "sse-event-name-matches-type": (MUST, "The SSE `event:` name equals the JSON `type`."),
    "sse-event-name-present": (SHOULD, "Every SSE frame carries an `event:` line."),
    "event-type-present": (MUST, "Every payload is a JSON object with a string `type`."),
    "bare-error-payload": (
        MUST,
        (
            "Errors after the 200 are sent as an `error` event followed by `response.failed`, "
            'never as a bare `{"error": {...}}` payload.'
        ),
    ),
    "error-followed-by-failed": (
        MUST,
        "An `error` event is immediately followed by `response.failed`, and nothing else.",
    ),
    # output items
    "output-index-order": (
        MUST,
        "`response.output_item.added` numbers items 0, 1, 2, ... in order of addition.",
    ),
    "item-event-before-added": (
        MUST,
        "No event refers to an output item before its `response.output_item.added`.",
    ),
    "item-event-after-done": (
        MUST,
        "No event refers to an output item after its `response.output_item.done`.",
    ),
    "event-item-mismatch": (
        MUST,
        "An item-scoped event's `item_id` is the id of the item at its `output_index`.",
    ),
    "event-item-type": (
        MUST,
        (
            "Item-scoped events only target items of the matching type (content parts on "
            "messages and reasoning, function arguments on function_call, summaries on "
            "reasoning, hosted-tool events on that tool's call item)."
        ),
    ),
    "item-done-matches-added": (
        MUST,
        "`response.output_item.done` carries the same item id and type as its `added`.",
    ),
    "item-done-status": (
        MUST,
        (
            "An item's status at `response.output_item.done` is `completed` or `incomplete` "
            "(`failed` is also accepted for hosted-tool calls)."
        ),
    ),
    "incomplete-item-last": (MUST, "An `incomplete` item is the last output item."),
    "incomplete-item-response-incomplete": (
        MUST,
        "If an item is `incomplete`, the stream ends with `response.incomplete`.",
    ),
    "item-closed-before-terminal": (
        MUST,
        (
            "Every added item is closed by `response.output_item.done` before the terminal event "
            "(not required before `response.failed`)."
        ),
    ),
    # content parts and reasoning summary parts
    "part-index-order": (
        MUST,
        (
            "`content_index` (content parts) and `summary_index` (summary parts) count "
            "0, 1, 2, ... per item in order of addition."
        ),
    ),
    "part-event-outside-part": (
        MUST,
        (
            "Deltas, text `.done` and part `.done` events only occur between their part's `added` "
            "and `done`."
        ),
    ),
    "delta-matches-part-type": (
        MUST,
        (
            "A delta's kind matches its part (`output_text.delta` into an output_text part, "
            "`refusal.delta` into a refusal part, ...)."
        ),
    ),
    "part-text-done-once": (
        MUST,
        (
            "Each part gets exactly one text `.done` (`output_text.done`, `refusal.done`, ...), "
            "after all its deltas and before the part's `done`."
        ),
    ),
    "part-text-matches-deltas": (
        MUST,
        "The text in a text `.done` event equals the concatenation of its deltas.",
    ),
    "part-done-matches-text": (
        MUST,
        "The part in `content_part.done` / `reasoning_summary_part.done` carries the full text.",
    ),
    "part-closed-before-item-done": (
        MUST,
        "Every part is closed before its item's `response.output_item.done`.",
    ),
    "item-done-matches-text": (
        MUST,
        (
            "The item in `response.output_item.done` carries the streamed text in "
            "`content[content_index]` / `summary[summary_index]`."
        ),
    ),
    "annotation-in-text-part": (
        MUST,
        "`response.output_text.annotation.added` only occurs inside an open output_text part.",
    ),
    # function call and other argument-like streams
    "arguments-stream-sequence": (
        MUST,
        (
            "Argument deltas are followed by exactly one `.done` before `output_item.done`; a "
            "function_call item always gets `function_call_arguments.done`."
        ),
    ),
    "arguments-match-deltas": (
        MUST,
        "The value in an arguments/input/code `.done` equals the concatenation of its deltas.",
    ),
    "arguments-match-item": (
        MUST,
        "The item in `response.output_item.done` carries the streamed arguments/input/code.",
    ),
    "function-args-done-name": (
        MUST,
        (
            "`response.function_call_arguments.done` carries the function `name`, equal to the "
            "item's name."
        ),
    ),
    # terminal
    "terminal-event-missing": (
        MUST,
        "The stream ends with `response.completed`, `response.incomplete` or `response.failed`.",
    ),
    "terminal-event-not-last": (MUST, "No event follows the terminal event."),
    "terminal-event-duplicated": (MUST, "There is exactly one terminal event."),
    "terminal-status-matches-type": (
        MUST,
        "The terminal `response.status` agrees with the event type.",
    ),
    "incomplete-details-reason": (
        MUST,
        "`response.incomplete` carries `response.incomplete_details.reason`.",
    ),
    "failed-carries-error": (
        MUST,
        "`response.failed` carries `response.error` with a `message`.",
    ),
    "terminal-usage": (
        MUST,
        "The terminal response of a completed or incomplete stream carries `usage`.",
    ),
    "terminal-output-matches-items": (
        MUST,
        (
            "The terminal `response.output` equals the items closed by `output_item.done` "
            "(same ids, types and text, in order)."
        ),
    ),
}


@dataclass(frozen=True)
class StreamSummary:
    terminal_type: str | None
    terminal_response: dict | None
    closed_items: tuple[dict, ...]
    texts: dict[tuple[int, int], str]


# ---------------------------------------------------------------------------------------------
# Event vocabulary
# ---------------------------------------------------------------------------------------------

CREATED = "response.created"
QUEUED = "response.queued"
IN_PROGRESS = "response.in_progress"
LIFECYCLE_START = (CREATED, QUEUED, IN_PROGRESS)
TERMINAL_STATUS = {
    "response.completed": "completed",
    "response.incomplete": "incomplete",
    "response.failed": "failed",
}
ITEM_ADDED = "response.output_item.added"
ITEM_DONE = "response.output_item.done"
ANNOTATION_ADDED = "response.output_text.annotation.added"
ERROR = "error"

# Item types whose calls run on the provider side; they may legitimately end `failed`.
HOSTED_TOOL_ITEMS = frozenset(
    {
        "web_search_call",
        "file_search_call",
        "code_interpreter_call",
        "image_generation_call",
        "mcp_call",
        "mcp_list_tools",
        "shell_call",
        "shell_call_output",
        "local_shell_call",
        "computer_call",
    }
)

# Hosted-tool progress events, by type prefix -> item types they may target. Shell output
# events are accepted on either shell item type: the spec does not say which one carries them.
HOSTED_EVENT_PREFIXES: dict[str, tuple[str, ...]] = {
    "response.web_search_call.": ("web_search_call",),
    "response.file_search_call.": ("file_search_call",),
    "response.code_interpreter_call.": ("code_interpreter_call",),
    "response.image_generation_call.": ("image_generation_call",),
    "response.mcp_call.": ("mcp_call",),
    "response.mcp_list_tools.": ("mcp_list_tools",),
    "response.shell_call_command.": ("shell_call", "shell_call_output"),
    "response.shell_call_output_content.": ("shell_call", "shell_call_output"),
}


@dataclass(frozen=True)
class _PartFamily:
    """Content parts and reasoning-summary parts share one life cycle."""

    name: str
    added_type: str
    done_type: str
    index_field: str
    item_field: str  # where the closed item keeps these parts
    # item type -> part types allowed in it
    owners: Mapping[str, tuple[str, ...]]


CONTENT = _PartFamily(
    name="content part",
    added_type="response.content_part.added",
    done_type="response.content_part.done",
    index_field="content_index",
    item_field="content",
    owners={"message": ("output_text", "refusal"), "reasoning": ("reasoning_text",)},
)
SUMMARY = _PartFamily(
    name="summary part",
    added_type="response.reasoning_summary_part.added",
    done_type="response.reasoning_summary_part.done",
    index_field="summary_index",
    item_field="summary",
    owners={"reasoning": ("summary_text",)},
)
PART_FAMILIES = {f.added_type: f for f in (CONTENT, SUMMARY)} | {
    f.done_type: f for f in (CONTENT, SUMMARY)
}


@dataclass(frozen=True)
class _TextKind:
    """A delta/done pair that streams the text of one part."""

    part_type: str
    delta_type: str
    done_type: str
    done_field: str
    family: _PartFamily


TEXT_KINDS = (
    _TextKind(
        "output_text", "response.output_text.delta", "response.output_text.done", "text", CONTENT
    ),
    _TextKind("refusal", "response.refusal.delta", "response.refusal.done", "refusal", CONTENT),
    _TextKind(
        "reasoning_text",
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
        "text",
        CONTENT,
    ),
    _TextKind(
        "summary_text",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "text",
        SUMMARY,
    ),
)
TEXT_DELTAS = {k.delta_type: k for k in TEXT_KINDS}
TEXT_DONES = {k.done_type: k for k in TEXT_KINDS}


@dataclass(frozen=True)
class _ArgStream:
    """A delta/done pair that streams one string field of a tool-call item."""

    delta_type: str
    done_type: str
    field: str
    item_type: str
    done_required: bool  # function calls always get a `.done`, even with no deltas


ARG_STREAMS = (
    _ArgStream(
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "arguments",
        "function_call",
        True,
    ),
    _ArgStream(
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "arguments",
        "mcp_call",
        False,
    ),
    _ArgStream(
        "response.custom_tool_call_input.delta",
        "response.custom_tool_call_input.done",
        "input",
        "custom_tool_call",
        False,
    ),
    _ArgStream(
        "response.code_interpreter_call_code.delta",
        "response.code_interpreter_call_code.done",
        "code",
        "code_interpreter_call",
        False,
    ),
)
ARG_DELTAS = {s.delta_type: s for s in ARG_STREAMS}
ARG_DONES = {s.done_type: s for s in ARG_STREAMS}
ARG_BY_ITEM_TYPE = {s.item_type: s for s in ARG_STREAMS}

# Uniform defects are counted over the whole stream and reported once.
TALLIED_RULES = (
    "event-type-present",
    "sequence-number-present",
    "sequence-number-increasing",
    "sequence-number-contiguous",
    "sse-event-name-matches-type",
    "sse-event-name-present",
)


# ---------------------------------------------------------------------------------------------
# Payload helpers
# ---------------------------------------------------------------------------------------------


def _seq(event: Any) -> int | None:
    payload = as_map(event)
    return as_int(payload.get("sequence_number")) if payload is not None else None


def _part_text(part: Mapping[str, Any] | None, part_type: str | None) -> str | None:
    """The text a content/summary part carries; refusal parts keep it under `refusal`."""
    if part is None:
        return None
    key = "refusal" if (part_type or part.get("type")) == "refusal" else "text"
    return as_str(part.get(key))


def describe_event(index: int, event: Any) -> str:
    """One-line summary of an event, for violation context and reports."""
    payload = as_map(event)
    if payload is None:
        return non_object_line(index, event)
    seq = payload.get("sequence_number")
    words = [f"#{index}", f"seq={seq if seq is not None else '-'}", type_label(payload)]
    words.extend(_describe_refs(payload))
    words.extend(_describe_values(payload))
    return " ".join(words)


def _describe_refs(payload: Mapping[str, Any]) -> list[str]:
    words = []
    item = as_map(payload.get("item"))
    if "item_id" in payload:
        words.append(f"item={payload.get('item_id')}")
    elif item is not None:
        words.append(f"item={item.get('id')} type={item.get('type')} status={item.get('status')}")
    for key, label in (
        ("output_index", "out"),
        ("content_index", "part"),
        ("summary_index", "summary"),
    ):
        if key in payload:
            words.append(f"{label}={payload.get(key)}")
    response = as_map(payload.get("response"))
    if response is not None:
        words.append(f"resp={response.get('id')} status={response.get('status')}")
    return words


def _describe_values(payload: Mapping[str, Any]) -> list[str]:
    words = []
    for key in ("delta", "text", "refusal", "arguments", "name", "code", "message"):
        value = payload.get(key)
        if isinstance(value, str):
            words.append(f"{key}={clip(value)!r}")
    return words


# ---------------------------------------------------------------------------------------------
# Engine state
# ---------------------------------------------------------------------------------------------


@dataclass
class _Part:
    family: _PartFamily
    index: int
    part_type: str | None
    added_at: int
    ordinal: int  # position in order of addition: where a client appends it in the item
    done_at: int | None = None
    deltas: list[str] = field(default_factory=list)
    text_done_count: int = 0
    text_done_value: str | None = None

    @property
    def text(self) -> str:
        """The text a client holds for this part: the `.done` text, else the deltas."""
        if self.text_done_value is not None:
            return self.text_done_value
        return "".join(self.deltas)

    def accepts(self, final: str | None) -> bool:
        # When `.done` disagrees with the deltas, that is reported once; later copies of the
        # text may then match either version without piling up more violations.
        return final in (self.text, "".join(self.deltas))


@dataclass
class _Item:
    output_index: int
    item_id: str | None
    item_type: str | None
    name: str | None
    added_at: int
    done_at: int | None = None
    parts: dict[str, dict[int, _Part]] = field(default_factory=dict)
    next_part_index: dict[str, int] = field(default_factory=dict)
    arg_deltas: list[str] = field(default_factory=list)
    arg_done_count: int = 0
    arg_done_value: str | None = None
    arg_events_seen: bool = False

    def family_parts(self, family: _PartFamily) -> dict[int, _Part]:
        return self.parts.setdefault(family.name, {})

    def open_parts(self) -> list[_Part]:
        every = [p for parts in self.parts.values() for p in parts.values()]
        return sorted((p for p in every if p.done_at is None), key=lambda p: p.added_at)

    @property
    def label(self) -> str:
        kind = self.item_type or "item"
        return f"{kind} {self.item_id or '?'} (output_index={self.output_index})"


class _Engine(EventValidator[StreamSummary]):
    rules = RULES
    tallied_rules = TALLIED_RULES
    describe = staticmethod(describe_event)

    def __init__(self, events: Sequence[Any], sse_names: Sequence[str | None] | None) -> None:
        super().__init__(events, sse_names)
        self.items_by_index: dict[int, _Item] = {}
        self.items_by_id: dict[str, _Item] = {}
        self.next_output_index = 0
        self.closed: list[tuple[int, dict]] = []
        self.incomplete_item: _Item | None = None
        # (output_index, content_index) -> output_text deltas; joined once, by summary().
        self.text_deltas: dict[tuple[int, int], list[str]] = {}
        self.response_id: str | None = None
        self.seen_lifecycle: set[str] = set()
        self.terminal_index: int | None = None
        self.terminal_response: dict | None = None
        self.pending_error: int | None = None
        self.previous_seq: int | None = None
        self.resync_seq = False

    # -- naming -----------------------------------------------------------------------------------

    def sequence_number(self, event: Any) -> int | None:
        return _seq(event)

    def name(self, index: int) -> str:
        if index >= len(self.events):
            return "the end of the stream"
        event = self.events[index]
        seq = _seq(event)
        seq_text = f"seq={seq}" if seq is not None else "no sequence_number"
        return f"event #{index} ({seq_text}, {payload_type(event) or 'untyped'})"

    # -- main loop --------------------------------------------------------------------------------

    def visit(self, index: int, event: Any) -> None:
        # The core's visit plus what every Responses event carries: a sequence number, and
        # nothing after the terminal event.
        event_type = self.typed(index, event)
        if event_type is None:
            if _seq(event) is not None:
                self.check_sequence_number(index, event)
            return
        self.check_sequence_number(index, event)
        self.check_sse_name(index, event_type)
        if self.check_after_terminal(index, event_type):
            return
        self.check_error_follow_up(index, event_type)
        self.dispatch(index, event, event_type)

    def dispatch(self, index: int, event: Mapping[str, Any], event_type: str) -> None:
        if event_type in LIFECYCLE_START:
            self.on_lifecycle(index, event, event_type)
        elif event_type in TERMINAL_STATUS:
            self.on_terminal(index, event, event_type)
        elif event_type == ERROR:
            self.pending_error = index
        elif event_type == ITEM_ADDED:
            self.on_item_added(index, event)
        elif event_type == ITEM_DONE:
            self.on_item_done(index, event)
        elif event_type in PART_FAMILIES:
            self.on_part_event(index, event, event_type, PART_FAMILIES[event_type])
        elif event_type in TEXT_DELTAS:
            self.on_text_delta(index, event, TEXT_DELTAS[event_type])
        elif event_type in TEXT_DONES:
            self.on_text_done(index, event, TEXT_DONES[event_type])
        elif event_type == ANNOTATION_ADDED:
            self.on_annotation(index, event)
        elif event_type in ARG_DELTAS:
            self.on_arg_delta(index, event, ARG_DELTAS[event_type])
        elif event_type in ARG_DONES:
            self.on_arg_done(index, event, ARG_DONES[event_type])
        else:
            self.on_other(index, event, event_type)

    def finish(self) -> None:
        end = len(self.events)
        if self.pending_error is not None:
            self.report(
                "error-followed-by-failed",
                end,
                f"{self.name(self.pending_error)} is an `error` event but the stream "
                "ended without the `response.failed` that must follow it.",
            )
        elif self.terminal_index is None and not self.ended_on_bare_error():
            self.report(
                "terminal-event-missing",
                end,
                "The stream ended without a terminal event (`response.completed`, "
                "`response.incomplete` or `response.failed`).",
            )
        super().finish()

    def ended_on_bare_error(self) -> bool:
        # `bare-error-payload` already explains why such a stream has no terminal event.
        return any(
            v.rule == "bare-error-payload" and v.index == len(self.events) - 1
            for v in self.violations
        )

    def summary(self) -> StreamSummary:
        ordered = sorted(self.closed, key=lambda pair: pair[0])
        terminal_type = None
        if self.terminal_index is not None:
            terminal_type = payload_type(self.events[self.terminal_index])
        return StreamSummary(
            terminal_type=terminal_type,
            terminal_response=self.terminal_response,
            closed_items=tuple(item for _, item in ordered),
            texts={key: "".join(deltas) for key, deltas in self.text_deltas.items()},
        )

    # -- stream-wide checks -----------------------------------------------------------------------

    def start(self) -> None:
        types = [payload_type(e) for e in self.events[:3]]  # the opening is all this judges
        if not types or types[0] != CREATED:
            seen = f"{self.name(0)}" if types else "an empty stream"
            self.report(
                "first-event-created",
                0,
                f"Expected `response.created` as the first event, saw {seen}.",
            )
            return
        expected_at = 2 if len(types) > 1 and types[1] == QUEUED else 1
        next_type = types[expected_at] if expected_at < len(types) else None
        # A repeated `response.created` is reported once, as `lifecycle-event-misplaced`.
        if next_type not in (IN_PROGRESS, CREATED):
            after = "`response.queued`" if expected_at == 2 else "`response.created`"
            self.report(
                "in-progress-after-created",
                expected_at,
                f"Expected `response.in_progress` after {after}, saw {self.name(expected_at)}.",
            )

    def on_untyped(self, index: int, event: Any) -> None:
        payload = as_map(event)
        error = as_map(payload.get("error")) if payload is not None and "type" not in payload \
            else None
        if error is not None:
            self.report(
                "bare-error-payload",
                index,
                f"Event #{index} is a bare error payload (message="
                f"{clip(str(error.get('message')), 60)!r}); expected an `error` event "
                "followed by `response.failed`.",
            )
        else:
            super().on_untyped(index, event)

    def check_sequence_number(self, index: int, event: Mapping[str, Any]) -> None:
        raw = event.get("sequence_number")
        seq = as_int(raw)
        if seq is None:
            self.tally(
                "sequence-number-present",
                index,
                f"{self.name(index)} has sequence_number={raw!r}; expected an integer.",
            )
            self.resync_seq = True
            return
        if self.previous_seq is not None and seq <= self.previous_seq:
            self.tally(
                "sequence-number-increasing",
                index,
                f"{self.name(index)} does not increase on the previous event's "
                f"seq={self.previous_seq}.",
            )
            # Keep the higher number as reference and skip the next gap check: one
            # regression should give one report, not a second one for the jump back.
            self.resync_seq = True
            return
        expected = 0 if index == 0 else None
        if self.previous_seq is not None and not self.resync_seq:
            expected = self.previous_seq + 1
        self.resync_seq = False
        if expected is not None and seq != expected:
            self.tally(
                "sequence-number-contiguous",
                index,
                f"{self.name(index)} should have seq={expected} (numbers start at 0 and "
                "go up by 1).",
            )
        self.previous_seq = seq

    def check_after_terminal(self, index: int, event_type: str) -> bool:
        """Report events after the terminal one; they are not processed any further."""
        if self.terminal_index is None:
            return False
        if event_type in TERMINAL_STATUS:
            self.report(
                "terminal-event-duplicated",
                index,
                f"{self.name(index)} is a second terminal event after "
                f"{self.name(self.terminal_index)}.",
            )
        else:
            self.report(
                "terminal-event-not-last",
                index,
                f"{self.name(index)} follows the terminal event {self.name(self.terminal_index)}.",
                key="after-terminal",
            )
        return True

    def check_error_follow_up(self, index: int, event_type: str) -> None:
        if self.pending_error is None:
            return
        if event_type != "response.failed":
            self.report(
                "error-followed-by-failed",
                index,
                f"{self.name(self.pending_error)} is an `error` event, so the next event "
                f"must be `response.failed`, saw {self.name(index)}.",
            )
        self.pending_error = None

    def check_response_id(self, index: int, event: Mapping[str, Any]) -> None:
        response = as_map(event.get("response"))
        response_id = as_str(response.get("id")) if response is not None else None
        if response_id is None:
            return
        if self.response_id is None:
            self.response_id = response_id
        elif response_id != self.response_id:
            self.report(
                "response-id-consistent",
                index,
                f"{self.name(index)} carries response.id={response_id!r}, but the stream "
                f"started with {self.response_id!r}.",
            )

    # -- lifecycle and terminal events ------------------------------------------------------------

    def on_lifecycle(self, index: int, event: Mapping[str, Any], event_type: str) -> None:
        self.check_response_id(index, event)
        previous = payload_type(self.events[index - 1]) if index > 0 else None
        if event_type == QUEUED:
            allowed = previous == CREATED
        elif event_type == IN_PROGRESS:
            allowed = previous in (CREATED, QUEUED)
        else:
            allowed = index == 0
        if index > 0 and (not allowed or event_type in self.seen_lifecycle):
            # index 0 is judged by `first-event-created` alone.
            self.report(
                "lifecycle-event-misplaced",
                index,
                f"{self.name(index)} is out of place: the stream opens with "
                "`response.created` [`response.queued`] `response.in_progress`, each once.",
            )
        self.seen_lifecycle.add(event_type)

    def on_terminal(self, index: int, event: Mapping[str, Any], event_type: str) -> None:
        self.terminal_index = index
        response = as_map(event.get("response"))
        self.terminal_response = dict(response) if response is not None else None
        self.check_response_id(index, event)
        self.check_terminal_response(index, event_type, response or {})
        failed = event_type == "response.failed"
        open_items = [item for item in self.items_by_index.values() if item.done_at is None]
        if not failed:
            # A failure may cut an item short; the spec does not ask the server to close it.
            for item in open_items:
                self.report(
                    "item-closed-before-terminal",
                    index,
                    f"{self.name(index)} ends the response while {item.label} (added at "
                    f"{self.name(item.added_at)}) was never closed by output_item.done.",
                )
        if self.incomplete_item is not None and event_type != "response.incomplete":
            self.report(
                "incomplete-item-response-incomplete",
                index,
                f"{self.incomplete_item.label} closed `incomplete`, so the stream must "
                f"end with `response.incomplete`, saw {self.name(index)}.",
            )
        if not open_items:
            # With items still open the comparison would only repeat the violation above.
            self.check_terminal_output(index, response or {})

    def check_terminal_response(
        self, index: int, event_type: str, response: Mapping[str, Any]
    ) -> None:
        expected_status = TERMINAL_STATUS[event_type]
        status = response.get("status")
        if status != expected_status:
            self.report(
                "terminal-status-matches-type",
                index,
                f"{self.name(index)} carries response.status={status!r}; expected "
                f"{expected_status!r}.",
            )
        if event_type == "response.incomplete":
            details = as_map(response.get("incomplete_details")) or {}
            if not as_str(details.get("reason")):
                self.report(
                    "incomplete-details-reason",
                    index,
                    f"{self.name(index)} has no response.incomplete_details.reason.",
                )
        if event_type == "response.failed":
            error = as_map(response.get("error"))
            if error is None or not as_str(error.get("message")):
                self.report(
                    "failed-carries-error",
                    index,
                    f"{self.name(index)} has no response.error with a message "
                    f"(error={response.get('error')!r}).",
                )
        elif as_map(response.get("usage")) is None:
            self.report(
                "terminal-usage",
                index,
                f"{self.name(index)} carries usage={response.get('usage')!r}; the "
                "terminal response must report usage.",
            )

    def check_terminal_output(self, index: int, response: Mapping[str, Any]) -> None:
        output = [as_map(entry) or {} for entry in as_list(response.get("output"))]
        closed = [item for _, item in sorted(self.closed, key=lambda pair: pair[0])]
        if len(output) != len(closed):
            self.report(
                "terminal-output-matches-items",
                index,
                f"{self.name(index)} has {len(output)} item(s) in response.output, but "
                f"{len(closed)} item(s) were closed by output_item.done.",
            )
        for position, (final, streamed) in enumerate(zip(output, closed, strict=False)):
            difference = _item_difference(streamed, final)
            if difference:
                self.report(
                    "terminal-output-matches-items",
                    index,
                    f"{self.name(index)}: response.output[{position}] differs from the "
                    f"streamed item: {difference}.",
                )

    # -- output items -----------------------------------------------------------------------------

    def on_item_added(self, index: int, event: Mapping[str, Any]) -> None:
        payload = as_map(event.get("item")) or {}
        output_index = as_int(event.get("output_index"))
        if output_index != self.next_output_index:
            self.report(
                "output-index-order",
                index,
                f"{self.name(index)} has output_index={event.get('output_index')!r}; "
                f"expected {self.next_output_index} (items count up from 0 in order of "
                "addition).",
            )
        if output_index is None:
            output_index = self.next_output_index
        if self.incomplete_item is not None:
            self.report(
                "incomplete-item-last",
                index,
                f"{self.name(index)} adds an item after {self.incomplete_item.label} "
                "closed `incomplete`; an incomplete item must be the last one.",
            )
        item = _Item(
            output_index=output_index,
            item_id=as_str(payload.get("id")),
            item_type=as_str(payload.get("type")),
            name=as_str(payload.get("name")),
            added_at=index,
        )
        self.items_by_index[output_index] = item
        if item.item_id is not None:
            self.items_by_id[item.item_id] = item
        self.next_output_index = max(self.next_output_index, output_index + 1)

    def on_item_done(self, index: int, event: Mapping[str, Any]) -> None:
        payload = as_map(event.get("item")) or {}
        output_index = as_int(event.get("output_index"))
        item = self.find_item(output_index, as_str(payload.get("id")))
        if item is None or item.done_at is not None:
            self.report_unknown_item(index, event, item)
            if item is None:
                # Still record it so the terminal output comparison does not cascade.
                self.closed.append(
                    (output_index if output_index is not None else -1, dict(payload))
                )
            return
        self.check_item_identity(index, item, payload)
        self.check_item_status(index, item, payload)
        self.check_parts_closed(index, item)
        self.check_item_texts(index, item, payload)
        self.check_item_arguments(index, item, payload)
        item.done_at = index
        self.closed.append((item.output_index, dict(payload)))
        if payload.get("status") == "incomplete":
            self.incomplete_item = item

    def check_item_identity(self, index: int, item: _Item, payload: Mapping[str, Any]) -> None:
        done_id, done_type = payload.get("id"), payload.get("type")
        if done_id != item.item_id or done_type != item.item_type:
            self.report(
                "item-done-matches-added",
                index,
                f"{self.name(index)} closes item id={done_id!r} type={done_type!r}, but "
                f"{self.name(item.added_at)} added id={item.item_id!r} "
                f"type={item.item_type!r}.",
            )

    def check_item_status(self, index: int, item: _Item, payload: Mapping[str, Any]) -> None:
        status = payload.get("status")
        if status is None and item.item_type != "message":
            return  # status is optional on most non-message items
        allowed = {"completed", "incomplete"}
        if item.item_type in HOSTED_TOOL_ITEMS:
            allowed.add("failed")
        if status not in allowed:
            self.report(
                "item-done-status",
                index,
                f"{self.name(index)} closes {item.label} with status={status!r}; expected "
                f"one of {sorted(allowed)}.",
            )

    def check_parts_closed(self, index: int, item: _Item) -> None:
        for part in item.open_parts():
            self.report(
                "part-closed-before-item-done",
                index,
                f"{self.name(index)} closes {item.label} while its {part.family.name} "
                f"{part.index} (added at {self.name(part.added_at)}) is still open.",
            )

    def check_item_texts(self, index: int, item: _Item, payload: Mapping[str, Any]) -> None:
        for family in (CONTENT, SUMMARY):
            entries = as_list(payload.get(family.item_field))
            for part in sorted(item.family_parts(family).values(), key=lambda p: p.ordinal):
                # Look up by order of addition, so a misnumbered index (already reported by
                # `part-index-order`) does not also fail this comparison.
                position = part.ordinal
                entry = as_map(entries[position]) if position < len(entries) else None
                final = _part_text(entry, part.part_type)
                if not part.accepts(final):
                    self.report(
                        "item-done-matches-text",
                        index,
                        f"{self.name(index)}: item.{family.item_field}[{position}] "
                        f"holds {clip(repr(final), 40)}, but the stream produced "
                        f"{clip(repr(part.text), 40)}{divergence(final, part.text)}.",
                    )

    def check_item_arguments(self, index: int, item: _Item, payload: Mapping[str, Any]) -> None:
        stream = ARG_BY_ITEM_TYPE.get(item.item_type or "")
        if stream is None or not (stream.done_required or item.arg_events_seen):
            return
        if item.arg_done_count == 0:
            self.report(
                "arguments-stream-sequence",
                index,
                f"{self.name(index)} closes {item.label} without a preceding `{stream.done_type}`.",
            )
        deltas = "".join(item.arg_deltas)
        streamed = item.arg_done_value if item.arg_done_value is not None else deltas
        final = payload.get(stream.field)
        if final not in (streamed, deltas):
            self.report(
                "arguments-match-item",
                index,
                f"{self.name(index)}: item.{stream.field}={clip(repr(final), 40)} but the "
                f"stream produced {clip(repr(streamed), 40)}{divergence(final, streamed)}.",
            )

    def find_item(self, output_index: int | None, item_id: str | None) -> _Item | None:
        if output_index is not None:
            return self.items_by_index.get(output_index)
        return self.items_by_id.get(item_id) if item_id is not None else None

    def report_unknown_item(self, index: int, event: Mapping[str, Any], item: _Item | None) -> None:
        if item is not None:
            self.report(
                "item-event-after-done",
                index,
                f"{self.name(index)} refers to {item.label}, which was already closed at "
                f"{self.name(item.done_at or 0)}.",
                key=id(item),
            )
            return
        reference = event.get("output_index", event.get("item_id"))
        self.report(
            "item-event-before-added",
            index,
            f"{self.name(index)} refers to output_index={event.get('output_index')!r} "
            f"item_id={event.get('item_id')!r}, but no output_item.added opened it.",
            key=repr(reference),
        )

    def resolve_item(
        self, index: int, event: Mapping[str, Any], allowed_types: tuple[str, ...]
    ) -> _Item | None:
        """The open item an item-scoped event targets, or None after reporting why not."""
        item_id = as_str(event.get("item_id"))
        item = self.find_item(as_int(event.get("output_index")), item_id)
        if item is None or item.done_at is not None:
            self.report_unknown_item(index, event, item)
            return None
        if item_id is not None and item.item_id is not None and item_id != item.item_id:
            self.report(
                "event-item-mismatch",
                index,
                f"{self.name(index)} has item_id={item_id!r}, but its output_index "
                f"belongs to {item.label}.",
                key=id(item),
            )
        if item.item_type not in allowed_types:
            # Once per item: a misrouted item usually receives a whole run of such events.
            self.report(
                "event-item-type",
                index,
                f"{self.name(index)} targets {item.label}; this event is only valid on "
                f"{' / '.join(allowed_types)} items.",
                key=(id(item), "event"),
            )
            return None
        return item

    def on_other(self, index: int, event: Mapping[str, Any], event_type: str) -> None:
        for prefix, item_types in HOSTED_EVENT_PREFIXES.items():
            if event_type.startswith(prefix):
                self.resolve_item(index, event, item_types)
                return
        # Anything else is an extension event (or audio, which is not item-scoped): the only
        # rule that applies to it is the sequence number, checked for every event.

    # -- content and summary parts ----------------------------------------------------------------

    def on_part_event(
        self, index: int, event: Mapping[str, Any], event_type: str, family: _PartFamily
    ) -> None:
        item = self.resolve_item(index, event, tuple(family.owners))
        if item is None:
            return
        if event_type == family.added_type:
            self.on_part_added(index, event, family, item)
        else:
            self.on_part_done(index, event, family, item)

    def on_part_added(
        self, index: int, event: Mapping[str, Any], family: _PartFamily, item: _Item
    ) -> None:
        part_payload = as_map(event.get("part")) or {}
        part_type = as_str(part_payload.get("type"))
        allowed_parts = family.owners.get(item.item_type or "", ())
        if part_type not in allowed_parts:
            self.report(
                "event-item-type",
                index,
                f"{self.name(index)} adds a {part_type!r} part to {item.label}; allowed "
                f"part types there: {', '.join(allowed_parts)}.",
                key=(id(item), "part-type"),
            )
        expected = item.next_part_index.get(family.name, 0)
        part_index = as_int(event.get(family.index_field))
        if part_index != expected:
            self.report(
                "part-index-order",
                index,
                f"{self.name(index)} has {family.index_field}="
                f"{event.get(family.index_field)!r}; expected {expected} in {item.label}.",
                key=(id(item), family.name),
            )
        if part_index is None:
            part_index = expected
        parts = item.family_parts(family)
        parts[part_index] = _Part(family, part_index, part_type, index, ordinal=len(parts))
        item.next_part_index[family.name] = max(expected, part_index + 1)
        if part_type == "output_text":
            self.text_deltas.setdefault((item.output_index, part_index), [])

    def on_part_done(
        self, index: int, event: Mapping[str, Any], family: _PartFamily, item: _Item
    ) -> None:
        part = self.open_part(index, event, family, item)
        if part is None:
            return
        kind = self.text_kind_of(part)
        if kind is not None and part.text_done_count == 0:
            self.report(
                "part-text-done-once",
                index,
                f"{self.name(index)} closes {family.name} {part.index} of {item.label} "
                f"without a `{kind.done_type}` event.",
                key=(id(part), "missing"),
            )
        final = _part_text(as_map(event.get("part")), part.part_type)
        if not part.accepts(final):
            self.report(
                "part-done-matches-text",
                index,
                f"{self.name(index)}: part text is {clip(repr(final), 40)}, but the "
                f"stream produced {clip(repr(part.text), 40)}{divergence(final, part.text)}.",
            )
        part.done_at = index

    def open_part(
        self, index: int, event: Mapping[str, Any], family: _PartFamily, item: _Item
    ) -> _Part | None:
        part_index = as_int(event.get(family.index_field))
        part = item.family_parts(family).get(part_index) if part_index is not None else None
        if part is not None and part.done_at is None:
            return part
        where = "after it was closed" if part is not None else "before it was added"
        self.report(
            "part-event-outside-part",
            index,
            f"{self.name(index)} targets {family.name} {event.get(family.index_field)!r} "
            f"of {item.label} {where}.",
            key=(id(item), family.name, part_index),
        )
        return None

    @staticmethod
    def text_kind_of(part: _Part) -> _TextKind | None:
        for kind in TEXT_KINDS:
            if kind.part_type == part.part_type and kind.family is part.family:
                return kind
        return None

    def text_part_for(
        self, index: int, event: Mapping[str, Any], kind: _TextKind
    ) -> tuple[_Item, _Part] | None:
        owners = tuple(t for t, parts in kind.family.owners.items() if kind.part_type in parts)
        item = self.resolve_item(index, event, owners)
        if item is None:
            return None
        part = self.open_part(index, event, kind.family, item)
        if part is None:
            return None
        if part.part_type != kind.part_type:
            # Reported, but the text is still kept: the content arrived, only mislabelled.
            self.report(
                "delta-matches-part-type",
                index,
                f"{self.name(index)} streams {kind.part_type} into {kind.family.name} "
                f"{part.index} of {item.label}, which is a {part.part_type!r} part.",
                key=id(part),
            )
        return item, part

    def on_text_delta(self, index: int, event: Mapping[str, Any], kind: _TextKind) -> None:
        delta = as_str(event.get("delta")) or ""
        self.record_output_text(event, kind, delta)
        found = self.text_part_for(index, event, kind)
        if found is None:
            return
        item, part = found
        if part.text_done_count:
            self.report(
                "part-text-done-once",
                index,
                f"{self.name(index)} is a delta after `{kind.done_type}` already closed "
                f"the text of {kind.family.name} {part.index} of {item.label}.",
                key=(id(part), "late-delta"),
            )
        part.deltas.append(delta)

    def record_output_text(self, event: Mapping[str, Any], kind: _TextKind, delta: str) -> None:
        # The summary reflects what a lenient client would show, whatever the violations.
        output_index = as_int(event.get("output_index"))
        content_index = as_int(event.get("content_index"))
        if kind.part_type != "output_text" or output_index is None or content_index is None:
            return
        self.text_deltas.setdefault((output_index, content_index), []).append(delta)

    def on_text_done(self, index: int, event: Mapping[str, Any], kind: _TextKind) -> None:
        found = self.text_part_for(index, event, kind)
        if found is None:
            return
        item, part = found
        part.text_done_count += 1
        if part.text_done_count > 1:
            self.report(
                "part-text-done-once",
                index,
                f"{self.name(index)} is a second `{kind.done_type}` for "
                f"{kind.family.name} {part.index} of {item.label}.",
                key=(id(part), "repeat"),
            )
            return
        value = as_str(event.get(kind.done_field))
        deltas = "".join(part.deltas)
        if value != deltas:
            self.report(
                "part-text-matches-deltas",
                index,
                f"{self.name(index)} has {kind.done_field}={clip(repr(value), 40)}, but "
                f"the deltas concatenate to {clip(repr(deltas), 40)}{divergence(value, deltas)}.",
            )
        part.text_done_value = value if value is not None else deltas

    def on_annotation(self, index: int, event: Mapping[str, Any]) -> None:
        item = self.resolve_item(index, event, ("message",))
        if item is None:
            return
        content_index = as_int(event.get("content_index"))
        part = item.family_parts(CONTENT).get(content_index) if content_index is not None else None
        if part is None or part.done_at is not None or part.part_type != "output_text":
            self.report(
                "annotation-in-text-part",
                index,
                f"{self.name(index)} annotates content part {event.get('content_index')!r} "
                f"of {item.label}, which is not an open output_text part.",
                key=(id(item), content_index),
            )

    # -- argument streams -------------------------------------------------------------------------

    def on_arg_delta(self, index: int, event: Mapping[str, Any], stream: _ArgStream) -> None:
        item = self.resolve_item(index, event, (stream.item_type,))
        if item is None:
            return
        item.arg_events_seen = True
        if item.arg_done_count:
            self.report(
                "arguments-stream-sequence",
                index,
                f"{self.name(index)} is a delta after `{stream.done_type}` for {item.label}.",
                key=(id(item), "late-delta"),
            )
        item.arg_deltas.append(as_str(event.get("delta")) or "")

    def on_arg_done(self, index: int, event: Mapping[str, Any], stream: _ArgStream) -> None:
        item = self.resolve_item(index, event, (stream.item_type,))
        if item is None:
            return
        item.arg_events_seen = True
        item.arg_done_count += 1
        if item.arg_done_count > 1:
            self.report(
                "arguments-stream-sequence",
                index,
                f"{self.name(index)} is a second `{stream.done_type}` for {item.label}.",
                key=(id(item), "repeat"),
            )
            return
        value = as_str(event.get(stream.field))
        deltas = "".join(item.arg_deltas)
        if value != deltas:
            self.report(
                "arguments-match-deltas",
                index,
                f"{self.name(index)} has {stream.field}={clip(repr(value), 40)}, but the "
                f"deltas concatenate to {clip(repr(deltas), 40)}{divergence(value, deltas)}.",
            )
        item.arg_done_value = value if value is not None else deltas
        if stream.item_type == "function_call":
            self.check_function_name(index, event, item)

    def check_function_name(self, index: int, event: Mapping[str, Any], item: _Item) -> None:
        name = as_str(event.get("name"))
        if not name:
            self.report(
                "function-args-done-name", index, f"{self.name(index)} carries no function `name`."
            )
        elif item.name is not None and name != item.name:
            self.report(
                "function-args-done-name",
                index,
                f"{self.name(index)} names {name!r}, but {item.label} was added with "
                f"name {item.name!r}.",
            )


def _item_texts(item: Mapping[str, Any]) -> tuple[Any, ...]:
    """The user-visible payload of an item, for comparing streamed and final output."""
    item_type = item.get("type")
    if item_type == "message":
        return tuple(_part_text(as_map(c), None) for c in as_list(item.get("content")))
    if item_type == "reasoning":
        summary = tuple(_part_text(as_map(s), None) for s in as_list(item.get("summary")))
        content = tuple(_part_text(as_map(c), None) for c in as_list(item.get("content")))
        return summary + content
    stream = ARG_BY_ITEM_TYPE.get(as_str(item_type) or "")
    if stream is not None:
        return (item.get("name"), item.get(stream.field))
    return ()


def _item_difference(streamed: Mapping[str, Any], final: Mapping[str, Any]) -> str:
    for key in ("id", "type"):
        if streamed.get(key) != final.get(key):
            return f"{key} {final.get(key)!r} vs streamed {streamed.get(key)!r}"
    if _item_texts(streamed) != _item_texts(final):
        return (
            f"text {clip(repr(_item_texts(final)), 50)} vs streamed "
            f"{clip(repr(_item_texts(streamed)), 50)}"
        )
    return ""


def validate_event_order(
    events: Sequence[Mapping[str, Any]], sse_names: Sequence[str | None] | None = None
) -> tuple[list[Violation], StreamSummary]:
    """Check one Responses stream; return all violations (by position) and a summary."""
    return _Engine(events, sse_names).run()
