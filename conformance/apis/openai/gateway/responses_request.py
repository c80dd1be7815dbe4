"""``/v1/responses`` requests: from the raw body to a validated ``ResponsesRequest``.

Messages and codes follow OpenAI's own validation errors (see ``validation``). The request-side
faults of ``RESPONSES_FAULTS`` (bodies a faulty gateway rejects, crashes on or forwards with
parts dropped) are committed here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from conformance.gateway.errors import ApiError, server_error

from .errors import bad_request, missing_parameter
from .models import DEFAULT_MODEL, MODELS, ModelInfo, resolve_model
from .validation import (
    REASONING_EFFORTS,
    SERVICE_TIERS,
    Fields,
    check_function_name,
    invalid_type,
    invalid_value,
    parse_checked,
    parse_json_object,
    unsupported_with_model,
)

# The one hosted tool the gateway offers: an offline, deterministic web search.
WEB_SEARCH_TOOLS = (
    "web_search", "web_search_2025_08_26", "web_search_preview", "web_search_preview_2025_03_11",
)
HOSTED_TOOLS = (
    *WEB_SEARCH_TOOLS, "file_search", "code_interpreter", "image_generation",
    "computer_use_preview", "computer_use", "mcp", "local_shell", "shell", "apply_patch", "custom",
)
SEARCH_CONTEXT_SIZES = ("low", "medium", "high")
# web_search_call items come back when a client sends a previous output as the next input.
ITEM_TYPES = ("message", "function_call", "function_call_output", "reasoning", "item_reference",
              "web_search_call")
INPUT_ROLES = ("user", "assistant", "system", "developer")
INPUT_PARTS = ("input_text", "input_image", "input_file")
ASSISTANT_PARTS = ("output_text", "refusal", "input_text")
MIN_OUTPUT_TOKENS = 16


def read_request(raw: bytes, fault: str | None) -> ResponsesRequest:
    """The validated request of a raw body, or the ``ApiError`` that refuses it."""
    try:
        return parse_checked(
            _request_json(raw, fault), functools.partial(parse_responses_request, fault=fault),
            "responses.yaml", "CreateResponseRequest",
            default_missing_model=fault == "responses-accepts-missing-model",
            crash_on_wrong_type=fault == "responses-500-on-wrong-type")
    except ApiError as error:
        if fault == "responses-validation-422" and error.status == 400:
            # the bug: a FastAPI/pydantic validation body, which OpenAI clients cannot read
            raise ApiError(422, error.message, body={"detail": [{
                "loc": ["body", error.param], "msg": error.message,
                "type": "value_error"}]}) from error
        raise


def _request_json(raw: bytes, fault: str | None) -> dict[str, Any]:
    try:
        return parse_json_object(raw)
    except ApiError as error:
        if fault == "responses-invalid-json-500":
            raise server_error() from error  # the bug: json.loads raises, nothing catches it
        raise


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

    @property
    def function_tools(self) -> list[dict[str, Any]]:
        return [tool for tool in self.tools if tool["type"] == "function"]

    @property
    def offers_web_search(self) -> bool:
        return any(tool["type"] in WEB_SEARCH_TOOLS for tool in self.tools)


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
    request.temperature = _value_or(fields.number("temperature", minimum=0, maximum=2), 1.0)
    request.top_p = _value_or(fields.number("top_p", minimum=0, maximum=1), 1.0)
    request.truncation = fields.choice("truncation", ("auto", "disabled")) or "disabled"
    request.user = fields.string("user")
    request.stream = bool(fields.boolean("stream"))
    _validate_accepted_extras(fields)
    return request


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
    if fault == "responses-stream-refused" and body.get("stream") is True:
        raise bad_request("Streaming is not supported by this gateway.", "stream",
                          "unsupported_value")
    if fault == "responses-tool-choice-ignored" and _names_function(body.get("tool_choice")):
        body["tool_choice"] = "none"
    if fault == "responses-stream-tool-choice-ignored" and body.get("stream") is True and \
            _names_function(body.get("tool_choice")):
        body["tool_choice"] = "none"  # the bug: only the non-stream path maps named choices
    if fault == "responses-hosted-tool-dropped":
        body = _without_hosted_tools(body)
    if fault == "responses-function-output-dropped" and isinstance(body.get("input"), list):
        body["input"] = [i for i in body["input"] if not (
            isinstance(i, dict) and i.get("type") == "function_call_output")]
        _refuse_unanswered_calls(body["input"])
    if fault == "responses-unknown-model-routed" and body.get("model") not in MODELS:
        body["model"] = DEFAULT_MODEL
    return body


def _names_function(choice: Any) -> bool:
    return isinstance(choice, dict) and choice.get("type") == "function"


def _without_hosted_tools(body: dict[str, Any]) -> dict[str, Any]:
    """The request as a gateway that only knows function tools forwards it."""
    tools = body.get("tools")
    if isinstance(tools, list):
        body["tools"] = [t for t in tools if not (isinstance(t, dict) and t.get("type") in
                                                    HOSTED_TOOLS)] or None
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in HOSTED_TOOLS:
        body["tool_choice"] = None
    return {k: v for k, v in body.items() if v is not None or k not in ("tools", "tool_choice")}


def _refuse_unanswered_calls(items: list[Any]) -> None:
    """What the upstream (OpenAI) answers to a function_call whose output was dropped."""
    answered = {i.get("call_id") for i in items
                if isinstance(i, dict) and i.get("type") == "function_call_output"}
    for item in items:
        if isinstance(item, dict) and item.get("type") == "function_call" and \
                item.get("call_id") not in answered:
            raise bad_request(f"No tool output found for function call {item.get('call_id')}.",
                              "input")


def _has_part_content(items: Any) -> bool:
    return isinstance(items, list) and any(
        isinstance(i, dict) and isinstance(i.get("content"), list) for i in items)


def _value_or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _validate_accepted_extras(fields: Fields) -> None:
    """Parameters that are accepted (and type-checked) but do not change the output."""
    fields.integer("max_tool_calls", minimum=1)
    fields.integer("top_logprobs", minimum=0, maximum=20)
    fields.string("prompt_cache_key")
    fields.string("safety_identifier")
    fields.choice("service_tier", SERVICE_TIERS)
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
    elif kind in ("item_reference", "web_search_call"):
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
    """Function and web search tools, normalised for echoing; other hosted tools are refused."""
    tools = fields.array("tools", max_items=128) or []
    normalised = []
    for index in range(len(tools)):
        tool = fields.item("tools", index)
        kind = tool.string("type", required=True)
        if kind in WEB_SEARCH_TOOLS:
            normalised.append(_web_search_tool(tool, kind))
            continue
        if kind in HOSTED_TOOLS:
            raise bad_request(
                f"The tool type '{kind}' is not supported: the only hosted tool this gateway "
                f"offers is web search; use 'function' tools.", "tools", "unsupported_value")
        if kind != "function":
            raise invalid_value(tool.param("type"), kind, ("function", *WEB_SEARCH_TOOLS))
        normalised.append(_function_tool(tool))
    return normalised


def _function_tool(tool: Fields) -> dict[str, Any]:
    name = tool.string("name", required=True)
    check_function_name(name, tool.param("name"))
    strict = tool.boolean("strict")
    return {
        "type": "function",
        "name": name,
        "description": tool.string("description"),
        "parameters": tool.object("parameters"),
        "strict": True if strict is None else strict,  # Responses defaults to strict
    }


def _web_search_tool(tool: Fields, kind: str) -> dict[str, Any]:
    """The declared search options, echoed with OpenAI's defaults; the search ignores them."""
    size = tool.choice("search_context_size", SEARCH_CONTEXT_SIZES) or "medium"
    return {"type": kind, "search_context_size": size,
            "user_location": tool.object("user_location")}


