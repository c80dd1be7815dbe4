"""Faults of the message itself: its stop reason, ids, content and tool calls
(``faults.MESSAGES_FAULTS`` names the checks each one trips).

Two hooks of ``messages.create_message``: ``faulty_plan`` bends the planned answer before it is
rendered, so a fault that breaks the stream and the unstreamed answer alike stays coherent
(text, deltas and usage agree); ``faulty_body`` rewrites the unstreamed ``message`` the way a
translating relay does. Both replace what they change and never edit the plan in place.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from conformance import tokens

from .errors import invalid_request
from .faults import (
    CACHE_IN_INPUT,
    CONTENT_EMPTY,
    CUT_AS_END_TURN,
    CUT_TEXT_EMPTY,
    HIDDEN_PROMPT_BILLED,
    HIDDEN_PROMPT_TOKENS,
    ID_WITHOUT_PREFIX,
    OUTPUT_ZERO,
    ROLE_MODEL,
    SERVICE_TIER_OPENAI,
    STOP_AS_END_TURN,
    STOP_LEAKED,
    STREAM_CUT_AS_END_TURN,
    STREAM_TOOL_ID_OPENAI,
    STREAM_TOOL_INPUT_ENCODED,
    THINKING_AFTER_TEXT,
    THINKING_DROPPED,
    TOOL_INPUT_STRING,
    TOOL_RESULT_REFUSED,
    TOOL_STOP_REASON_OPENAI,
    TYPE_MISSING,
)
from .request import MessagesRequest, blocks

if TYPE_CHECKING:  # messages.py imports this module
    from .messages import Block, MessagePlan

Body = dict[str, Any]


# --- the plan (streamed and unstreamed) -------------------------------------------------------


def _refuse_tool_results(plan: MessagePlan, request: MessagesRequest) -> MessagePlan:
    """The tool loop's second turn refused, as a relay without tool_result support does."""
    for index, message in enumerate(request.messages):
        for position, block in enumerate(blocks(message["content"])):
            if block["type"] == "tool_result":
                raise invalid_request(f"messages.{index}.content.{position}.type: tool_result "
                                      "blocks are not supported")
    return plan


def _stop_as_end_turn(plan: MessagePlan, request: MessagesRequest) -> MessagePlan:
    if plan.stop_reason != "stop_sequence":
        return plan
    return replace(plan, stop_reason="end_turn", stop_sequence=None)


def _stop_leaked(plan: MessagePlan, request: MessagesRequest) -> MessagePlan:
    """The matched stop string is sent too, at the end of the last text block."""
    if plan.stop_sequence is None:
        return plan
    *rest, last = plan.blocks
    text = last.json["text"] + plan.stop_sequence
    leaked = replace(last, json={**last.json, "text": text},
                     pieces=(*last.pieces, plan.stop_sequence))
    return replace(plan, blocks=[*rest, leaked], output_tokens=plan.output_tokens
                   + tokens.count_text(plan.stop_sequence, request.model.encoding))


def _streamed(change: Callable[[Block], Block]) -> Callable[[MessagePlan, MessagesRequest],
                                                            MessagePlan]:
    """A change of the tool_use blocks of streamed answers only."""
    def apply(plan: MessagePlan, request: MessagesRequest) -> MessagePlan:
        if not request.stream:
            return plan
        return replace(plan, blocks=[change(b) if b.json["type"] == "tool_use" else b
                                     for b in plan.blocks])
    return apply


def _openai_call_id(block: Block) -> Block:
    call_id = "call_" + block.json["id"].removeprefix("toolu_")
    return replace(block, json={**block.json, "id": call_id})


