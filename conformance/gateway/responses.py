"""``/v1/responses``: create (JSON or SSE), retrieve and delete stored responses.

Faults for this endpoint live in ``RESPONSES_FAULTS`` and are checked by name where the
violation happens: in the response builder, in the event list, or in the framing.
"""

from __future__ import annotations

import copy
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from conformance import tokens

from . import generation as gen
from .context import GatewayState, current_fault, gateway_state
from .errors import ApiError, bad_request, missing_parameter, server_error
from .fault_types import Fault
from .models import DEFAULT_MODEL, MODELS, ModelInfo, resolve_model
from .sse import data_frame, event_frame, stream_response, to_json
from .validation import (
    Fields,
    check_against_spec,
    check_function_name,
    invalid_type,
    invalid_value,
    parse_json_object,
)


def _fault(name: str, description: str, trips: str) -> Fault:
    return Fault(name, description, (trips,))


# Faults against the Responses contract checks (conformance/checks/responses); each is a bug
# seen in real gateways, applied at one place (see the helpers at the end of this module).
CONTRACT_FAULTS = (
    Fault("responses-output-item-bare", "non-stream message items lack 'id' and 'status' (a "
          "gateway that builds items from a chat message)",
          ("responses.response.output-items", "responses.response.schema")),
    Fault("responses-null-fields-dropped", "null fields (error, incomplete_details, "
          "instructions, ...) are left out of the non-stream body (exclude_none serialisation)",
          ("responses.response.strict-schema",)),
    Fault("responses-output-text-empty", "the non-stream output_text convenience field is ''",
          ("responses.response.output-text",)),
    Fault("responses-input-parts-rejected", "message content given as input_text parts is "
          "refused with 400 (only string content is accepted)", ("responses.input.forms",)),
    Fault("responses-stream-usage-no-input", "the streamed terminal usage reports "
          "input_tokens 0", ("responses.usage.stream-input",)),
    Fault("responses-usage-overbilled", "input_tokens include a hidden 200-token system prompt "
          "the client never sent", ("responses.usage.billing",)),
    Fault("responses-stream-json-content-type", "streams are sent as application/json",
          ("responses.stream.content-type",)),
    Fault("responses-stream-created-at-iso", "response.created / in_progress carry created_at "
          "as an ISO 8601 string", ("responses.stream.event-schema",)),
    Fault("responses-stream-no-event-lines", "stream frames carry no 'event:' line (Chat-style "
          "data-only framing)", ("responses.stream.event-name",), outcome="warn"),
    Fault("responses-stream-sequence-from-one", "sequence_number starts at 1",
          ("responses.stream.sequence-contiguous",)),
    Fault("responses-stream-args-no-done", "function_call items close without "
          "response.function_call_arguments.done", ("responses.stream.function-call",)),
    Fault("responses-stream-terminal-output-empty", "the terminal event's response.output is "
          "[] (the created snapshot's output)", ("responses.stream.terminal-output",)),
    Fault("responses-tool-choice-ignored", "a tool_choice naming a function is dropped; the "
          "model answers in text", ("responses.tools.function-call",)),
    Fault("responses-function-output-dropped", "function_call_output input items are dropped, "
          "so the model calls the tool again", ("responses.tools.function-output",)),
    Fault("responses-parallel-calls-ignored", "parallel_tool_calls: false is not forwarded",
          ("responses.tools.parallel-calls",)),
    Fault("responses-hosted-tool-500", "a hosted tool (web_search_preview) crashes the "
          "gateway with a 500", ("responses.tools.hosted-tool",)),
    Fault("responses-json-schema-ignored", "text.format json_schema is dropped; the answer is "
          "prose", ("responses.structured.json-schema",)),
    Fault("responses-reasoning-tokens-misreported", "reasoning_tokens is read from the wrong "
          "upstream field: 0 when the model reasoned, the whole output when it did not",
          ("responses.reasoning.tokens",)),
    Fault("responses-reasoning-effort-ignored", "the reasoning parameter is accepted on every "
          "model and silently dropped", ("responses.reasoning.effort",)),
    Fault("responses-validation-422", "invalid requests get a FastAPI-style 422 "
          "{'detail': [...]} instead of the error envelope", ("responses.errors.envelope",)),
    Fault("responses-invalid-json-500", "a body that is not JSON crashes into a 500",
          ("responses.errors.bad-request-status",)),
    Fault("responses-unknown-model-routed", "an unknown model on /v1/responses is answered by "
          "the default model", ("responses.errors.unknown-model",)),
)

