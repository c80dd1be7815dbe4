"""The OpenAI operations that schemathesis draws request bodies for (`conformance.generated`):
Chat Completions and Responses, each with the minimal body negative cases start from and the
steps that keep a generated request cheap and answerable (the rules of a valid request that the
schema cannot state, from the API reference's prose)."""

from __future__ import annotations

from typing import Any

from conformance.generated import (
    MAX_OUTPUT_TOKENS,
    SHORT_TEXT,
    Operation,
    capped_tokens,
    dropping,
    known_fields,
    set_model,
    text_only,
)


def _chat_base(model: str) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": SHORT_TEXT}],
            "max_completion_tokens": MAX_OUTPUT_TOKENS}


def _responses_base(model: str) -> dict[str, Any]:
    return {"model": model, "input": SHORT_TEXT, "max_output_tokens": MAX_OUTPUT_TOKENS,
            "store": False}


def _one_choice(body: Any, model: str) -> Any:
    if isinstance(body, dict) and body.get("n") is not None:
        return {**body, "n": 1}
    return body


def _consistent_chat_options(body: Any, model: str) -> Any:
    """Options the API only takes together with another one (documented 400s otherwise)."""
    if not isinstance(body, dict):
        return body
    body = dict(body)
    if body.get("stream") is not True:
        body.pop("stream_options", None)  # "only allowed when stream is enabled"
    if not body.get("tools"):
        body.pop("tool_choice", None)  # "only allowed when tools are specified"
        body.pop("parallel_tool_calls", None)
    if body.get("logprobs") is not True:
        body.pop("top_logprobs", None)  # "logprobs must be set to true"
    return body


