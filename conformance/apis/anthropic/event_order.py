"""Messages-API streaming event-order engine, on the shared core in `conformance.event_rules`.

It takes the payloads of one `POST /v1/messages` stream in arrival order (the raw data string
where an event is not JSON, a `[DONE]` included: this API has none, and that is judged here) and
their SSE `event:` names, reports every ordering or consistency violation, and assembles the
Message a client would hold at the end, for comparison with the non-streamed answer.

Sources: `../shared/reference/anthropic/streaming.md` (grammar, index rules, usage placement),
the stream accumulator and SSE dispatch of the official anthropic Python SDK (what breaks a
client), and `openapi/messages.yaml`, which supplies the event types and the stop reasons.

Judgement calls (the sources leave these open):
* `ping` is allowed anywhere, before `message_start` and after the end included: the SDKs skip
  it before any ordering logic runs, and the reference says "any number, anywhere". Event types
  the API does not define are treated the same way (the SDKs skip them too); they are counted
  in the summary, never reported.
* An `error` event may be the first event (a failure before any output) and needs no
  `message_delta` or `message_stop` after it.
* `no-done-sentinel` is SHOULD: the official SDKs skip the unnamed `[DONE]` frame, only strict
  parsers fail on it.
* `message-start-input-tokens` is MUST although the schema allows 0: a non-empty prompt has a
  count, and 0 there is the known gateway bug that bills and budgets wrongly. It is 0 only
  when the cache counts hold the whole prompt.
* `thinking-signature` is MUST: a thinking block without its signature cannot be sent back in
  the next turn of a tool loop, and the SDK keeps only the last `signature_delta`.
* A misnumbered block index is reported once per stream: one numbering bug shifts every block.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from conformance import schemas
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
    non_object_line,
    type_label,
)
from conformance.stream_contract import stream_contract
from conformance.streams import DONE

DOCUMENT = "messages.yaml"
PATH = "/messages"

RULES: dict[str, tuple[str, str]] = {
    # transport and payloads
    "sse-event-name-present": (
        MUST,
        "Every SSE frame carries an `event:` line (the official SDKs drop a frame without one).",
    ),
    "sse-event-name-matches-type": (
        MUST,
        "The SSE `event:` name equals the JSON `type` (the official SDKs dispatch on the name).",
    ),
    "event-type-present": (MUST, "Every `data:` payload is a JSON object with a string `type`."),
    "no-done-sentinel": (
        SHOULD,
        (
            "No `data: [DONE]` frame is sent: a Messages stream ends when the connection closes "
            "after `message_stop`."
        ),
    ),
    # the message
    "message-start-first": (
        MUST,
        "The stream opens with `message_start` (pings aside), and sends it once.",
    ),
    "message-start-shape": (
        MUST,
        (
            "`message_start.message` is an assistant message with empty `content` and null "
            "`stop_reason` and `stop_sequence`."
        ),
    ),
    "message-start-input-tokens": (
        MUST,
        (
            "`message_start.message.usage.input_tokens` is the real prompt count: an integer, "
            "not 0 unless the cache counts hold the prompt."
        ),
    ),
    # content blocks
    "block-index-order": (
        MUST,
        "`content_block_start` opens blocks at `index` 0, 1, 2, ... in the order they open.",
    ),
    "block-closed-in-turn": (
        MUST,
        (
            "Each block is closed by `content_block_stop` before the next block opens and before "
            "`message_delta`: blocks never interleave."
        ),
    ),
    "block-event-outside-block": (
        MUST,
        (
            "`content_block_delta` and `content_block_stop` only target a block that is open "
            "(started and not yet stopped)."
        ),
    ),
    "delta-matches-block": (
        MUST,
        (
            "A delta matches its block: `text_delta` and `citations_delta` a text block, "
            "`input_json_delta` a tool_use or server_tool_use block, `thinking_delta` and "
            "`signature_delta` a thinking block."
        ),
    ),
    "tool-input-json": (
        MUST,
        "The `input_json_delta` fragments of a tool block concatenate to a JSON object.",
    ),
    "thinking-signature": (
        MUST,
        (
            "A thinking block gets its whole signature in one non-empty `signature_delta`, after "
            "its thinking and before its `content_block_stop`."
        ),
    ),
    # the end of the message
    "message-delta-once": (
        MUST,
        "Exactly one `message_delta` comes, after the last block and before `message_stop`.",
    ),
    "stop-reason-valid": (
        MUST,
        "`message_delta.delta.stop_reason` is one of the documented stop reasons.",
    ),
    "output-tokens-cumulative": (
        MUST,
        (
            "`message_delta.usage.output_tokens` is the integer count for the whole message, "
            "never smaller than an earlier count: it replaces that count, it is not added to it."
        ),
    ),
    "message-stop-last": (
        MUST,
        "A stream that does not fail with an `error` event ends with `message_stop`.",
    ),
    "nothing-after-message-stop": (
        MUST,
        "No event follows `message_stop` (pings aside), a second `message_stop` included.",
    ),
    "error-ends-stream": (
        MUST,
        "No event follows an `error` event (pings aside): the stream ends there.",
    ),
}

MESSAGE_START = "message_start"
BLOCK_START = "content_block_start"
BLOCK_DELTA = "content_block_delta"
BLOCK_STOP = "content_block_stop"
MESSAGE_DELTA = "message_delta"
MESSAGE_STOP = "message_stop"
PING = "ping"
ERROR = "error"

CACHE_COUNTS = ("cache_creation_input_tokens", "cache_read_input_tokens")
# The usage fields the SDK copies from `message_delta` onto the message when they are not null.
DELTA_USAGE = ("input_tokens", *CACHE_COUNTS, "server_tool_use")
TOOL_BLOCKS = ("tool_use", "server_tool_use")

CONCAT, APPEND, ASSIGN = "concat", "append", "assign"


@dataclass(frozen=True)
class _DeltaKind:
    """One delta type: the field it carries, the block field it builds and how."""

    field: str
    target: str
    blocks: tuple[str, ...]  # the block types it may go into
    how: str  # CONCAT strings, APPEND to a list, or ASSIGN (last one wins, as in the SDK)


DELTA_KINDS = {
    "text_delta": _DeltaKind("text", "text", ("text",), CONCAT),
    "citations_delta": _DeltaKind("citation", "citations", ("text",), APPEND),
    "input_json_delta": _DeltaKind("partial_json", "input", TOOL_BLOCKS, CONCAT),
    "thinking_delta": _DeltaKind("thinking", "thinking", ("thinking",), CONCAT),
    "signature_delta": _DeltaKind("signature", "signature", ("thinking",), ASSIGN),
}


@dataclass(frozen=True)
class Vocabulary:
    """What `openapi/messages.yaml` defines for the stream: its event types and stop reasons."""

    event_types: frozenset[str]
    stop_reasons: tuple[str, ...]


@cache
def vocabulary() -> Vocabulary:
    components = schemas.document(DOCUMENT)["components"]["schemas"]
    return Vocabulary(
        event_types=frozenset(stream_contract(DOCUMENT, PATH).by_type),
        stop_reasons=tuple(components["StopReason"]["enum"]),
    )


@dataclass(frozen=True)
class StreamedMessage:
    """What a client holds at the end of the stream."""

    message: dict[str, Any] | None  # the assembled Message; None when no message_start came
    end: str | None  # `message_stop`, `error`, or None: the stream was cut
    error: dict[str, Any] | None  # the `error` object of an error event
    unknown_types: dict[str, int]  # event types the API does not define, with their counts


# ---------------------------------------------------------------------------------------------
# Context lines
# ---------------------------------------------------------------------------------------------


def describe_event(index: int, event: Any) -> str:
    """One-line summary of an event, for violation context and reports."""
    payload = as_map(event)
    if payload is None:
        return non_object_line(index, event)
    words = [f"#{index}", type_label(payload)]
    if "index" in payload:
        words.append(f"index={payload.get('index')}")
    for key in ("message", "content_block", "delta", "usage", "error"):
        words.extend(_describe_fields(as_map(payload.get(key))))
    return " ".join(words)


def _describe_fields(part: Mapping[str, Any] | None) -> list[str]:
    if part is None:
        return []
    words = [f"{key}={part[key]}" for key in ("type", "role", "name", "stop_reason", "input_tokens",
                                              "output_tokens") if key in part]
    for key in ("text", "thinking", "partial_json", "signature", "message"):
        value = part.get(key)
        if isinstance(value, str):
            words.append(f"{key}={clip(value)!r}")
    return words


# ---------------------------------------------------------------------------------------------
# Engine state
# ---------------------------------------------------------------------------------------------

_NOT_JSON = object()


@dataclass
class _Block:
    index: int
    payload: dict[str, Any]  # `content_block` of content_block_start; ASSIGN deltas land here
    started_at: int
    stopped_at: int | None = None
    pieces: dict[_DeltaKind, list[Any]] = field(default_factory=dict)  # CONCAT / APPEND deltas
    signatures: int = 0

    @property
    def block_type(self) -> str | None:
        return as_str(self.payload.get("type"))

    @property
    def label(self) -> str:
        return f"block {self.index} ({self.block_type or 'untyped'})"

    def add(self, kind: _DeltaKind, delta: Mapping[str, Any]) -> None:
        value = delta.get(kind.field)
        if kind.how == ASSIGN:
            self.payload[kind.target] = value
        else:
            self.pieces.setdefault(kind, []).append(
                (as_str(value) or "") if kind.how == CONCAT else value
            )

    def tool_input(self) -> Any:
        """The input a client parses from the fragments (`_NOT_JSON` when they are not JSON)."""
        text = "".join(self.pieces.get(DELTA_KINDS["input_json_delta"], ()))
        if not text:  # no fragments: the input content_block_start carried stands, as in the SDK
            return self.payload.get("input", {})
        try:
            return json.loads(text)
        except ValueError:
            return _NOT_JSON

    def assembled(self) -> dict[str, Any]:
        block = dict(self.payload)
        for kind, pieces in self.pieces.items():
            if kind.how == APPEND:
                block[kind.target] = as_list(block.get(kind.target)) + pieces
            elif kind.target == "input":  # the one field streamed as JSON text
                parsed = self.tool_input()
                block["input"] = block.get("input") if parsed is _NOT_JSON else parsed
            else:
                block[kind.target] = (as_str(block.get(kind.target)) or "") + "".join(pieces)
        return block


class _Engine(EventValidator[StreamedMessage]):
    rules = RULES
    describe = staticmethod(describe_event)

    def __init__(self, events: Sequence[Any], sse_names: Sequence[str | None] | None) -> None:
        super().__init__(events, sse_names)
        self.vocabulary = vocabulary()
        self.message: dict[str, Any] | None = None  # message_start's message, then its updates
        self.start_at: int | None = None
        self.blocks: list[_Block] = []
        self.by_index: dict[int, _Block] = {}
        self.open_blocks: list[_Block] = []
        self.delta_at: int | None = None
        self.output_tokens: tuple[int, int] | None = None  # (count, event that reported it)
        self.end_at: int | None = None
        self.end_type: str | None = None
        self.error: dict[str, Any] | None = None
        self.unknown: Counter[str] = Counter()

    # -- the pass ---------------------------------------------------------------------------------

    def dispatch(self, index: int, event: Mapping[str, Any], event_type: str) -> None:
        if self.passes_over(event_type):
            return
        if self.end_at is not None:
            self.report_after_end(index)
        elif event_type == ERROR:
            self.on_end(index, event_type)
            self.error = dict(as_map(event.get("error")) or {})
        elif event_type == MESSAGE_START:
            self.on_message_start(index, event)
        else:
            self.check_started(index)
            self.on_message_event(index, event, event_type)

    def passes_over(self, event_type: str) -> bool:
        """Pings and types the API does not define take no part in the order: the SDKs skip
        them, whatever comes around them. The unknown ones are counted for the summary."""
        if event_type not in self.vocabulary.event_types:
            self.unknown[event_type] += 1
            return True
        return event_type == PING

    def on_message_event(self, index: int, event: Mapping[str, Any], event_type: str) -> None:
        if event_type == BLOCK_START:
            self.on_block_start(index, event)
        elif event_type == BLOCK_DELTA:
            self.on_block_delta(index, event)
        elif event_type == BLOCK_STOP:
            self.on_block_stop(index, event)
        elif event_type == MESSAGE_DELTA:
            self.on_message_delta(index, event)
        elif event_type == MESSAGE_STOP:
            self.on_message_stop(index)

    def on_untyped(self, index: int, event: Any) -> None:
        if isinstance(event, str) and event.strip() == DONE:
            self.report(
                "no-done-sentinel",
                index,
                f"Event #{index} is `data: {DONE}`, an OpenAI terminator; a Messages stream "
                "ends when the connection closes after `message_stop`.",
                key="done",
            )
        else:
            super().on_untyped(index, event)

    def finish(self) -> None:
        end = len(self.events)
        if self.start_at is None and self.end_type != ERROR:
            # Reported once: a stream with other events already named the first of them.
            self.report("message-start-first", end, "The stream has no `message_start`.",
                        key="first")
        if self.end_at is None:
            self.report(
                "message-stop-last",
                end,
                "The stream ended without `message_stop` (and no `error` event): a client "
                "waits for the rest of the message.",
            )
        super().finish()

    def summary(self) -> StreamedMessage:
        return StreamedMessage(
            message=self.assembled_message(),
            end=self.end_type,
            error=self.error,
            unknown_types=dict(self.unknown),
        )

    def assembled_message(self) -> dict[str, Any] | None:
        if self.message is None:
            return None
        content = as_list(self.message.get("content")) + [b.assembled() for b in self.blocks]
        return self.message | {"content": content}

    # -- the message ------------------------------------------------------------------------------

    def check_started(self, index: int) -> None:
        if self.start_at is None:
            self.report(
                "message-start-first",
                index,
                f"{self.name(index)} comes before any `message_start`; the SDK's stream "
                "helper fails on it.",
                key="first",
            )

    def on_message_start(self, index: int, event: Mapping[str, Any]) -> None:
        if self.start_at is not None:
            self.report(
                "message-start-first",
                index,
                f"{self.name(index)} is a second `message_start` (the first was "
                f"{self.name(self.start_at)}).",
                key="repeat",
            )
            return
        self.start_at = index
        message = as_map(event.get("message")) or {}
        self.message = copy.deepcopy(dict(message))  # the client's own copy, to update
        self.check_start_shape(index, message)
        self.check_input_tokens(index, as_map(message.get("usage")) or {})
        tokens = as_int((as_map(message.get("usage")) or {}).get("output_tokens"))
        if tokens is not None:
            self.output_tokens = (tokens, index)

    def check_start_shape(self, index: int, message: Mapping[str, Any]) -> None:
        problems = []
        if message.get("role") != "assistant":
            problems.append(f"role={message.get('role')!r}")
        if message.get("content") != []:
            problems.append(f"content={clip(repr(message.get('content')), 40)}")
        for key in ("stop_reason", "stop_sequence"):
            if message.get(key) is not None:
                problems.append(f"{key}={message.get(key)!r}")
        if problems:
            self.report(
                "message-start-shape",
                index,
                f"{self.name(index)} has message {', '.join(problems)}; expected an assistant "
                "message with no content yet and null stop_reason and stop_sequence.",
            )

    def check_input_tokens(self, index: int, usage: Mapping[str, Any]) -> None:
        tokens = as_int(usage.get("input_tokens"))
        cached = sum(as_int(usage.get(key)) or 0 for key in CACHE_COUNTS)
        if tokens is not None and (tokens > 0 or (tokens == 0 and cached > 0)):
            return
        self.report(
            "message-start-input-tokens",
            index,
            f"{self.name(index)} has usage.input_tokens={usage.get('input_tokens')!r} (cache "
            f"counts {cached}); the real prompt count belongs in `message_start`, not only in "
            "`message_delta`.",
        )

    def on_message_delta(self, index: int, event: Mapping[str, Any]) -> None:
        if self.delta_at is not None:
            self.report(
                "message-delta-once",
                index,
                f"{self.name(index)} is a second `message_delta` (the first was "
                f"{self.name(self.delta_at)}).",
                key="repeat",
            )
        self.delta_at = index
        self.report_open_blocks(index)
        delta = as_map(event.get("delta")) or {}
        usage = as_map(event.get("usage")) or {}
        self.check_stop_reason(index, delta)
        self.check_output_tokens(index, usage)
        self.apply_message_delta(delta, usage)

    def check_stop_reason(self, index: int, delta: Mapping[str, Any]) -> None:
        reason = delta.get("stop_reason")
        if reason not in self.vocabulary.stop_reasons:
            self.report(
                "stop-reason-valid",
                index,
                f"{self.name(index)} has delta.stop_reason={reason!r}; expected one of "
                f"{', '.join(self.vocabulary.stop_reasons)}.",
            )

    def check_output_tokens(self, index: int, usage: Mapping[str, Any]) -> None:
        tokens = as_int(usage.get("output_tokens"))
        if tokens is None:
            self.report(
                "output-tokens-cumulative",
                index,
                f"{self.name(index)} has usage.output_tokens={usage.get('output_tokens')!r}; "
                "expected the integer count for the whole message.",
            )
            return
        if self.output_tokens is not None and tokens < self.output_tokens[0]:
            earlier, at = self.output_tokens
            self.report(
                "output-tokens-cumulative",
                index,
                f"{self.name(index)} has usage.output_tokens={tokens}, fewer than the {earlier} "
                f"of {self.name(at)}: the count is the running total, which replaces the "
                "earlier one.",
            )
        self.output_tokens = (tokens, index)

    def apply_message_delta(self, delta: Mapping[str, Any], usage: Mapping[str, Any]) -> None:
        """Update the message as the SDK's accumulator does: replace, never add."""
        if self.message is None:
            return
        self.message["stop_reason"] = delta.get("stop_reason")
        self.message["stop_sequence"] = delta.get("stop_sequence")
        if delta.get("stop_details") is not None:
            self.message["stop_details"] = delta.get("stop_details")
        totals = self.message.get("usage")
        totals = self.message["usage"] = dict(totals) if isinstance(totals, dict) else {}
        totals["output_tokens"] = usage.get("output_tokens")
        totals.update({k: usage[k] for k in DELTA_USAGE if usage.get(k) is not None})

    def on_message_stop(self, index: int) -> None:
        self.on_end(index, MESSAGE_STOP)
        if self.delta_at is None:
            self.report(
                "message-delta-once",
                index,
                f"{self.name(index)} ends the message without a `message_delta`, so the client "
                "has no stop_reason and no final usage.",
                key="missing",
            )
        self.report_open_blocks(index)

    def on_end(self, index: int, event_type: str) -> None:
        self.end_at, self.end_type = index, event_type

    def report_after_end(self, index: int) -> None:
        ended_by_error = self.end_type == ERROR
        self.report(
            "error-ends-stream" if ended_by_error else "nothing-after-message-stop",
            index,
            f"{self.name(index)} follows {self.name(self.end_at or 0)}, which ends the stream.",
            key="after-end",
        )

    # -- content blocks ---------------------------------------------------------------------------

    def on_block_start(self, index: int, event: Mapping[str, Any]) -> None:
        if self.delta_at is not None:
            self.report(
                "message-delta-once",
                index,
                f"{self.name(index)} opens a block after {self.name(self.delta_at)}; "
                "`message_delta` comes after the last block.",
                key="block-after-delta",
            )
        self.report_open_blocks(index)
        expected = len(self.blocks)
        claimed = as_int(event.get("index"))
        if claimed != expected:
            self.report(
                "block-index-order",
                index,
                f"{self.name(index)} has index={event.get('index')!r}; expected {expected} "
                "(blocks count up from 0 in the order they open, and the SDK finds a block "
                "at content[index]).",
                key="order",
            )
        payload = dict(as_map(event.get("content_block")) or {})
        block = _Block(expected if claimed is None else claimed, payload, index)
        self.blocks.append(block)
        self.by_index[block.index] = block
        self.open_blocks.append(block)

    def report_open_blocks(self, index: int) -> None:
        for block in self.open_blocks:
            self.report(
                "block-closed-in-turn",
                index,
                f"{self.name(index)} comes while {block.label}, opened at "
                f"{self.name(block.started_at)}, has had no `content_block_stop`.",
                key=id(block),
            )

    def open_block(self, index: int, event: Mapping[str, Any]) -> _Block | None:
        """The open block a delta or stop targets, or None after reporting why there is none."""
        claimed = as_int(event.get("index"))
        block = self.by_index.get(claimed) if claimed is not None else None
        if block is not None and block.stopped_at is None:
            return block
        where = "after its content_block_stop" if block else "that no content_block_start opened"
        self.report(
            "block-event-outside-block",
            index,
            f"{self.name(index)} targets block {event.get('index')!r} {where}.",
            key=repr(event.get("index")),
        )
        return None

    def on_block_delta(self, index: int, event: Mapping[str, Any]) -> None:
        block = self.open_block(index, event)
        if block is None:
            return
        delta = as_map(event.get("delta")) or {}
        kind = DELTA_KINDS.get(as_str(delta.get("type")) or "")
        if kind is None or block.block_type not in kind.blocks:
            # The SDK drops such a delta, so the block keeps what it had.
            self.report(
                "delta-matches-block",
                index,
                f"{self.name(index)} sends a {delta.get('type')!r} delta into {block.label}.",
                key=id(block),
            )
            return
        if block.block_type == "thinking":
            self.check_signature_order(index, block, kind)
        block.add(kind, delta)

    def check_signature_order(self, index: int, block: _Block, kind: _DeltaKind) -> None:
        if kind.how != ASSIGN:
            if block.signatures:
                self.report(
                    "thinking-signature",
                    index,
                    f"{self.name(index)} streams thinking into {block.label} after its "
                    "signature_delta; the signature comes last.",
                    key=(id(block), "late"),
                )
            return
        block.signatures += 1
        if block.signatures > 1:
            self.report(
                "thinking-signature",
                index,
                f"{self.name(index)} is a second signature_delta for {block.label}; the SDK "
                "keeps only the last one, so a signature split over deltas is lost.",
                key=(id(block), "split"),
            )

    def on_block_stop(self, index: int, event: Mapping[str, Any]) -> None:
        block = self.open_block(index, event)
        if block is None:
            return
        block.stopped_at = index
        self.open_blocks.remove(block)
        if block.block_type in TOOL_BLOCKS:
            self.check_tool_input(index, block)
        elif block.block_type == "thinking" and not (block.signatures and
                                                     as_str(block.payload.get("signature"))):
            self.report(
                "thinking-signature",
                index,
                f"{self.name(index)} closes {block.label} without a non-empty signature_delta "
                f"(signature={clip(repr(block.payload.get('signature')), 30)}).",
                key=(id(block), "missing"),
            )

    def check_tool_input(self, index: int, block: _Block) -> None:
        value = block.tool_input()
        if isinstance(value, dict):
            return
        text = "".join(block.pieces.get(DELTA_KINDS["input_json_delta"], ()))
        found = "not JSON" if value is _NOT_JSON else f"a JSON {type(value).__name__}"
        self.report(
            "tool-input-json",
            index,
            f"{self.name(index)} closes {block.label} whose input_json_delta fragments "
            f"concatenate to {clip(repr(text), 60)}: {found}, where the input is an object.",
        )


def validate_message_stream(
    payloads: Sequence[Any], sse_names: Sequence[str | None] | None = None
) -> tuple[list[Violation], StreamedMessage]:
    """Check one Messages stream; return all violations (by position) and what a client holds."""
    return _Engine(payloads, sse_names).run()
