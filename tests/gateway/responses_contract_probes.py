"""Probes for the Responses contract faults (CONTRACT_FAULTS in
conformance/apis/openai/gateway/responses.py).

Each probe answers "is the violation there?" with one raw request; tests/gateway/test_faults.py
runs them under the fault (yes) and on the clean gateway (no).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from .conftest import API_KEY

HEADERS = {"Authorization": f"Bearer {API_KEY}"}
TOOL = {"type": "function", "name": "f", "parameters": {
    "type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}}
TOOL_2 = {"type": "function", "name": "g", "parameters": {"type": "object", "properties": {}}}
FORCED = {"tools": [TOOL], "tool_choice": {"type": "function", "name": "f"}}
PARTS = [{"role": "user", "content": [{"type": "input_text", "text": "Tell me a fact"}]}]
WEB_SEARCH = {"tools": [{"type": "web_search_preview"}]}
SCHEMA_FORMAT = {"format": {"type": "json_schema", "name": "x", "strict": True, "schema": {
    "type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
    "additionalProperties": False}}}


def _post(base: str, body: Any) -> httpx.Response:
    content = body if isinstance(body, str) else json.dumps(body)
    return httpx.post(base + "/responses", content=content, timeout=10,
                      headers={**HEADERS, "Content-Type": "application/json"})


def _create(base: str, **extra: Any) -> httpx.Response:
    return _post(base, {"model": "gpt-4o-mini", "input": "Tell me a fact", **extra})


def _stream(base: str, **extra: Any) -> httpx.Response:
    return _create(base, stream=True, **extra)


def _frames(base: str, **extra: Any) -> list[dict[str, str]]:
    frames = []
    for block in _stream(base, **extra).text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if fields:
            frames.append(fields)
    return frames


def _events(base: str, **extra: Any) -> list[dict[str, Any]]:
    return [json.loads(f["data"]) for f in _frames(base, **extra)]


def _terminal(base: str, **extra: Any) -> dict[str, Any]:
    return _events(base, **extra)[-1]["response"]


def _types(body: dict[str, Any]) -> list[str]:
    return [item["type"] for item in body["output"]]


def _function_output_refused(base: str) -> bool:
    """The output is dropped, so the upstream refuses the unanswered call (as OpenAI does)."""
    call = _create(base, **FORCED).json()["output"][0]
    history = [{"role": "user", "content": "Tell me a fact"},
               {"type": "function_call", "call_id": call["call_id"], "name": "f",
                "arguments": call["arguments"]},
               {"type": "function_call_output", "call_id": call["call_id"], "output": "ok"}]
    return _post(base, {"model": "gpt-4o-mini", "input": history,
                        "tools": [TOOL]}).status_code == 400


def _stream_without_call(base: str) -> bool:
    return not any(e["type"] == "response.output_item.added" and
                   e["item"]["type"] == "function_call" for e in _events(base, **FORCED))


def _cut_reported_completed(base: str) -> bool:
    body = _create(base, max_output_tokens=16).json()
    return body["status"] == "completed" and body["usage"]["output_tokens"] == 16


def _misreported_reasoning(base: str) -> bool:
    usage = _create(base).json()["usage"]
    return usage["output_tokens_details"]["reasoning_tokens"] > 0  # gpt-4o-mini never reasons


def _overbilled(base: str) -> bool:
    body = _create(base).json()
    return body["usage"]["input_tokens"] > 100  # "Tell me a fact" is about a dozen tokens


def _search_item_lacks_status(base: str) -> bool:
    item = _create(base, **WEB_SEARCH).json()["output"][0]
    return item["type"] == "web_search_call" and "status" not in item


def _search_events_after_item_done(base: str) -> bool:
    """Does a response.web_search_call.* event follow the search item's output_item.done?"""
    types = [e["type"] for e in _events(base, **WEB_SEARCH)]
    item_done = types.index("response.output_item.done")
    return any(t.startswith("response.web_search_call.") for t in types[item_done:])


CONTRACT_PROBES: dict[str, Callable[[str], bool]] = {
    "responses-output-item-bare": lambda b: "id" not in _create(b).json()["output"][0],
    "responses-null-fields-dropped": lambda b: "error" not in _create(b).json(),
    "responses-output-text-empty": lambda b: _create(b).json()["output_text"] == "",
    "responses-input-parts-rejected": lambda b: _create(b, input=PARTS).status_code == 400,
    "responses-stream-usage-no-input": lambda b: _terminal(b)["usage"]["input_tokens"] == 0,
    "responses-usage-overbilled": _overbilled,
    "responses-stream-json-content-type": lambda b: _stream(b).headers[
        "content-type"].startswith("application/json"),
    "responses-stream-created-at-iso": lambda b: isinstance(
        _events(b)[0]["response"]["created_at"], str),
    "responses-stream-no-event-lines": lambda b: all("event" not in f for f in _frames(b)),
    "responses-stream-sequence-from-one": lambda b: _events(b)[0]["sequence_number"] == 1,
    "responses-stream-args-no-done": lambda b: not any(
        e["type"] == "response.function_call_arguments.done" for e in _events(b, **FORCED)),
    "responses-stream-terminal-output-empty": lambda b: _terminal(b)["output"] == [],
    "responses-tool-choice-ignored": lambda b: _types(_create(b, **FORCED).json()) == ["message"],
    "responses-function-output-dropped": _function_output_refused,
    "responses-stream-refused": lambda b: _stream(b).status_code == 400,
    "responses-stream-tool-choice-ignored": _stream_without_call,
    "responses-hosted-tool-dropped": lambda b: "web_search_call" not in _types(_create(
        b, **WEB_SEARCH, tool_choice={"type": "web_search_preview"}).json()),
    "responses-cut-reported-completed": _cut_reported_completed,
    "responses-parallel-calls-ignored": lambda b: len(_create(
        b, tools=[TOOL, TOOL_2], tool_choice="required", parallel_tool_calls=False).json()[
        "output"]) > 1,
    "responses-hosted-tool-500": lambda b: _create(
        b, **WEB_SEARCH).status_code == 500,
    "responses-hosted-tool-malformed": _search_item_lacks_status,
    "responses-hosted-tool-events-outside-item": _search_events_after_item_done,
    "responses-json-schema-ignored": lambda b: not _create(
        b, text=SCHEMA_FORMAT).json()["output_text"].startswith("{"),
    "responses-reasoning-tokens-misreported": _misreported_reasoning,
    "responses-reasoning-effort-ignored": lambda b: _create(
        b, reasoning={"effort": "low"}).status_code == 200,
    "responses-validation-422": lambda b: _create(b, input=42).status_code == 422,
    "responses-invalid-json-500": lambda b: _post(b, '{"model": ').status_code == 500,
    "responses-unknown-model-routed": lambda b: _create(
        b, model="no-such-model-0").status_code == 200,
}