RESPONSES_FAULTS = (
    _fault("responses-part-type-text", "message content parts have type 'text', not "
           "'output_text'", "responses.response.output-text-part"),
    Fault("responses-chat-body", "non-stream /v1/responses returns a chat.completion body",
          ("responses.response.object", "responses.response.schema")),
    _fault("responses-usage-chat-names", "usage uses prompt_tokens/completion_tokens names",
           "responses.usage.field-names"),
    _fault("responses-usage-total-wrong", "usage.total_tokens = input + output + 1",
           "responses.usage.total"),
    _fault("responses-stream-no-sequence-number", "stream events lack sequence_number",
           "responses.stream.sequence-number"),
    _fault("responses-stream-sequence-not-increasing", "sequence_number restarts at 0 for each "
           "output item", "responses.stream.sequence-order"),
    _fault("responses-stream-event-name-mismatch", "the SSE 'event:' of text events uses the "
           "legacy name response.text.* while data.type says response.output_text.*",
           "responses.stream.event-name"),
    _fault("responses-stream-no-created", "the stream starts with response.in_progress; no "
           "response.created", "responses.stream.created-first"),
    _fault("responses-stream-delta-after-part-done", "the last output_text.delta comes after "
           "content_part.done", "responses.stream.event-order"),
    _fault("responses-stream-done-text-mismatch", "output_text.done text lacks the last delta",
           "responses.stream.text-done-matches"),
    _fault("responses-stream-two-terminal", "response.completed is sent twice",
           "responses.stream.single-terminal"),
    _fault("responses-stream-terminal-not-last", "the last output_item.done comes after the "
           "terminal event", "responses.stream.terminal-last"),
    _fault("responses-stream-status-mismatch", "response.completed carries status "
           "'in_progress'", "responses.stream.terminal-status"),
    _fault("responses-max-output-ignored", "max_output_tokens is ignored",
           "responses.incomplete.max-output-tokens"),
    _fault("responses-incomplete-no-details", "an incomplete response has incomplete_details "
           "null", "responses.incomplete.details"),
    _fault("responses-incomplete-item-completed", "the message item of a cut answer is marked "
           "'completed'", "responses.incomplete.item-status"),
    _fault("responses-previous-id-ignored", "previous_response_id is ignored (no context, "
           "echoed as null)", "responses.state.previous-response"),
    _fault("responses-get-stored-404", "GET /responses/{id} is 404 for a stored response",
           "responses.state.retrieve"),
    _fault("responses-unknown-previous-200", "an unknown previous_response_id is accepted",
           "responses.errors.unknown-previous-response"),
    _fault("responses-function-args-not-json", "function_call arguments are a Python repr, "
           "not JSON", "responses.tools.arguments-json"),
    _fault("responses-stream-error-bare", "the stream fails mid-way with a bare "
           "{'error': ...} payload and no response.failed", "responses.stream.failure-shape"),
    _fault("responses-stream-not-closed", "the connection stays open (idle) after the "
           "terminal event", "responses.stream.closes-after-terminal"),
    *CONTRACT_FAULTS,
    Fault("responses-500-on-wrong-type", "a wrong-typed field (e.g. temperature as a string) "
          "crashes into a 500 server_error, not a 400",
          ("responses.generated.rejects-invalid", "responses.errors.bad-request-status")),
    Fault("responses-accepts-missing-model", "a body without 'model' gets a response from a "
          "default model", ("responses.generated.rejects-invalid",
                            "responses.errors.bad-request-status")),
    Fault("responses-output-tokens-string", "usage.output_tokens is sent as a string (JSON "
          "and stream)", ("responses.generated.schema-conformance", "responses.response.schema",
                          "responses.response.strict-schema", "responses.stream.event-schema",
                          "responses.usage.total", "responses.incomplete.max-output-tokens",
                          "responses.input.forms", "responses.state.previous-response")),
)

HOSTED_TOOLS = (
    "web_search", "web_search_preview", "web_search_preview_2025_03_11", "file_search",
    "code_interpreter", "image_generation", "computer_use_preview", "computer_use", "mcp",
    "local_shell", "shell", "apply_patch", "custom",
)
ITEM_TYPES = ("message", "function_call", "function_call_output", "reasoning", "item_reference")
INPUT_ROLES = ("user", "assistant", "system", "developer")
INPUT_PARTS = ("input_text", "input_image", "input_file")
ASSISTANT_PARTS = ("output_text", "refusal", "input_text")
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
MIN_OUTPUT_TOKENS = 16


# --- request ----------------------------------------------------------------------------


@dataclass
class ResponsesRequest:
    model: ModelInfo
    input_items: list[dict[str, Any]]
    instructions: str | None = None
    max_output_tokens: int | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = "auto"
    parallel_tool_calls: bool = True
    text_format: dict[str, Any] = field(default_factory=lambda: {"type": "text"})
    verbosity: str = "medium"
    reasoning_effort: str | None = None
    reasoning_summary: str | None = None
    store: bool = True
    previous_response_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    temperature: float = 1.0
    top_p: float = 1.0
    truncation: str = "disabled"
    user: str | None = None
    stream: bool = False