def _input_as_json_string(block: Block) -> Block:
    """The input's JSON text sent as a JSON string, in two fragments."""
    encoded = json.dumps("".join(block.pieces))
    return replace(block, pieces=(encoded[:len(encoded) // 2], encoded[len(encoded) // 2:]))


def _streamed_cut_as_end_turn(plan: MessagePlan, request: MessagesRequest) -> MessagePlan:
    if request.stream and plan.stop_reason == "max_tokens":
        return replace(plan, stop_reason="end_turn")
    return plan


PLAN_FAULTS: dict[str, Callable[[MessagePlan, MessagesRequest], MessagePlan]] = {
    TOOL_RESULT_REFUSED: _refuse_tool_results,
    STOP_AS_END_TURN: _stop_as_end_turn,
    STOP_LEAKED: _stop_leaked,
    STREAM_CUT_AS_END_TURN: _streamed_cut_as_end_turn,
    STREAM_TOOL_ID_OPENAI: _streamed(_openai_call_id),
    STREAM_TOOL_INPUT_ENCODED: _streamed(_input_as_json_string),
    HIDDEN_PROMPT_BILLED: lambda plan, request: replace(
        plan, input_tokens=plan.input_tokens + HIDDEN_PROMPT_TOKENS),
}


def faulty_plan(plan: MessagePlan, request: MessagesRequest, fault: str | None) -> MessagePlan:
    """The plan as the fault answers it (unchanged for any other fault)."""
    return PLAN_FAULTS[fault](plan, request) if fault in PLAN_FAULTS else plan


# --- the unstreamed message -------------------------------------------------------------------


def _when(stop_reason: str, change: Callable[[Body], Body]) -> Callable[[Body], Body]:
    """A change of the answers that stopped for `stop_reason` only."""
    return lambda body: change(body) if body["stop_reason"] == stop_reason else body


def _map_blocks(block_type: str, change: Callable[[Body], Body]) -> Callable[[Body], Body]:
    return lambda body: {**body, "content": [change(b) if b["type"] == block_type else b
                                             for b in body["content"]]}


def _text_lost(body: Body) -> Body:
    """A text-only answer's content dropped (row 5); usage still bills it."""
    if all(block["type"] == "text" for block in body["content"]):
        return {**body, "content": []}
    return body


BODY_FAULTS: dict[str, Callable[[Body], Body]] = {
    CUT_AS_END_TURN: _when("max_tokens", lambda b: {**b, "stop_reason": "end_turn"}),
    CONTENT_EMPTY: _when("end_turn", _text_lost),
    CUT_TEXT_EMPTY: _when("max_tokens", _map_blocks("text", lambda t: {**t, "text": ""})),
    ID_WITHOUT_PREFIX: lambda b: {**b, "id": f"chatcmpl-{uuid.uuid4().hex[:24]}"},
    ROLE_MODEL: lambda b: {**b, "role": "model"},
    TYPE_MISSING: lambda b: {k: v for k, v in b.items() if k != "type"},
    SERVICE_TIER_OPENAI: lambda b: {**b, "usage": {**b["usage"], "service_tier": "default"}},
    TOOL_INPUT_STRING: _map_blocks("tool_use", lambda t: {**t, "input": json.dumps(t["input"])}),
    TOOL_STOP_REASON_OPENAI: _when("tool_use", lambda b: {**b, "stop_reason": "tool_calls"}),
    CACHE_IN_INPUT: lambda b: {**b, "usage": {
        **b["usage"], "cache_read_input_tokens": b["usage"]["input_tokens"] // 2}},
    OUTPUT_ZERO: _when("end_turn", lambda b: {**b, "usage": {**b["usage"], "output_tokens": 0}}),
    THINKING_DROPPED: lambda b: {**b, "content": [x for x in b["content"]
                                                  if x["type"] != "thinking"]},
    # A stable sort: the thinking block goes last, the other blocks keep their order.
    THINKING_AFTER_TEXT: lambda b: {**b, "content": sorted(
        b["content"], key=lambda x: x["type"] == "thinking")},
}


def faulty_body(body: Body, fault: str | None) -> Body:
    """The unstreamed message as the fault sends it (unchanged for any other fault)."""
    return BODY_FAULTS[fault](body) if fault in BODY_FAULTS else body
