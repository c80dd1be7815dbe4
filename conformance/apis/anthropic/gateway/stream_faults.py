"""Rewrites of the clean Messages event list, one per stream fault (``faults.MESSAGES_FAULTS``
names the checks each one trips).

Each rewrites the events the way a broken gateway or translation layer does, before they are
framed. Events share objects with the stored message, so a rewrite replaces what it changes and
never edits it in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .faults import (
    BLOCK_DELTA_BEFORE_START,
    DELTA_INPUT_SUMMED,
    MESSAGE_DELTA_TWICE,
    NO_MESSAGE_STOP,
    OUTPUT_INCREMENT,
    OUTPUT_LAST_DELTA,
    OUTPUT_PLUS_START,
    SIGNATURE_MISSING,
    START_INPUT_ONE,
    START_INPUT_ZERO,
    START_NOT_FIRST,
    STOP_REASON_MAX_TOKENS,
    STOP_REASON_OPENAI,
    TEXT_DELTA_CAMEL_CASE,
    THINKING_IN_TEXT_BLOCK,
)

Events = list[dict[str, Any]]
Rewrite = Callable[[Events], Events]


def _edit(event_type: str, change: Callable[[dict], dict]) -> Rewrite:
    return lambda events: [change(e) if e["type"] == event_type else e for e in events]


def _start_usage(change: Callable[[dict], dict]) -> Rewrite:
    """message_start's usage rewritten."""
    def apply(events: Events) -> Events:
        start = events[0]["message"]
        return _edit("message_start", lambda e: {**e, "message": {
            **start, "usage": change(start["usage"])}})(events)
    return apply


def _delta_usage(change: Callable[[dict, dict], dict]) -> Rewrite:
    """message_delta's usage rewritten from itself and message_start's usage."""
    def apply(events: Events) -> Events:
        start = events[0]["message"]["usage"]
        return _edit("message_delta", lambda e: {**e, "usage": change(e["usage"], start)})(events)
    return apply


def _input_tokens_late(count: int) -> Rewrite:
    """message_start counts `count` input tokens; message_delta brings the real count (row 6)."""
    def apply(events: Events) -> Events:
        real = events[0]["message"]["usage"]["input_tokens"]
        events = _start_usage(lambda usage: {**usage, "input_tokens": count})(events)
        return _delta_usage(lambda usage, _: {**usage, "input_tokens": real})(events)
    return apply


def _output_up_front(events: Events) -> Events:
    """message_start counts the whole output (a relay that buffered the upstream answer), and
    message_delta the increment since: none."""
    total = next(e for e in events if e["type"] == "message_delta")["usage"]["output_tokens"]
    events = _start_usage(lambda usage: {**usage, "output_tokens": total})(events)
    return _delta_usage(lambda usage, _: {**usage, "output_tokens": 0})(events)


def _thinking_as_text(event: dict) -> dict:
    """A thinking block opened as a text block (its deltas stay thinking deltas)."""
    if event["content_block"]["type"] != "thinking":
        return event
    return {**event, "content_block": {"type": "text", "text": ""}}


def _delta_first(events: Events) -> Events:
    """The first block's first delta arrives before its content_block_start."""
    start = next(n for n, e in enumerate(events) if e["type"] == "content_block_start")
    delta = next(n for n, e in enumerate(events) if e["type"] == "content_block_delta")
    moved = [e for n, e in enumerate(events) if n != delta]
    return [*moved[:start], events[delta], *moved[start:]]


def _start_after_ping(events: Events) -> Events:
    """A block opens before message_start: the start arrives second."""
    start, *rest = events
    return [*rest[:1], start, *rest[1:]] if rest else events


def _delta_twice(events: Events) -> Events:
    """message_delta sent twice, the second one repeating the first (a relay's echo)."""
    delta = next(e for e in events if e["type"] == "message_delta")
    return [new for e in events for new in ([e, dict(delta)] if e is delta else [e])]


def _camel_case_text(event: dict) -> dict:
    delta = event["delta"]
    if delta.get("type") != "text_delta":
        return event
    return {**event, "delta": {"type": "text_delta", "Text": delta["text"]}}


REWRITES: dict[str, Rewrite] = {
    NO_MESSAGE_STOP: lambda events: [e for e in events if e["type"] != "message_stop"],
    START_INPUT_ZERO: _input_tokens_late(0),
    BLOCK_DELTA_BEFORE_START: _delta_first,
    START_NOT_FIRST: _start_after_ping,
    MESSAGE_DELTA_TWICE: _delta_twice,
    STOP_REASON_OPENAI: _edit("message_delta", lambda e: {**e, "delta": {
        **e["delta"], "stop_reason": {"end_turn": "stop", "max_tokens": "length",
                                      "tool_use": "tool_calls"}.get(e["delta"]["stop_reason"],
                                                                    "stop")}}),
    STOP_REASON_MAX_TOKENS: _edit("message_delta", lambda e: {**e, "delta": {
        **e["delta"], "stop_reason": "max_tokens", "stop_sequence": None}}),
    TEXT_DELTA_CAMEL_CASE: _edit("content_block_delta", _camel_case_text),
    START_INPUT_ONE: _input_tokens_late(1),
    OUTPUT_LAST_DELTA: _delta_usage(lambda usage, _: {**usage, "output_tokens": 1}),
    OUTPUT_INCREMENT: _output_up_front,
    DELTA_INPUT_SUMMED: _delta_usage(lambda usage, start: {
        **usage, "input_tokens": start["input_tokens"] * 2}),
    OUTPUT_PLUS_START: _delta_usage(lambda usage, start: {
        **usage, "output_tokens": usage["output_tokens"] + start["output_tokens"]}),
    SIGNATURE_MISSING: lambda events: [e for e in events if e["type"] != "content_block_delta"
                                       or e["delta"]["type"] != "signature_delta"],
    THINKING_IN_TEXT_BLOCK: _edit("content_block_start", _thinking_as_text),
}


def rewrite(events: Events, fault: str | None) -> Events:
    """The events as the fault sends them (unchanged for any other fault)."""
    return REWRITES[fault](events) if fault in REWRITES else events