def parse_responses_request(body: dict[str, Any], fault: str | None) -> ResponsesRequest:
    body = _request_faults(body, fault)
    fields = Fields(body)
    model_name = fields.string("model", required=True)
    items = _validate_input(fields)
    request = ResponsesRequest(model=resolve_model(model_name, fault), input_items=items)
    request.instructions = fields.string("instructions")
    request.max_output_tokens = fields.integer("max_output_tokens", minimum=MIN_OUTPUT_TOKENS)
    request.tools = _validate_tools(fields)
    request.tool_choice = _validate_tool_choice(fields, request.tools)
    request.parallel_tool_calls = fields.boolean("parallel_tool_calls") is not False
    _validate_text(fields, request)
    _validate_reasoning(fields, request)
    request.store = fields.boolean("store") is not False
    request.previous_response_id = fields.string("previous_response_id")
    request.metadata = fields.metadata() or {}
    request.temperature = _or(fields.number("temperature", minimum=0, maximum=2), 1.0)
    request.top_p = _or(fields.number("top_p", minimum=0, maximum=1), 1.0)
    request.truncation = fields.choice("truncation", ("auto", "disabled")) or "disabled"
    request.user = fields.string("user")
    request.stream = bool(fields.boolean("stream"))
    _validate_accepted_extras(fields)
    return request


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _validate_accepted_extras(fields: Fields) -> None:
    """Parameters that are accepted (and type-checked) but do not change the output."""
    fields.integer("max_tool_calls", minimum=1)
    fields.integer("top_logprobs", minimum=0, maximum=20)
    fields.string("prompt_cache_key")
    fields.string("safety_identifier")
    fields.choice("service_tier", ("auto", "default", "flex", "scale", "priority"))
    include = fields.array("include") or []
    for index, value in enumerate(include):
        if not isinstance(value, str):
            raise invalid_type(f"include[{index}]", "a string", value)
    options = fields.child("stream_options")
    if options is not None:
        options.boolean("include_obfuscation")
    if fields.boolean("background"):
        raise bad_request("Background mode is not supported by this gateway.", "background",
                          "unsupported_value")


def _validate_input(fields: Fields) -> list[dict[str, Any]]:
    raw = fields.obj.get("input")
    if raw is None:
        raise missing_parameter("input")
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    fields.array("input", min_items=1)
    items = []
    for index in range(len(raw)):
        item = fields.item("input", index)
        items.append(_validate_item(item))
    return items


def _validate_item(item: Fields) -> dict[str, Any]:
    kind = item.choice("type", ITEM_TYPES) or "message"
    if kind == "message":
        role = item.choice("role", INPUT_ROLES, required=True)
        _validate_item_content(item, ASSISTANT_PARTS if role == "assistant" else INPUT_PARTS)
    elif kind == "function_call":
        for name in ("call_id", "name", "arguments"):
            item.string(name, required=True)
    elif kind == "function_call_output":
        item.string("call_id", required=True)
        output = item.obj.get("output")
        if output is None:
            raise missing_parameter(item.param("output"))
        if not isinstance(output, (str, list)):
            raise invalid_type(item.param("output"), "a string or an array", output)
    elif kind == "item_reference":
        item.string("id", required=True)
    return {"type": kind, **item.obj}


def _validate_item_content(item: Fields, part_types: tuple[str, ...]) -> None:
    content = item.obj.get("content")
    if content is None:
        raise missing_parameter(item.param("content"))
    if isinstance(content, str):
        return
    item.array("content", min_items=1)
    for index in range(len(content)):
        part = item.item("content", index)
        kind = part.choice("type", part_types, required=True)
        if kind in ("input_text", "output_text"):
            part.string("text", required=True)
        elif kind == "refusal":
            part.string("refusal", required=True)


def _validate_tools(fields: Fields) -> list[dict[str, Any]]:
    """Function tools, normalised for echoing; hosted tools are refused (none are offered)."""
    tools = fields.array("tools", max_items=128) or []
    normalised = []
    for index in range(len(tools)):
        tool = fields.item("tools", index)
        kind = tool.string("type", required=True)
        if kind in HOSTED_TOOLS:
            raise bad_request(
                f"The tool type '{kind}' is not supported: this gateway offers no hosted tools, "
                f"only 'function' tools.", "tools", "unsupported_value")
        if kind != "function":
            raise invalid_value(tool.param("type"), kind, ("function",))
        name = tool.string("name", required=True)
        check_function_name(name, tool.param("name"))
        strict = tool.boolean("strict")
        normalised.append({
            "type": "function",
            "name": name,
            "description": tool.string("description"),
            "parameters": tool.object("parameters"),
            "strict": True if strict is None else strict,  # Responses defaults to strict
        })
    return normalised


