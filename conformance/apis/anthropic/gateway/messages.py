"""``POST /v1/messages`` and ``POST /v1/messages/count_tokens``: a deterministic answer planned
from the request (``generation``, token-exact with the offline tokenizer), rendered as a
``message`` or as the documented event stream.

Token counts come from the offline o200k_base BPE (``conformance.tokens``), not from Claude's
tokenizer: none is available offline. They are exact for this gateway (usage, the stream and
count_tokens agree), not a prediction of what Anthropic would bill.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from conformance import tokens
from conformance.gateway import behaviours
from conformance.gateway import generation as gen
from conformance.gateway.context import current_behaviour, current_fault, gateway_state
from conformance.gateway.sse import (
    EVENT_STREAM,
    data_frame,
    event_frame,
    stream_response,
    to_json,
)

from .errors import with_request_id
from .faults import (
    COUNT_AS_STRING,
    COUNT_WITHOUT_SYSTEM,
    DONE_APPENDED,
    NO_EVENT_LINES,
    NOT_CLOSED,
    STREAM_BUFFERED,
    STREAM_JSON,
)
from .message_faults import faulty_body, faulty_plan
from .request import COUNT, CREATE, MessagesRequest, blocks, parse_request
from .stream_faults import rewrite
from .thinking import signature

# The delta that streams each block type, and the field it carries.
DELTAS = {"text": ("text_delta", "text"), "thinking": ("thinking_delta", "thinking"),
          "tool_use": ("input_json_delta", "partial_json")}


# --- token accounting -----------------------------------------------------------------------


def _content_text(content: Any) -> str:
    """The text a message's content adds to the prompt: text blocks and tool results. Thinking
    blocks of earlier turns are not counted (the API drops them from the context); images are
    not counted (their cost is not a function of the body we can reproduce)."""
    parts = []
    for block in blocks(content):
        if block["type"] == "text":
            parts.append(block["text"])
        elif block["type"] == "tool_result":
            parts.append(tokens.content_text(block.get("content")))
    return "".join(parts)


def input_tokens(request: MessagesRequest) -> int:
    """The prompt's tokens, by the chat recipe of ``tokens.count_chat_prompt`` applied to the
    system prompt, the turns (tool_use blocks as calls: name + input JSON) and the tools."""
    chat: list[dict[str, Any]] = [{"role": "system", "content": request.system}] \
        if request.system else []
    for message in request.messages:
        entry: dict[str, Any] = {"role": message["role"],
                                 "content": _content_text(message["content"])}
        calls = [{"function": {"name": b["name"], "arguments": gen.compact_json(b["input"])}}
                 for b in blocks(message["content"]) if b["type"] == "tool_use"]
        if calls:
            entry["tool_calls"] = calls
        chat.append(entry)
    return tokens.count_chat_prompt(chat, request.model.encoding, request.tools)


# --- the answer -----------------------------------------------------------------------------


@dataclass
class Block:
    json: dict[str, Any]  # the block as the non-streamed message holds it
    pieces: tuple[str, ...]  # its streamed increments: text, thinking or partial JSON


@dataclass
class MessagePlan:
    blocks: list[Block]
    stop_reason: str
    stop_sequence: str | None
    input_tokens: int
    output_tokens: int


def _answers_tool_result(request: MessagesRequest) -> str | None:
    """The text of the tool results the last turn brings back, or None when it brings none."""
    last = request.messages[-1]
    results = [b for b in blocks(last["content"]) if b["type"] == "tool_result"]
    if last["role"] != "user" or not results:
        return None
    return "".join(tokens.content_text(b.get("content")) for b in results)


def _tools_to_call(request: MessagesRequest, behaviour: str) -> list[dict[str, Any]]:
    """The custom tools this turn calls: any/tool force a call (the server enforces it), none
    never calls, auto (or no tool_choice) is the model's choice: it answers a tool result with
    text, and a model that ignores instructions never picks a tool."""
    choice = request.tool_choice or {"type": "auto"}
    functions = [{"name": t["name"], "parameters": t["input_schema"]}
                 for t in request.custom_tools]
    if not functions or choice["type"] == "none":
        return []
    if choice["type"] == "auto" and (_answers_tool_result(request) is not None
                                     or not behaviours.chooses_tools(behaviour, "auto")):
        return []
    forced = choice["name"] if choice["type"] == "tool" else None
    parallel = not choice.get("disable_parallel_tool_use", False)
    # In generation's (Chat) terms: "any" is "required", "auto" leaves one call to the model.
    return gen.functions_to_call(functions, "auto" if choice["type"] == "auto" else "required",
                                 forced, parallel)


def _answer_text(request: MessagesRequest, behaviour: str) -> str:
    # The wording depends on what was said, not on its shape (a string or text blocks).
    conversation = [request.system,
                    [(m["role"], _content_text(m["content"])) for m in request.messages]]
    if behaviours.ignores_instructions(behaviour):
        return behaviours.FIXED_REPLY_TEXT
    tool_output = _answers_tool_result(request)
    if tool_output is not None:
        return gen.tool_result_answer(conversation, tool_output)
    user_text = gen.last_user_text(request.messages)
    special = gen.counting_answer(user_text) or gen.echoed_phrase(user_text)
    return special or gen.answer_text(conversation, user_text)


def _first_stop(text: str, stops: list[str]) -> str | None:
    """The stop sequence that ends ``text``: the earliest hit (the first listed on a tie), the
    same cut ``gen.generate`` makes."""
    hits = [(text.find(stop), order, stop) for order, stop in enumerate(stops) if stop in text]
    return min(hits)[2] if hits else None


class _Budget:
    """What is left of max_tokens as the blocks are generated."""

    def __init__(self, max_tokens: int | None) -> None:
        self.left = max_tokens
        self.used = 0

    def spend(self, count: int) -> None:
        self.used += count
        if self.left is not None:
            self.left -= count

    def fits(self, count: int) -> bool:
        return self.left is None or count <= self.left


def plan_message(request: MessagesRequest, behaviour: str) -> MessagePlan:
    encoding = request.model.encoding
    budget = _Budget(request.max_tokens)
    planned: list[Block] = []
    if request.thinking_budget is not None:
        planned.append(_thinking_block(request, budget))
    functions = _tools_to_call(request, behaviour)
    if functions:
        stop_reason = _plan_calls(request, functions, budget, planned)
        stop_sequence = None
    else:
        whole = _answer_text(request, behaviour)
        text = gen.generate(whole, encoding, max_tokens=budget.left, stop=request.stop_sequences)
        budget.spend(text.token_count)
        if text.text:
            planned.append(Block({"type": "text", "text": text.text}, text.pieces))
        stop_sequence = None if text.truncated else _first_stop(whole, request.stop_sequences)
        stop_reason = "max_tokens" if text.truncated else \
            "stop_sequence" if stop_sequence else "end_turn"
    return MessagePlan(planned, stop_reason, stop_sequence, input_tokens(request), budget.used)


def _thinking_block(request: MessagesRequest, budget: _Budget) -> Block:
    # Short enough never to reach budget_tokens (at least 1024, below max_tokens).
    thought = gen.generate(gen.reasoning_text(gen.last_user_text(request.messages)),
                           request.model.encoding, max_tokens=request.thinking_budget)
    budget.spend(thought.token_count)
    return Block({"type": "thinking", "thinking": thought.text,
                  "signature": signature(thought.text)}, thought.pieces)


def _plan_calls(request: MessagesRequest, functions: list[dict[str, Any]], budget: _Budget,
                planned: list[Block]) -> str:
    """tool_use blocks, after a one-line preamble when the model chose to call (auto). A call
    is emitted whole or not at all: its ``input`` must be an object, and a cut one has none.
    Returns the stop reason."""
    encoding = request.model.encoding
    if (request.tool_choice or {"type": "auto"})["type"] == "auto":
        preamble = gen.generate(f"I will call {functions[0]['name']}.", encoding,
                                max_tokens=budget.left)
        budget.spend(preamble.token_count)
        if preamble.text:  # max_tokens 0 leaves no room for a single token
            planned.append(Block({"type": "text", "text": preamble.text}, preamble.pieces))
        if preamble.truncated:
            return "max_tokens"
    for position, function in enumerate(functions):
        instance = gen.default_arguments(function)  # valid against the input_schema
        arguments = gen.generate(gen.compact_json(instance), encoding)
        cost = tokens.count_text(function["name"], encoding) + arguments.token_count
        if not budget.fits(cost):
            return "max_tokens"
        budget.spend(cost)
        call_id = gen.stable_id("toolu_", request.messages, function["name"], position)
        planned.append(Block({"type": "tool_use", "id": call_id, "name": function["name"],
                              "input": instance}, arguments.pieces))
    return "tool_use"


# --- rendering ------------------------------------------------------------------------------


def usage_json(plan: MessagePlan, output_tokens: int | None = None) -> dict[str, Any]:
    """Usage as the API reports it; no prompt cache here, so every input token is uncached."""
    return {
        "input_tokens": plan.input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": plan.output_tokens if output_tokens is None else output_tokens,
        "service_tier": "standard",
    }


def message_json(request: MessagesRequest, plan: MessagePlan) -> dict[str, Any]:
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": request.model.id,
        "content": [block.json for block in plan.blocks],
        "stop_reason": plan.stop_reason,
        "stop_sequence": plan.stop_sequence,
        "usage": usage_json(plan),
    }


def _opened(block: dict[str, Any]) -> dict[str, Any]:
    """A block as content_block_start opens it: its payload still empty."""
    empty = {"text": {"text": ""}, "thinking": {"thinking": "", "signature": ""},
             "tool_use": {"input": {}}}
    return {**block, **empty[block["type"]]}


def _block_events(index: int, block: Block) -> list[dict[str, Any]]:
    kind, key = DELTAS[block.json["type"]]
    deltas = [{"type": kind, key: piece} for piece in block.pieces]
    if block.json["type"] == "thinking":  # the whole signature in one delta, just before stop
        deltas.append({"type": "signature_delta", "signature": block.json["signature"]})
    return [
        {"type": "content_block_start", "index": index, "content_block": _opened(block.json)},
        *({"type": "content_block_delta", "index": index, "delta": d} for d in deltas),
        {"type": "content_block_stop", "index": index},
    ]


def stream_events(body: dict[str, Any], plan: MessagePlan, fault: str | None) -> list[dict]:
    """message_start (the real input_tokens, a placeholder output count), each block in index
    order, a ping after the first event, message_delta (stop reason, cumulative output_tokens)
    and message_stop."""
    start_usage = usage_json(plan, output_tokens=min(1, plan.output_tokens))
    final_usage: dict[str, Any] = {"output_tokens": plan.output_tokens}
    start = {**body, "content": [], "stop_reason": None, "stop_sequence": None,
             "usage": start_usage}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(plan.blocks):
        events += _block_events(index, block)
    events.insert(min(2, len(events)), {"type": "ping"})
    events.append({"type": "message_delta",
                   "delta": {"stop_reason": plan.stop_reason,
                             "stop_sequence": plan.stop_sequence},
                   "usage": final_usage})
    events.append({"type": "message_stop"})
    return rewrite(events, fault)


def stream_frames(events: list[dict], fault: str | None) -> list[bytes]:
    if fault == NO_EVENT_LINES:  # the bug: Chat-style data-only frames
        frames = [data_frame(to_json(event)) for event in events]
    else:
        frames = [event_frame(event["type"], to_json(event)) for event in events]
    if fault == DONE_APPENDED:
        frames.append(data_frame("[DONE]"))
    return frames


def _send_stream(events: list[dict], request: Request, fault: str | None) -> Response:
    frames = stream_frames(events, fault)
    state = gateway_state(request)
    media_type = "application/json" if fault == STREAM_JSON else EVENT_STREAM
    if fault == STREAM_BUFFERED:  # the bug: the relay collects the whole stream first
        return stream_response([b"".join(frames)], state, media_type=media_type)
    first_delta = next((n for n, e in enumerate(events) if e["type"] == "content_block_delta"),
                       None)
    return stream_response(frames, state, media_type=media_type, first_token_frame=first_delta,
                           hang_after=len(frames) if fault == NOT_CLOSED else None)


# --- handlers -------------------------------------------------------------------------------


async def create_message(request: Request) -> Response:
    # An ApiError goes to the app's handler, which renders it in the Anthropic envelope.
    fault = current_fault(request)
    parsed = parse_request(request.headers, await request.body(), CREATE, fault)
    plan = faulty_plan(plan_message(parsed, current_behaviour(request)), parsed, fault)
    body = message_json(parsed, plan)
    if parsed.stream:
        return with_request_id(_send_stream(stream_events(body, plan, fault), request, fault))
    return with_request_id(JSONResponse(faulty_body(body, fault)))


async def count_tokens(request: Request) -> Response:
    # An ApiError goes to the app's handler, which renders it in the Anthropic envelope.
    fault = current_fault(request)
    parsed = parse_request(request.headers, await request.body(), COUNT, fault)
    if fault == COUNT_WITHOUT_SYSTEM:  # the bug: the system prompt is not counted
        parsed = replace(parsed, system="")
    count = input_tokens(parsed)
    return with_request_id(JSONResponse(
        {"input_tokens": str(count) if fault == COUNT_AS_STRING else count}))