# --- Issue 10: one fault per event-order rule (STREAM_RULE_FAULTS) ----------------------------

ITEM_ADDED = "response.output_item.added"
ITEM_DONE = "response.output_item.done"
ARGS_DONE = "response.function_call_arguments.done"


def _event_types(base: str, **extra: Any) -> list[Any]:
    return [e.get("type") for e in _events(base, **extra)]


def _first(events: list[dict[str, Any]], event_type: str) -> dict[str, Any]:
    return next(e for e in events if e.get("type") == event_type)


def _comes_before(types: list[Any], first: str, second: str) -> bool:
    return first in types and second in types and types.index(first) < types.index(second)


def _delta_off_item(base: str) -> bool:
    events = _events(base)
    item_id = _first(events, ITEM_ADDED)["item"]["id"]
    return any(e["item_id"] != item_id for e in events
               if e["type"] == "response.output_text.delta")


def _empty_item_after_cut(base: str) -> bool:
    output = _terminal(base, max_output_tokens=16)["output"]
    return len(output) > 1 and output[0]["status"] == "incomplete" and output[-1]["content"] == []


def _cut_ends_completed(base: str) -> bool:
    events = _events(base, max_output_tokens=16)
    return events[-1]["type"] == "response.completed" and \
        _first(events, ITEM_DONE)["item"]["status"] == "incomplete"


STREAM_RULE_PROBES: dict[str, Callable[[str], bool]] = {
    "responses-stream-no-in-progress": lambda b: "response.in_progress" not in _event_types(b),
    "responses-stream-in-progress-repeated":
        lambda b: _event_types(b).count("response.in_progress") > 1,
    "responses-stream-terminal-id-differs": lambda b: (lambda ev: ev[-1]["response"]["id"] !=
                                                       ev[0]["response"]["id"])(_events(b)),
    "responses-stream-untyped-keepalive": lambda b: any("type" not in e for e in _events(b)),
    "responses-stream-error-without-failed": lambda b: (lambda t: "error" in t and
                                                        "response.failed" not in t)(
        _event_types(b)),
    "responses-stream-failed-without-error": lambda b: (lambda last: last[
        "type"] == "response.failed" and last["response"]["error"] is None)(_events(b)[-1]),
    "responses-stream-output-index-from-one":
        lambda b: _first(_events(b), ITEM_ADDED)["output_index"] == 1,
    "responses-stream-item-added-late": lambda b: _comes_before(
        _event_types(b), "response.content_part.added", ITEM_ADDED),
    "responses-stream-delta-item-id-wrong": _delta_off_item,
    "responses-stream-item-id-placeholder": lambda b: (lambda ev: _first(ev, ITEM_ADDED)[
        "item"]["id"] != _first(ev, ITEM_DONE)["item"]["id"])(_events(b)),
    "responses-stream-item-done-in-progress":
        lambda b: _first(_events(b), ITEM_DONE)["item"]["status"] == "in_progress",
    "responses-stream-empty-item-after-cut": _empty_item_after_cut,
    "responses-stream-part-index-from-one":
        lambda b: _first(_events(b), "response.content_part.added")["content_index"] == 1,
    "responses-stream-no-text-done":
        lambda b: "response.output_text.done" not in _event_types(b),
    "responses-stream-part-done-empty":
        lambda b: _first(_events(b), "response.content_part.done")["part"]["text"] == "",
    "responses-stream-no-part-done":
        lambda b: "response.content_part.done" not in _event_types(b),
    "responses-stream-item-done-without-text":
        lambda b: _first(_events(b), ITEM_DONE)["item"]["content"] == [],
    "responses-stream-citation-after-part": lambda b: _comes_before(
        _event_types(b, **WEB_SEARCH), "response.content_part.done",
        "response.output_text.annotation.added"),
    "responses-stream-args-done-empty":
        lambda b: _first(_events(b, **FORCED), ARGS_DONE)["arguments"] == "",
    "responses-stream-args-redumped": lambda b: (lambda ev: _first(ev, ITEM_DONE)["item"][
        "arguments"] != _first(ev, ARGS_DONE)["arguments"])(_events(b, **FORCED)),
    "responses-stream-args-done-no-name":
        lambda b: "name" not in _first(_events(b, **FORCED), ARGS_DONE),
    "responses-stream-no-terminal": lambda b: _event_types(b)[-1] == ITEM_DONE,
    "responses-stream-terminal-no-usage": lambda b: _terminal(b)["usage"] is None,
    "responses-stream-cut-ends-completed": _cut_ends_completed,
}
CONTRACT_PROBES.update(STREAM_RULE_PROBES)