def _validate_tool_choice(fields: Fields, tools: list[dict[str, Any]]) -> Any:
    choice = fields.obj.get("tool_choice")
    if choice is None:
        return "auto"
    if isinstance(choice, str):
        return fields.choice("tool_choice", ("none", "auto", "required"))
    named = fields.child("tool_choice")
    kind = named.string("type", required=True)
    if kind in HOSTED_TOOLS:
        raise bad_request(f"The tool type '{kind}' is not supported: this gateway offers no "
                          f"hosted tools.", "tool_choice", "unsupported_value")
    if kind != "function":
        raise invalid_value("tool_choice.type", kind, ("function",))
    name = named.string("name", required=True)
    declared = [t["name"] for t in tools]
    if name not in declared:
        raise invalid_value("tool_choice.name", name, declared or ["(no tools)"])
    return {"type": "function", "name": name}


def _validate_text(fields: Fields, request: ResponsesRequest) -> None:
    text = fields.child("text")
    if text is None:
        return
    request.verbosity = text.choice("verbosity", ("low", "medium", "high")) or "medium"
    text_format = text.child("format")
    if text_format is None:
        return
    kind = text_format.choice("type", ("text", "json_object", "json_schema"), required=True)
    if kind == "json_schema":
        check_function_name(text_format.string("name", required=True), text_format.param("name"))
        text_format.object("schema", required=True)
        text_format.boolean("strict")
        text_format.string("description")
    request.text_format = text_format.obj


def _validate_reasoning(fields: Fields, request: ResponsesRequest) -> None:
    reasoning = fields.child("reasoning")
    if reasoning is None:
        return
    effort = reasoning.choice("effort", REASONING_EFFORTS)
    summary = reasoning.choice("summary", ("auto", "concise", "detailed"))
    reasoning.choice("generate_summary", ("auto", "concise", "detailed"))
    if effort is not None and not request.model.reasoning:
        raise bad_request(
            f"Unsupported parameter: 'reasoning.effort' is not supported with the model "
            f"'{request.model.id}'.", "reasoning.effort", "unsupported_parameter")
    request.reasoning_effort, request.reasoning_summary = effort, summary


# --- output plan --------------------------------------------------------------------------


@dataclass
class PlannedItem:
    """One output item and the pieces (one token each) its stream deltas carry."""

    item: dict[str, Any]
    pieces: tuple[str, ...]


@dataclass
class OutputPlan:
    items: list[PlannedItem]
    output_tokens: int
    reasoning_tokens: int
    truncated: bool


def _last_user_text(context: list[dict[str, Any]]) -> str:
    for item in reversed(context):
        if item.get("type") == "message" and item.get("role") == "user":
            return tokens.content_text(item.get("content"))
    return ""


def _functions_to_call(request: ResponsesRequest) -> list[dict[str, Any]]:
    if not request.tools or request.tool_choice == "none":
        return []
    if request.input_items[-1].get("type") == "function_call_output":
        return []  # a tool result came back: answer it with text
    if isinstance(request.tool_choice, dict):
        return [t for t in request.tools if t["name"] == request.tool_choice["name"]][:1]
    if request.tool_choice == "required" and len(request.tools) > 1 and \
            request.parallel_tool_calls:
        return list(request.tools)
    return request.tools[:1]


def _answer_text(request: ResponsesRequest, context: list[dict[str, Any]]) -> str:
    last = request.input_items[-1]
    if last.get("type") == "function_call_output":
        output = last.get("output")
        text = output if isinstance(output, str) else tokens.content_text(output)
        return gen.tool_result_answer(context, text)
    kind = request.text_format.get("type")
    if kind == "json_schema":
        return gen.compact_json(gen.schema_instance(request.text_format.get("schema") or {}))
    if kind == "json_object":
        return gen.json_object_text(context, _last_user_text(context))
    return gen.answer_text(context, _last_user_text(context))


