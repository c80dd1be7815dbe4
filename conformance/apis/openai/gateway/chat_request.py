"""``POST /v1/chat/completions`` requests: validation into a ``ChatRequest``.

Messages and codes follow OpenAI's own validation errors (see ``validation``). The request-side
faults of ``CHAT_FAULTS`` (shapes a faulty gateway refuses or crashes on, parameters it drops)
are committed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance import schemas
from conformance.gateway.errors import server_error

from .errors import bad_request, missing_parameter
from .models import ModelInfo, resolve_model
from .validation import (
    REASONING_EFFORTS,
    SERVICE_TIERS,
    Fields,
    check_function_name,
    invalid_type,
    invalid_value,
    unsupported_with_model,
)

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
TOOL_CHOICES = ("none", "auto", "required")
RESPONSE_FORMATS = ("text", "json_object", "json_schema")
MAX_N = 8
KNOWN_FIELDS = frozenset(schemas.document("chat.yaml")["components"]["schemas"][
    "CreateChatCompletionRequest"]["properties"])

_PARTS_BY_ROLE = {
    "system": ("text",),
    "developer": ("text",),
    "user": ("text", "image_url", "input_audio", "file"),
    "assistant": ("text", "refusal"),
    "tool": ("text",),
    "function": ("text",),
}


@dataclass
class ChatRequest:
    model: ModelInfo
    messages: list[dict[str, Any]]
    n: int = 1
    stream: bool = False
    include_usage: bool = False
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = None
    parallel_tool_calls: bool = True
    response_format: dict[str, Any] | None = None
    logprobs: bool = False
    top_logprobs: int = 0


def parse_chat_request(body: dict[str, Any], fault: str | None) -> ChatRequest:
    _refuse_shapes(body, fault)
    fields = Fields(body)
    model_name = fields.string("model", required=True)
    messages = _validate_messages(fields)
    request = ChatRequest(model=resolve_model(model_name, fault), messages=messages)
    _validate_sampling(fields)
    request.n = fields.integer("n", minimum=1, maximum=MAX_N) or 1
    request.stream = bool(fields.boolean("stream"))
    request.include_usage = _validate_stream_options(fields, request.stream, fault)
    request.max_tokens = _validate_max_tokens(fields, fault)
    request.stop = _validate_stop(fields)
    request.tools = _validate_tools(fields)
    request.tool_choice = _validate_tool_choice(fields, request.tools)
    request.parallel_tool_calls = fields.boolean("parallel_tool_calls") is not False
    request.response_format = _validate_response_format(fields)
    request.logprobs, request.top_logprobs = _validate_logprobs(fields)
    effort = fields.choice("reasoning_effort", REASONING_EFFORTS)
    if effort is not None and not request.model.reasoning:
        raise unsupported_with_model("reasoning_effort", request.model)
    if fault == "chat-n-ignored":
        request.n = 1
    if fault == "chat-stop-ignored":
        request.stop = []
    return request


def _refuse_shapes(body: dict[str, Any], fault: str | None) -> None:
    """Faults of gateways that refuse (or crash on) request shapes clients send."""
    messages = body.get("messages") if isinstance(body.get("messages"), list) else []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            continue  # validation names the bad item
        role = message.get("role")
        if fault == "chat-developer-role-rejected" and role == "developer":
            raise invalid_value(f"messages[{index}].role", role,
                                ["system", "user", "assistant", "tool"])
        if fault == "chat-content-parts-500" and isinstance(message.get("content"), list):
            raise server_error()  # the bug: content.strip() on a list
        if fault == "chat-tool-followup-rejected" and role == "assistant" and \
                message.get("content") is None:
            raise invalid_type(f"messages[{index}].content", "a string", None)
    if fault == "chat-stream-options-refused" and "stream_options" in body:
        raise bad_request("Unsupported parameter: 'stream_options' is not supported by this "
                          "gateway.", "stream_options", "unsupported_parameter")
    if fault == "chat-stream-refused" and body.get("stream") is True:
        raise bad_request("Unsupported value: 'stream' does not support true with this gateway.",
                          "stream", "unsupported_value")
    if fault == "chat-seed-rejected" and "seed" in body:
        raise bad_request("Unsupported parameter: 'seed' is not supported by this gateway.",
                          "seed", "unsupported_parameter")
    unknown = [name for name in body if name not in KNOWN_FIELDS]
    if unknown and fault == "chat-unknown-field-500":
        raise server_error()
    if unknown and fault == "chat-unknown-field-400":
        raise bad_request(f"Unrecognized request argument supplied: {unknown[0]}")


def _validate_messages(fields: Fields) -> list[dict[str, Any]]:
    messages = fields.array("messages", required=True, min_items=1)
    for index in range(len(messages)):
        _validate_message(fields.item("messages", index))
    return messages


def _validate_message(message: Fields) -> None:
    role = message.choice("role", ROLES, required=True)
    message.string("name")
    has_tool_calls = _validate_assistant_tool_calls(message) if role == "assistant" else False
    content_required = role != "assistant" or not (has_tool_calls or message.present("refusal")
                                                   or message.present("function_call"))
    if role == "function":
        message.string("name", required=True)
        content_required = False
    _validate_content(message, _PARTS_BY_ROLE[role], required=content_required)
    if role == "tool":
        message.string("tool_call_id", required=True)


def _validate_content(message: Fields, part_types: tuple[str, ...], required: bool) -> None:
    content = message.obj.get("content")
    if content is None:
        if required:
            raise missing_parameter(message.param("content"))
        return
    if isinstance(content, str):
        return
    content_fields = Fields(message.obj, message.path)
    content_fields.array("content", min_items=1)  # raises the right error for other types
    for index in range(len(content)):
        part = content_fields.item("content", index)
        kind = part.choice("type", part_types, required=True)
        if kind in ("text", "refusal"):
            part.string(kind, required=True)


def _validate_assistant_tool_calls(message: Fields) -> bool:
    calls = message.array("tool_calls")
    for index in range(len(calls or [])):
        call = message.item("tool_calls", index)
        call.string("id", required=True)
        call.choice("type", ("function",), required=True)
        function = call.child("function", required=True)
        function.string("name", required=True)
        function.string("arguments", required=True)
    return bool(calls)


def _validate_sampling(fields: Fields) -> None:
    fields.number("temperature", minimum=0, maximum=2)
    fields.number("top_p", minimum=0, maximum=1)
    fields.number("presence_penalty", minimum=-2, maximum=2)
    fields.number("frequency_penalty", minimum=-2, maximum=2)
    fields.integer("seed")
    fields.string("user")
    fields.boolean("store")
    fields.metadata()
    fields.choice("service_tier", SERVICE_TIERS)
    fields.choice("verbosity", ("low", "medium", "high"))
    bias = fields.object("logit_bias") or {}
    for token in bias:
        Fields(bias, fields.param("logit_bias")).number(token, minimum=-100, maximum=100)


def _validate_stream_options(fields: Fields, stream: bool, fault: str | None) -> bool:
    options = fields.child("stream_options")
    if options is None:
        return False
    if not stream and fault != "chat-stream-options-accepted":
        raise bad_request(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options", "invalid_value")
    options.boolean("include_obfuscation")
    return bool(options.boolean("include_usage"))


def _validate_max_tokens(fields: Fields, fault: str | None) -> int | None:
    legacy = fields.integer("max_tokens", minimum=1)  # deprecated, still honoured
    current = fields.integer("max_completion_tokens", minimum=1)
    if fault == "chat-max-tokens-ignored":
        legacy = None  # the bug: only the new name is forwarded upstream
    if fault == "chat-max-completion-tokens-ignored":
        current = None  # the bug: only the old name is forwarded upstream
    return current if current is not None else legacy


def _validate_stop(fields: Fields) -> list[str]:
    stop = fields.obj.get("stop")
    if stop is None:
        return []
    if isinstance(stop, str):
        return [stop]
    fields.array("stop", max_items=4)  # raises the type / length error
    for index, item in enumerate(stop):
        if not isinstance(item, str):
            raise invalid_type(f"stop[{index}]", "a string", item)
    return list(stop)


def _validate_tools(fields: Fields) -> list[dict[str, Any]]:
    tools = fields.array("tools", max_items=128) or []
    for index in range(len(tools)):
        tool = fields.item("tools", index)
        tool.choice("type", ("function",), required=True)
        function = tool.child("function", required=True)
        check_function_name(function.string("name", required=True), function.param("name"))
        function.string("description")
        function.object("parameters")
        function.boolean("strict")
    return tools


def _validate_tool_choice(fields: Fields, tools: list[dict[str, Any]]) -> Any:
    choice = fields.obj.get("tool_choice")
    if choice is None:
        return None
    if isinstance(choice, str):
        fields.choice("tool_choice", TOOL_CHOICES)
    else:
        named = fields.child("tool_choice")  # raises for non-objects
        named.choice("type", ("function",), required=True)
        name = named.child("function", required=True).string("name", required=True)
        declared = [t["function"]["name"] for t in tools]
        if name not in declared:
            raise invalid_value("tool_choice.function.name", name, declared or ["(no tools)"])
    if not tools and choice != "none":
        raise bad_request(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are "
            "specified.", "tool_choice", "invalid_value")
    return choice


def _validate_response_format(fields: Fields) -> dict[str, Any] | None:
    response_format = fields.child("response_format")
    if response_format is None:
        return None
    kind = response_format.choice("type", RESPONSE_FORMATS, required=True)
    if kind == "json_schema":
        spec = response_format.child("json_schema", required=True)
        check_function_name(spec.string("name", required=True), spec.param("name"))
        spec.object("schema")
        spec.boolean("strict")
        spec.string("description")
    return response_format.obj


def _validate_logprobs(fields: Fields) -> tuple[bool, int]:
    logprobs = bool(fields.boolean("logprobs"))
    top = fields.integer("top_logprobs", minimum=0, maximum=20)
    if top is not None and not logprobs:
        raise bad_request(
            "Invalid value for 'top_logprobs': 'logprobs' must be set to true when "
            "'top_logprobs' is used.", "top_logprobs", "invalid_value")
    return logprobs, top or 0