def _validate_tool_choice(fields: Fields, tools: list[dict[str, Any]]) -> Any:
    choice = fields.obj.get("tool_choice")
    if choice is None:
        return "auto"
    if isinstance(choice, str):
        return fields.choice("tool_choice", ("none", "auto", "required"))
    named = fields.child("tool_choice")
    kind = named.string("type", required=True)
    if kind in WEB_SEARCH_TOOLS:
        return _web_search_choice(kind, tools)
    if kind in HOSTED_TOOLS:
        raise bad_request(f"The tool type '{kind}' is not supported: the only hosted tool this "
                          f"gateway offers is web search.", "tool_choice", "unsupported_value")
    if kind != "function":
        raise invalid_value("tool_choice.type", kind, ("function", *WEB_SEARCH_TOOLS))
    name = named.string("name", required=True)
    declared = [t["name"] for t in tools if t["type"] == "function"]
    if name not in declared:
        raise invalid_value("tool_choice.name", name, declared or ["(no tools)"])
    return {"type": "function", "name": name}


def _web_search_choice(kind: str, tools: list[dict[str, Any]]) -> dict[str, Any]:
    """Forcing the search is only meaningful when the request declares a web search tool."""
    if not any(t["type"] in WEB_SEARCH_TOOLS for t in tools):
        raise bad_request(f"Tool choice '{kind}' requires a web search tool in 'tools'.",
                          "tool_choice", "invalid_value")
    return {"type": kind}


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
        raise unsupported_with_model("reasoning.effort", request.model)
    request.reasoning_effort, request.reasoning_summary = effort, summary