def plan_output(request: ResponsesRequest, context: list[dict[str, Any]], response_id: str,
                fault: str | None) -> OutputPlan:
    encoding = request.model.encoding
    budget = None if fault == "responses-max-output-ignored" else request.max_output_tokens
    items: list[PlannedItem] = []
    used = reasoning_tokens = 0
    truncated = False
    if request.model.reasoning and request.reasoning_effort != "none":
        summary = gen.generate(gen.reasoning_text(_last_user_text(context)), encoding,
                               max_tokens=budget)
        reasoning_tokens = used = summary.token_count
        items.append(PlannedItem(_reasoning_item(response_id, summary.text), summary.pieces))
    remaining = None if budget is None else budget - used
    functions = _functions_to_call(request)
    if functions:
        for position, function in enumerate(functions):
            name_tokens = tokens.count_text(function["name"], encoding)
            limit = None if remaining is None else max(0, remaining - name_tokens)
            arguments = gen.generate(_arguments_text(function, fault), encoding, max_tokens=limit)
            call_id = gen.stable_id("call_", context, function["name"], position)
            items.append(PlannedItem(
                _function_call_item(response_id, len(items), call_id, function["name"],
                                    arguments), arguments.pieces))
            used += name_tokens + arguments.token_count
            remaining = None if budget is None else budget - used
            if arguments.truncated:
                truncated = True
                break
    else:
        text = gen.generate(_answer_text(request, context), encoding, max_tokens=remaining)
        used += text.token_count
        truncated = text.truncated
        items.append(PlannedItem(_message_item(response_id, len(items), text, fault),
                                 text.pieces))
    return OutputPlan(items, used, reasoning_tokens, truncated)


def _arguments_text(function: dict[str, Any], fault: str | None) -> str:
    schema = function.get("parameters") or {"type": "object", "properties": {}}
    instance = gen.schema_instance(schema)
    if fault == "responses-function-args-not-json":
        return repr(instance)  # the bug: str(dict) instead of json.dumps
    return gen.compact_json(instance)


def _reasoning_item(response_id: str, summary: str) -> dict[str, Any]:
    return {
        "id": gen.stable_id("rs_", response_id, "reasoning"),
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": summary}],
    }


def _function_call_item(response_id: str, index: int, call_id: str, name: str,
                        arguments: gen.Generated) -> dict[str, Any]:
    return {
        "id": gen.stable_id("fc_", response_id, index),
        "type": "function_call",
        "status": "incomplete" if arguments.truncated else "completed",
        "call_id": call_id,
        "name": name,
        "arguments": arguments.text,
    }


def _message_item(response_id: str, index: int, text: gen.Generated,
                  fault: str | None) -> dict[str, Any]:
    cut = text.truncated and fault != "responses-incomplete-item-completed"
    part_type = "text" if fault == "responses-part-type-text" else "output_text"
    return {
        "id": gen.stable_id("msg_", response_id, index),
        "type": "message",
        "status": "incomplete" if cut else "completed",
        "role": "assistant",
        "content": [{"type": part_type, "text": text.text, "annotations": [], "logprobs": []}],
    }


# --- response object ----------------------------------------------------------------------


def usage_json(input_tokens: int, plan: OutputPlan, fault: str | None) -> dict[str, Any]:
    input_tokens += HIDDEN_PROMPT_TOKENS if fault == "responses-usage-overbilled" else 0
    total = input_tokens + plan.output_tokens
    if fault == "responses-usage-total-wrong":
        total += 1
    if fault == "responses-usage-chat-names":
        return {"prompt_tokens": input_tokens, "completion_tokens": plan.output_tokens,
                "total_tokens": total}
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": str(plan.output_tokens) if fault == "responses-output-tokens-string"
        else plan.output_tokens,
        "output_tokens_details": {"reasoning_tokens": _reported_reasoning(plan, fault)},
        "total_tokens": total,
    }


def output_text(output: list[dict[str, Any]]) -> str:
    return "".join(
        part.get("text", "")
        for item in output if item.get("type") == "message"
        for part in item["content"] if part.get("type") in ("output_text", "text")
    )


def response_json(response_id: str, created_at: int, request: ResponsesRequest,
                  plan: OutputPlan, input_tokens: int, previous_id: str | None,
                  fault: str | None) -> dict[str, Any]:
    incomplete = plan.truncated
    details = {"reason": "max_output_tokens"} if incomplete else None
    if fault == "responses-incomplete-no-details":
        details = None
    output = [p.item for p in plan.items]
    body: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": "incomplete" if incomplete else "completed",
        "background": False,
        "error": None,
        "incomplete_details": details,
        "instructions": request.instructions,
        "max_output_tokens": request.max_output_tokens,
        "max_tool_calls": None,
        "model": request.model.id,
        "output": output,
        "parallel_tool_calls": request.parallel_tool_calls,
        "previous_response_id": previous_id,
        "reasoning": _reasoning_echo(request),
        "service_tier": "default",
        "store": request.store,
        "temperature": request.temperature,
        "text": {"format": request.text_format, "verbosity": request.verbosity},
        "tool_choice": request.tool_choice,
        "tools": request.tools,
        "top_logprobs": 0,
        "top_p": request.top_p,
        "truncation": request.truncation,
        "usage": usage_json(input_tokens, plan, fault),
        "user": request.user,
        "metadata": request.metadata,
        "output_text": output_text(output),
    }
    if not incomplete:
        body["completed_at"] = created_at
    if request.user is None:
        del body["user"]  # the schema types it as a string: omit rather than send null
    return body