def _assistant_content(body: Any, model: str) -> Any:
    """An assistant message says something: the API reference documents its `content` as
    "required unless tool_calls or function_call is specified", a rule the schema cannot state
    (`content` alone is optional there), and the API refuses a message with neither."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return body
    messages = [{**m, "content": SHORT_TEXT} if _says_nothing(m) else m
                for m in body["messages"]]
    return {**body, "messages": messages}


def _says_nothing(message: Any) -> bool:
    return (isinstance(message, dict) and message.get("role") == "assistant"
            and message.get("content") is None and not message.get("tool_calls")
            and message.get("function_call") is None)


def _answered_tool_calls(body: Any, model: str) -> Any:
    """Tool calls and tool results come in pairs, as the API requires (a rule of the
    conversation, stated in the API reference's prose, that no schema can state): a `tool`
    message answers a call of the assistant message before it (one is made up for an orphan
    result), and each call gets its result before the conversation goes on."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return body
    paired: list[Any] = []
    waiting: list[str] = []  # ids of the last assistant message's calls without a result yet
    for message in body["messages"]:
        role = message.get("role") if isinstance(message, dict) else None
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id in waiting:
                waiting.remove(call_id)
            elif isinstance(call_id, str):
                paired.append({"role": "assistant", "content": None, "tool_calls": [
                    {"id": call_id, "type": "function",
                     "function": {"name": "lookup", "arguments": "{}"}}]})
            paired.append(message)
            continue
        paired += [_tool_result(call_id) for call_id in waiting]
        paired.append(message)
        waiting = _call_ids(message) if role == "assistant" else []
    paired += [_tool_result(call_id) for call_id in waiting]
    return {**body, "messages": paired}


def _call_ids(message: dict[str, Any]) -> list[str]:
    calls = message.get("tool_calls")
    return [c["id"] for c in calls if isinstance(c, dict) and isinstance(c.get("id"), str)] \
        if isinstance(calls, list) else []


def _tool_result(call_id: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": SHORT_TEXT}


def _declared_tool_choice(body: Any, model: str) -> Any:
    """A `tool_choice` naming a tool names one the request declares (the API refuses others)."""
    if not isinstance(body, dict) or not isinstance(body.get("tool_choice"), dict):
        return body
    choice = body["tool_choice"]
    kind = choice.get("type")
    named = choice.get(kind) if kind in ("function", "custom") else None
    if not isinstance(named, dict):
        named = choice if kind in ("function", "custom") else None  # Responses: {type, name}
    if named is None:
        return body
    declared = {_tool_name(t) for t in body.get("tools") or [] if isinstance(t, dict)}
    if named.get("name") in declared:
        return body
    return {k: v for k, v in body.items() if k != "tool_choice"}


def _tool_name(tool: dict[str, Any]) -> Any:
    inner = tool.get(tool.get("type")) if isinstance(tool.get("type"), str) else None
    return inner.get("name") if isinstance(inner, dict) else tool.get("name")


_CHAT_TEXT_PARTS = ("text", "refusal")


def _text_only_messages(body: Any, model: str) -> Any:
    """No image, audio or file parts: a real gateway would fetch, decode and bill them."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return body
    messages = [text_only(m, _CHAT_TEXT_PARTS) for m in body["messages"]]
    return {**body, "messages": messages}


def _no_store(body: Any, model: str) -> Any:
    # Responses are stored by default: ask for nothing to be kept (`store` dropped is stateful).
    return {**body, "store": False} if isinstance(body, dict) else body


def _some_input(body: Any, model: str) -> Any:
    # `input` is optional in the schema, but a request without it has nothing to answer.
    if isinstance(body, dict) and body.get("input") is None:
        return {**body, "input": SHORT_TEXT}
    return body


_CHEAP_TOOLS = ("function", "custom")  # declared tools the model only names: nothing is run
_CHEAP_ITEMS = ("message", "function_call", "function_call_output")
_RESPONSES_TEXT_PARTS = ("input_text", "output_text", "refusal")


def _cheap_tools(body: Any, model: str) -> Any:
    """Only function and custom tools: hosted tools search, run code or draw images."""
    if not isinstance(body, dict):
        return body
    body = dict(body)
    if isinstance(body.get("tools"), list):
        body["tools"] = [t for t in body["tools"]
                         if isinstance(t, dict) and t.get("type") in _CHEAP_TOOLS]
    if not body.get("tools"):
        body.pop("tools", None)
        body.pop("tool_choice", None)
        body.pop("parallel_tool_calls", None)
        body.pop("max_tool_calls", None)
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") not in _CHEAP_TOOLS:
        body.pop("tool_choice")
    return body


def _cheap_input(body: Any, model: str) -> Any:
    """Text messages and function-call turns only: no stored items, files or screenshots."""
    if not isinstance(body, dict) or not isinstance(body.get("input"), list):
        return body
    items = [_cheap_item(item) for item in body["input"] if _is_cheap_item(item)]
    return {**body, "input": items or SHORT_TEXT}


def _is_cheap_item(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    kind = item.get("type", "message" if "role" in item else None)
    return kind in _CHEAP_ITEMS


def _cheap_item(item: dict[str, Any]) -> dict[str, Any]:
    item = text_only(item, _RESPONSES_TEXT_PARTS)
    return text_only(item, _RESPONSES_TEXT_PARTS, key="output")


def _answered_function_calls(body: Any, model: str) -> Any:
    """Function calls and their outputs come in pairs, as the API requires: an output answers
    a `function_call` item before it (one is made up for an orphan output), and every call
    gets its output."""
    if not isinstance(body, dict) or not isinstance(body.get("input"), list):
        return body
    paired: list[Any] = []
    open_calls: list[str] = []
    for item in body["input"]:
        kind = item.get("type") if isinstance(item, dict) else None
        call_id = item.get("call_id") if isinstance(item, dict) else None
        if kind == "function_call_output" and isinstance(call_id, str):
            if call_id in open_calls:
                open_calls.remove(call_id)
            else:
                paired.append({"type": "function_call", "call_id": call_id or "call_0",
                               "name": "lookup", "arguments": "{}"})
                item = {**item, "call_id": call_id or "call_0"}
        elif kind == "function_call" and isinstance(call_id, str):
            open_calls.append(call_id)
        paired.append(item)
    paired += [{"type": "function_call_output", "call_id": call_id, "output": SHORT_TEXT}
               for call_id in open_calls]
    return {**body, "input": paired}


def _consistent_responses_options(body: Any, model: str) -> Any:
    if isinstance(body, dict) and body.get("stream") is not True:
        return {k: v for k, v in body.items() if k != "stream_options"}
    return body


CHAT = Operation(
    name="chat",
    document="chat.yaml",
    path="/chat/completions",
    request_schema="CreateChatCompletionRequest",
    response_schema="CreateChatCompletionResponse",
    base=_chat_base,
    steps=(
        ("model", set_model),
        # audio output, predicted outputs, web search, stored completions, paid tiers
        ("expensive-or-stateful", dropping("audio", "modalities", "prediction",
                                            "web_search_options", "store", "service_tier",
                                            "moderation")),
        ("max-tokens", capped_tokens("max_completion_tokens", "max_tokens")),
        ("n", _one_choice),
        ("text-only", _text_only_messages),
        # rules of a valid request the schema cannot state (the API reference's prose)
        ("known-fields", known_fields("chat")),
        ("assistant-content", _assistant_content),
        ("tool-results", _answered_tool_calls),
        ("tool-choice", _declared_tool_choice),
        ("consistent-options", _consistent_chat_options),
    ),
)

RESPONSES = Operation(
    name="responses",
    document="responses.yaml",
    path="/responses",
    request_schema="CreateResponseRequest",
    response_schema="Response",
    base=_responses_base,
    steps=(
        ("model", set_model),
        # stored prompts, conversations and earlier responses are state; background is a job
        ("expensive-or-stateful", dropping("prompt", "conversation", "previous_response_id",
                                            "background", "context_management",
                                            "service_tier", "moderation")),
        ("store", _no_store),
        ("max-output-tokens", capped_tokens("max_output_tokens", minimum=MAX_OUTPUT_TOKENS)),
        ("tools", _cheap_tools),
        ("input", _some_input),
        ("text-only", _cheap_input),
        # rules of a valid request the schema cannot state (the API reference's prose)
        ("known-fields", known_fields("responses")),
        ("function-outputs", _answered_function_calls),
        ("tool-choice", _declared_tool_choice),
        ("consistent-options", _consistent_responses_options),
    ),
)
