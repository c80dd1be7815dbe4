"""``POST /v1/messages`` and ``count_tokens`` requests: validation into a ``MessagesRequest``.

Validation goes the way the real API's does: the ``anthropic-version`` header, then the body
against our OpenAPI document (``openapi/messages.yaml``: required fields, types, ranges, the
closed unions of blocks, tools, ``tool_choice`` and ``thinking``), then the model (404), then
the rules no schema states (thinking on a model that offers it and within ``max_tokens``,
``tool_choice`` naming a declared tool, ``tool_result`` blocks answering the previous turn's
``tool_use`` blocks, ...). Messages follow the real API's ``<path>: <reason>`` style.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from starlette.datastructures import Headers

from conformance import schemas
from conformance.gateway.errors import ApiError

from . import faults
from .errors import invalid_request
from .models import ClaudeModel, resolve_model
from .thinking import signature

DOCUMENT = "messages.yaml"
CREATE = "CreateMessageRequest"
COUNT = "CountMessageTokensRequest"


@dataclass
class MessagesRequest:
    model: ClaudeModel
    messages: list[dict[str, Any]]
    system: str = ""
    max_tokens: int | None = None  # None: a count_tokens request
    stop_sequences: list[str] = field(default_factory=list)
    stream: bool = False
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: dict[str, Any] | None = None
    thinking_budget: int | None = None  # None: no extended thinking

    @property
    def custom_tools(self) -> list[dict[str, Any]]:
        """The tools the model may call itself (server tools run on the API's side)."""
        return [tool for tool in self.tools if "input_schema" in tool]


def parse_request(headers: Headers, raw: bytes, schema: str, fault: str | None) -> MessagesRequest:
    _check_version(headers, fault)
    body = _json_object(raw, fault)
    body = _faulty_body(body, schema, fault)
    _check_spec(body, schema)
    _check_block_forms(body, fault)
    model = resolve_model(body["model"], fault)
    return _interpret(body, model)


def _check_version(headers: Headers, fault: str | None) -> None:
    if headers.get("anthropic-version") or fault == faults.VERSION_IGNORED:
        return
    if fault == faults.VERSION_500:  # the bug: the missing header crashes the gateway
        raise ApiError(500, "Internal server error")
    raise invalid_request("anthropic-version: header is required")


def _json_object(raw: bytes, fault: str | None) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        if fault == faults.INVALID_JSON_500:  # the bug: a parse failure crashes the gateway
            raise ApiError(500, "Internal server error") from exc
        raise invalid_request(f"There was an error parsing the body of your request: {exc}") \
            from exc
    if not isinstance(body, dict):
        raise invalid_request("Input should be a valid dictionary or object")
    return body


# --- request-side faults ------------------------------------------------------------------

# What a relay passes on without reading (PASSTHROUGH_UNVALIDATED).
_PASSED_THROUGH = ("container", "inference_geo", "cache_control", "service_tier",
                   "output_config")


def _faulty_body(body: dict[str, Any], schema: str, fault: str | None) -> dict[str, Any]:
    """The body as a faulty gateway reads it before validating (unchanged when clean)."""
    if fault == faults.MAX_TOKENS_DEFAULTED and schema == CREATE:
        return {"max_tokens": 4096, **body}  # the bug: LiteLLM's default fills the gap
    if fault == faults.MAX_TOKENS_422 and schema == CREATE and "max_tokens" not in body:
        raise ApiError(422, "max_tokens: Field required")
    temperature = body.get("temperature")
    if fault == faults.TEMPERATURE_CLAMPED and isinstance(temperature, (int, float)) \
            and not isinstance(temperature, bool) and temperature > 1:
        return {**body, "temperature": 1}  # the bug: out of range is clamped, not refused
    if fault == faults.PASSTHROUGH_UNVALIDATED:  # the bug: never looked at, never validated
        return {k: v for k, v in body.items() if k not in _PASSED_THROUGH}
    if fault == faults.EMPTY_STOP_SEQUENCES_500 and body.get("stop_sequences") == []:
        raise ApiError(500, "list index out of range")  # the bug: reads stop_sequences[0]
    return body


def _check_block_forms(body: dict[str, Any], fault: str | None) -> None:
    """The block forms a string-only relay refuses (clean: both forms are accepted)."""
    if fault == faults.SYSTEM_BLOCKS_REFUSED and isinstance(body.get("system"), list):
        raise invalid_request("system: Input should be a valid string")
    if fault != faults.CONTENT_BLOCKS_REFUSED:
        return
    for index, message in enumerate(body["messages"]):
        content = message["content"]
        # only user text: tool results and assistant turns take another path in such a relay
        if message["role"] == "user" and isinstance(content, list) \
                and all(block["type"] == "text" for block in content):
            raise invalid_request(f"messages.{index}.content: Input should be a valid string")


# --- the schema ---------------------------------------------------------------------------


@functools.cache
def _validator(schema: str) -> Draft202012Validator:
    """A validator for one component of messages.yaml; its local ``$ref``s resolve against the
    whole document, which is the root (the OpenAPI keys are not JSON Schema keywords)."""
    document = schemas.document(DOCUMENT)
    return Draft202012Validator({**document, "$ref": f"#/components/schemas/{schema}"})


_KINDS = {"string": "a valid string", "integer": "a valid integer", "number": "a valid number",
          "boolean": "a valid boolean", "array": "a valid list", "object": "a valid dictionary",
          "null": "None"}


def _check_spec(body: dict[str, Any], schema: str) -> None:
    error = best_match(_validator(schema).iter_errors(body))
    if error is not None:
        raise invalid_request(_describe(error))


def _describe(error: ValidationError) -> str:
    """A schema violation in the API's words, e.g. ``max_tokens: Field required``."""
    path = ".".join(str(part) for part in error.absolute_path)
    value = error.validator_value
    if error.validator == "required":
        missing = next(name for name in value if name not in error.instance)
        return f"{path + '.' if path else ''}{missing}: Field required"
    reasons = {
        "type": lambda: "Input should be " + " or ".join(
            _KINDS.get(kind, kind) for kind in (value if isinstance(value, list) else [value])),
        "minimum": lambda: f"Input should be greater than or equal to {value}",
        "maximum": lambda: f"Input should be less than or equal to {value}",
        "minItems": lambda: f"List should have at least {value} item after validation",
        "minLength": lambda: f"String should have at least {value} character",
        "enum": lambda: "Input should be " + " or ".join(repr(v) for v in value),
        "const": lambda: f"Input should be {value!r}",
    }
    reason = reasons.get(str(error.validator), lambda: error.message)()
    return f"{path or 'body'}: {reason}"


# --- the rules no schema states -----------------------------------------------------------


def _interpret(body: dict[str, Any], model: ClaudeModel) -> MessagesRequest:
    request = MessagesRequest(
        model=model,
        messages=body["messages"],
        system=_system_text(body.get("system")),
        max_tokens=body.get("max_tokens"),
        stop_sequences=body.get("stop_sequences") or [],
        stream=body.get("stream") is True,
        tools=body.get("tools") or [],
        tool_choice=body.get("tool_choice"),
        thinking_budget=_thinking_budget(body, model),
    )
    _check_max_tokens(request)
    _check_stop_sequences(request.stop_sequences)
    _check_tool_choice(request)
    _check_sampling(body, request)
    for index, message in enumerate(request.messages):
        _check_message(request.messages, index, message)
    return request


def _system_text(system: Any) -> str:
    if isinstance(system, list):
        return "\n".join(block["text"] for block in system)
    return system or ""


def _thinking_budget(body: dict[str, Any], model: ClaudeModel) -> int | None:
    thinking = body.get("thinking") or {"type": "disabled"}
    if thinking["type"] == "disabled":
        return None
    if not model.thinking:
        raise invalid_request(f"thinking: '{model.id}' does not support extended thinking")
    max_tokens = body.get("max_tokens")
    if thinking["type"] == "adaptive":  # the model decides: anything below the cap
        return None if max_tokens is None else max(0, max_tokens - 1)
    budget = thinking["budget_tokens"]
    if max_tokens is not None and budget >= max_tokens:
        raise invalid_request("`max_tokens` must be greater than `thinking.budget_tokens`")
    return budget


def _check_max_tokens(request: MessagesRequest) -> None:
    cap = request.model.max_output_tokens
    if request.max_tokens is not None and request.max_tokens > cap:
        raise invalid_request(f"max_tokens: {request.max_tokens} > {cap}, which is the maximum "
                              f"allowed number of output tokens for {request.model.id}")


def _check_stop_sequences(stops: list[str]) -> None:
    if any(not stop.strip() for stop in stops):
        raise invalid_request("stop_sequences: each stop sequence must contain non-whitespace")


def _check_tool_choice(request: MessagesRequest) -> None:
    choice = request.tool_choice
    if choice is None or choice["type"] == "none":
        return
    if not request.tools:
        raise invalid_request("tool_choice: tool_choice may only be specified while providing "
                              "tools")
    names = {tool.get("name") for tool in request.tools}
    if choice["type"] == "tool" and choice["name"] not in names:
        raise invalid_request(f"tool_choice.name: Tool '{choice['name']}' not found in tools")
    if request.thinking_budget is not None and choice["type"] in ("any", "tool"):
        raise invalid_request("Thinking may not be enabled when tool_choice forces tool use.")


def _check_sampling(body: dict[str, Any], request: MessagesRequest) -> None:
    if request.thinking_budget is None:
        return
    if body.get("temperature", 1) != 1:
        raise invalid_request("`temperature` may only be set to 1 when thinking is enabled")
    if "top_k" in body:
        raise invalid_request("`top_k` is not supported when thinking is enabled")


def blocks(content: Any) -> list[dict[str, Any]]:
    """A message's content as blocks (a string is one text block)."""
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


def _check_message(messages: list[dict[str, Any]], index: int, message: dict[str, Any]) -> None:
    # An assistant turn at the end is a prefill the model continues: it may be empty.
    prefill = index == len(messages) - 1 and message["role"] == "assistant"
    if message["content"] in ("", []) and not prefill:
        raise invalid_request(f"messages.{index}: all messages must have non-empty content "
                              "except for the optional final assistant message")
    content = blocks(message["content"])
    for position, block in enumerate(content):
        where = f"messages.{index}.content.{position}"
        if block["type"] == "text" and not block["text"] and not prefill:
            raise invalid_request(f"{where}: text content blocks must be non-empty")
        if block["type"] == "thinking" and block["signature"] != signature(block["thinking"]):
            raise invalid_request(f"{where}: Invalid `signature` in `thinking` block")
    _check_tool_results(messages, index, content)


def _tool_use_ids(message: Mapping[str, Any] | None) -> list[str]:
    if message is None or message["role"] != "assistant":
        return []
    return [b["id"] for b in blocks(message["content"]) if b["type"] == "tool_use"]


def _check_tool_results(messages: list[dict[str, Any]], index: int,
                        content: list[dict[str, Any]]) -> None:
    """Each tool_use of an assistant turn is answered by a tool_result in the next message, and
    each tool_result answers a tool_use of the turn right before it."""
    previous = messages[index - 1] if index else None
    answered = [b["tool_use_id"] for b in content if b["type"] == "tool_result"]
    unexpected = [i for i in answered if i not in _tool_use_ids(previous)]
    if unexpected:
        raise invalid_request(
            f"messages.{index}.content: unexpected `tool_use_id` found in `tool_result` blocks: "
            f"{', '.join(unexpected)}. Each `tool_result` block must have a corresponding "
            "`tool_use` block in the previous message.")
    following = messages[index + 1] if index + 1 < len(messages) else None
    if following is None:
        return
    results = {b.get("tool_use_id") for b in blocks(following["content"])
               if b["type"] == "tool_result"}
    missing = [i for i in _tool_use_ids(messages[index]) if i not in results]
    if missing:
        raise invalid_request(
            f"messages.{index}: `tool_use` ids were found without `tool_result` blocks "
            f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
            "corresponding `tool_result` block in the next message.")