def _reasoning_echo(request: ResponsesRequest) -> dict[str, Any]:
    if not request.model.reasoning:
        return {"effort": None, "summary": None}
    return {"effort": request.reasoning_effort or "medium", "summary": request.reasoning_summary}


def chat_shaped_body(response: dict[str, Any], plan: OutputPlan) -> dict[str, Any]:
    """What a gateway that proxies /responses to /chat/completions wrongly returns."""
    usage = response["usage"]
    return {
        "id": "chatcmpl-" + response["id"].removeprefix("resp_"),
        "object": "chat.completion",
        "created": response["created_at"],
        "model": response["model"],
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": response["output_text"], "refusal": None},
            "logprobs": None,
            "finish_reason": "length" if plan.truncated else "stop",
        }],
        "usage": {"prompt_tokens": usage["input_tokens"],
                  "completion_tokens": usage["output_tokens"],
                  "total_tokens": usage["total_tokens"]},
    }


# --- stream -------------------------------------------------------------------------------


def _item_events(index: int, planned: PlannedItem, fault: str | None) -> list[dict[str, Any]]:
    item = planned.item
    if item["type"] == "reasoning":
        return _reasoning_events(index, planned)
    if item["type"] == "function_call":
        return _function_call_events(index, planned)
    return _message_events(index, planned, fault)


def _message_events(index: int, planned: PlannedItem, fault: str | None) -> list[dict]:
    item = planned.item
    where = {"item_id": item["id"], "output_index": index}
    part = item["content"][0]
    empty_part = {**part, "text": ""}
    text = part["text"]
    done_text = text
    if fault == "responses-stream-done-text-mismatch":
        done_text = "".join(planned.pieces[:-1]) if len(planned.pieces) > 1 else text + " "
    deltas = [
        {"type": "response.output_text.delta", **where, "content_index": 0, "delta": piece,
         "logprobs": []}
        for piece in planned.pieces
    ]
    events = [
        {"type": "response.output_item.added", "output_index": index,
         "item": {**item, "status": "in_progress", "content": []}},
        {"type": "response.content_part.added", **where, "content_index": 0,
         "part": empty_part},
        *deltas,
        {"type": "response.output_text.done", **where, "content_index": 0, "text": done_text,
         "logprobs": []},
        {"type": "response.content_part.done", **where, "content_index": 0, "part": part},
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]
    if fault == "responses-stream-delta-after-part-done" and deltas:
        position = next(i for i, e in enumerate(events) if e is deltas[-1])
        events.insert(len(events) - 1, events.pop(position))  # after content_part.done
    return events


