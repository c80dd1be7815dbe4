"""The Messages operation that schemathesis draws request bodies for (`conformance.generated`):
`POST /v1/messages`, with the minimal body negative cases start from and the steps that keep a
generated request cheap and answerable (the rules of a valid request the schema cannot state,
from the API reference's prose)."""

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


def _base(model: str) -> dict[str, Any]:
    return {"model": model, "max_tokens": MAX_OUTPUT_TOKENS,
            "messages": [{"role": "user", "content": SHORT_TEXT}]}


def _said(block: Any) -> Any:
    """A text block says something: the API refuses an empty one (outside a final prefill)."""
    if isinstance(block, dict) and block.get("text") == "":
        return {**block, "text": SHORT_TEXT}
    return block


def _text_messages(body: Any, model: str) -> Any:
    """Text turns only, each saying something: no images or documents to fetch and bill, no
    thinking blocks (their signatures are the API's own), no tool turns (a tool_use and its
    tool_result come in pairs, a rule of the conversation no schema states)."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return body
    messages = []
    for message in body["messages"]:
        message = text_only(message, ("text",))
        if isinstance(message, dict) and message.get("content") == "":
            message = {**message, "content": SHORT_TEXT}
        if isinstance(message, dict) and isinstance(message.get("content"), list):
            message = {**message, "content": [_said(b) for b in message["content"]]}
        messages.append(message)
    return {**body, "messages": messages}


def _custom_tools(body: Any, model: str) -> Any:
    """Only custom tools (with an `input_schema`), which the model only names: server tools
    search, fetch or run code; `tool_choice` is only allowed with tools and names a declared
    one."""
    if not isinstance(body, dict):
        return body
    body = dict(body)
    if isinstance(body.get("tools"), list):
        body["tools"] = [t for t in body["tools"] if isinstance(t, dict) and "input_schema" in t]
    if not body.get("tools"):
        body.pop("tools", None)
    choice = body.get("tool_choice")
    declared = {t.get("name") for t in body.get("tools") or []}
    if isinstance(choice, dict) and choice.get("type") != "none" and (
            not declared or (choice.get("type") == "tool" and choice.get("name") not in declared)):
        body.pop("tool_choice")
    return body


def _integral_max_tokens(body: Any, model: str) -> Any:
    """`max_tokens` drawn as an integral number (`16.0`, valid JSON Schema `integer`) as an
    integer, so that the cap applies to it."""
    if isinstance(body, dict) and isinstance(body.get("max_tokens"), float) \
            and body["max_tokens"].is_integer():
        return {**body, "max_tokens": int(body["max_tokens"])}
    return body


def _stop_sequences(body: Any, model: str) -> Any:
    """Stop sequences with something in them (the API refuses a blank one)."""
    if not isinstance(body, dict) or not isinstance(body.get("stop_sequences"), list):
        return body
    kept = [s for s in body["stop_sequences"] if isinstance(s, str) and s.strip()]
    return {**body, "stop_sequences": kept}


MESSAGES = Operation(
    name="messages",
    document="messages.yaml",
    path="/messages",
    request_schema="CreateMessageRequest",
    response_schema="Message",
    base=_base,
    steps=(
        ("model", set_model),
        # code containers, priority capacity and region pins cost or hold state; thinking needs
        # a budget of 1024 tokens, far above a cheap case's cap (judged by messages.thinking.*)
        ("expensive-or-stateful", dropping("container", "service_tier", "inference_geo",
                                            "thinking", "output_config", "cache_control")),
        ("integral-max-tokens", _integral_max_tokens),
        ("max-tokens", capped_tokens("max_tokens")),
        ("text-only", _text_messages),
        ("tools", _custom_tools),
        ("stop-sequences", _stop_sequences),
        # rules of a valid request the schema cannot state (the API reference's prose)
        ("known-fields", known_fields("messages")),
    ),
)