def _function_call_events(index: int, planned: PlannedItem) -> list[dict]:
    item = planned.item
    where = {"item_id": item["id"], "output_index": index}
    return [
        {"type": "response.output_item.added", "output_index": index,
         "item": {**item, "arguments": "", "status": "in_progress"}},
        *({"type": "response.function_call_arguments.delta", **where, "delta": piece}
          for piece in planned.pieces),
        {"type": "response.function_call_arguments.done", **where, "name": item["name"],
         "arguments": item["arguments"]},
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def _reasoning_events(index: int, planned: PlannedItem) -> list[dict]:
    item = planned.item
    where = {"item_id": item["id"], "output_index": index, "summary_index": 0}
    summary = item["summary"][0]
    return [
        {"type": "response.output_item.added", "output_index": index,
         "item": {**item, "summary": []}},
        {"type": "response.reasoning_summary_part.added", **where,
         "part": {**summary, "text": ""}},
        *({"type": "response.reasoning_summary_text.delta", **where, "delta": piece}
          for piece in planned.pieces),
        {"type": "response.reasoning_summary_text.done", **where, "text": summary["text"]},
        {"type": "response.reasoning_summary_part.done", **where, "part": summary},
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def stream_events(response: dict[str, Any], plan: OutputPlan, fault: str | None) -> list[dict]:
    snapshot = {**response, "status": "in_progress", "output": [], "usage": None,
                "incomplete_details": None, "output_text": ""}
    snapshot.pop("completed_at", None)
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": snapshot},
        {"type": "response.in_progress", "response": snapshot},
    ]
    for index, planned in enumerate(plan.items):
        events.extend(_item_events(index, planned, fault))
    terminal_type = "response.completed" if response["status"] == "completed" else \
        "response.incomplete"
    terminal = {"type": terminal_type, "response": response}
    if fault == "responses-stream-status-mismatch":
        terminal["response"] = {**response, "status": "in_progress"}
    events.append(terminal)
    return _apply_order_faults(events, fault)


def _apply_order_faults(events: list[dict], fault: str | None) -> list[dict]:
    events = _stream_event_faults(events, fault)
    if fault == "responses-stream-no-created":
        events = events[1:]
    if fault == "responses-stream-two-terminal":
        events.append(copy.deepcopy(events[-1]))
    if fault == "responses-stream-terminal-not-last":
        last_item_done = max(i for i, e in enumerate(events)
                             if e["type"] == "response.output_item.done")
        events.append(events.pop(last_item_done))
    _number(events, fault)
    return events


def _number(events: list[dict], fault: str | None) -> None:
    sequence = 1 if fault == "responses-stream-sequence-from-one" else 0
    for event in events:
        if fault == "responses-stream-sequence-not-increasing" and \
                event["type"] == "response.output_item.added":
            sequence = 0  # the bug: a counter per output item instead of per response
        if fault != "responses-stream-no-sequence-number":
            event["sequence_number"] = sequence
        sequence += 1


def _event_name(event_type: str, fault: str | None) -> str:
    if fault == "responses-stream-event-name-mismatch" and \
            event_type.startswith("response.output_text."):
        return event_type.replace("response.output_text.", "response.text.")
    return event_type


def stream_frames(events: list[dict], fault: str | None) -> list[bytes]:
    if fault == "responses-stream-error-bare":
        error = ApiError(500, "The upstream model failed mid-stream.", type="server_error")
        return [event_frame(e["type"], to_json(e)) for e in events[:2]] + [
            data_frame(to_json(error.envelope()))]
    if fault == "responses-stream-no-event-lines":
        return [data_frame(to_json(e)) for e in events]  # Chat-style data-only frames
    return [event_frame(_event_name(e["type"], fault), to_json(e)) for e in events]


# --- handlers -----------------------------------------------------------------------------


def _previous_record(state: GatewayState, request: ResponsesRequest,
                     fault: str | None) -> dict[str, Any] | None:
    previous_id = request.previous_response_id
    if previous_id is None:
        return None
    record = state.store.get(previous_id)
    if record is None and fault != "responses-unknown-previous-200":
        raise ApiError(404, f"Previous response with id '{previous_id}' not found.",
                       param="previous_response_id", code="previous_response_not_found")
    if fault == "responses-previous-id-ignored":
        return None
    return record


def _parsed_request(body: dict[str, Any], fault: str | None) -> ResponsesRequest:
    if fault == "responses-accepts-missing-model" and body.get("model") is None:
        body["model"] = DEFAULT_MODEL  # the bug: a default model instead of a 400
    try:
        parsed = parse_responses_request(body, fault)
        check_against_spec(body, "responses.yaml", "CreateResponseRequest")
    except ApiError as error:
        if fault == "responses-500-on-wrong-type" and error.code == "invalid_type":
            raise server_error() from error  # the bug: float(value) raises, nothing catches it
        raise
    return parsed


async def create_response(request: Request) -> Response:
    fault = current_fault(request)
    state = gateway_state(request)
    parsed = _parse_with_faults(await request.body(), fault)
    previous = _previous_record(state, parsed, fault)
    context = (previous["context"] if previous else []) + parsed.input_items
    previous_id = None if fault == "responses-previous-id-ignored" else \
        parsed.previous_response_id
    response_id = f"resp_{uuid.uuid4().hex}"
    plan = plan_output(parsed, context, response_id, fault)
    input_tokens = tokens.count_responses_input(context, parsed.model.encoding,
                                                parsed.instructions, parsed.tools)
    body = response_json(response_id, int(time.time()), parsed, plan, input_tokens,
                         previous_id, fault)
    if parsed.store:
        # The next turn's context: everything so far plus this turn's visible output.
        next_context = context + [p.item for p in plan.items if p.item["type"] != "reasoning"]
        state.store.put(response_id, {"response": body, "context": next_context})
    if parsed.stream:
        frames = stream_frames(stream_events(body, plan, fault), fault)
        hang_after = len(frames) if fault == "responses-stream-not-closed" else None
        return stream_response(frames, state, hang_after=hang_after,
                               media_type=_stream_media_type(fault))
    if fault == "responses-chat-body":
        return JSONResponse(chat_shaped_body(body, plan))
    return JSONResponse(_body_faults(body, fault))


def _not_found(response_id: str) -> ApiError:
    return ApiError(404, f"Response with id '{response_id}' not found.", param="response_id",
                    code="not_found")


async def retrieve_response(request: Request) -> Response:
    response_id = request.path_params["response_id"]
    record = gateway_state(request).store.get(response_id)
    if record is None or current_fault(request) == "responses-get-stored-404":
        raise _not_found(response_id)
    return JSONResponse(record["response"])


async def delete_response(request: Request) -> Response:
    response_id = request.path_params["response_id"]
    if not gateway_state(request).store.delete(response_id):
        raise _not_found(response_id)
    return JSONResponse({"id": response_id, "object": "response.deleted", "deleted": True})


# --- how the CONTRACT_FAULTS break the contract -------------------------------------------

HIDDEN_PROMPT_TOKENS = 200


class _DetailError(ApiError):
    """A validation error in the FastAPI/pydantic shape, which OpenAI clients cannot read."""

    def envelope(self) -> dict:
        return {"detail": [{"loc": ["body", self.param], "msg": self.message,
                            "type": "value_error"}]}


def _parse_with_faults(raw: bytes, fault: str | None) -> ResponsesRequest:
    try:
        return _parsed_request(_request_json(raw, fault), fault)
    except ApiError as error:
        if fault == "responses-validation-422" and error.status == 400:
            raise _DetailError(422, error.message, param=error.param) from error
        raise


def _request_json(raw: bytes, fault: str | None) -> dict[str, Any]:
    try:
        return parse_json_object(raw)
    except ApiError as error:
        if fault == "responses-invalid-json-500":
            raise server_error() from error  # the bug: json.loads raises, nothing catches it
        raise


def _request_faults(body: dict[str, Any], fault: str | None) -> dict[str, Any]:
    """The request as a faulty gateway forwards it (or the error it raises instead)."""
    body = dict(body)
    if fault == "responses-input-parts-rejected" and _has_part_content(body.get("input")):
        raise bad_request("Invalid type for 'input[0].content': expected a string.",
                          "input[0].content", "invalid_type")
    if fault == "responses-hosted-tool-500" and any(
            isinstance(t, dict) and t.get("type") in HOSTED_TOOLS for t in body.get("tools") or []):
        raise server_error()
    dropped = {"responses-reasoning-effort-ignored": "reasoning",
               "responses-json-schema-ignored": "text",
               "responses-parallel-calls-ignored": "parallel_tool_calls"}
    body.pop(dropped.get(fault or "", ""), None)
    if fault == "responses-tool-choice-ignored" and isinstance(body.get("tool_choice"), dict):
        body["tool_choice"] = "none"
    if fault == "responses-function-output-dropped" and isinstance(body.get("input"), list):
        body["input"] = [i for i in body["input"] if not (
            isinstance(i, dict) and i.get("type") == "function_call_output")]
    if fault == "responses-unknown-model-routed" and body.get("model") not in MODELS:
        body["model"] = DEFAULT_MODEL
    return body


def _has_part_content(items: Any) -> bool:
    return isinstance(items, list) and any(
        isinstance(i, dict) and isinstance(i.get("content"), list) for i in items)


def _reported_reasoning(plan: OutputPlan, fault: str | None) -> int:
    if fault == "responses-reasoning-tokens-misreported":
        return 0 if plan.reasoning_tokens else plan.output_tokens
    return plan.reasoning_tokens


def _stream_media_type(fault: str | None) -> str:
    return "application/json" if fault == "responses-stream-json-content-type" else \
        "text/event-stream"


def _stream_event_faults(events: list[dict], fault: str | None) -> list[dict]:
    if fault == "responses-stream-args-no-done":
        return [e for e in events if e["type"] != "response.function_call_arguments.done"]
    if fault == "responses-stream-created-at-iso":
        for event in events[:2]:
            created = time.gmtime(event["response"]["created_at"])
            event["response"] = {**event["response"],
                                 "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", created)}
    terminal = events[-1]
    if fault == "responses-stream-usage-no-input":
        usage = dict(terminal["response"]["usage"])
        usage["input_tokens"], usage["total_tokens"] = 0, usage["output_tokens"]
        terminal["response"] = {**terminal["response"], "usage": usage}
    if fault == "responses-stream-terminal-output-empty":
        terminal["response"] = {**terminal["response"], "output": []}
    return events


def _body_faults(body: dict[str, Any], fault: str | None) -> dict[str, Any]:
    """The non-stream body as a faulty gateway serialises it."""
    if fault == "responses-null-fields-dropped":
        return {key: value for key, value in body.items() if value is not None}
    if fault == "responses-output-text-empty":
        return {**body, "output_text": ""}
    if fault == "responses-output-item-bare":
        bare = [{k: v for k, v in item.items() if k not in ("id", "status")}
                if item["type"] == "message" else item for item in body["output"]]
        return {**body, "output": bare}
    return body
