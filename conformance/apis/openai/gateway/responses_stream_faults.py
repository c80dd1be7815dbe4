"""The event-list rewrites of STREAM_RULE_FAULTS (responses.py): one for
each event-order rule that no other fault breaks.

Each rewrites the clean event list, before sequence numbers are assigned, the way a broken
gateway or translation layer does; tests/gateway/test_reachability.py shows each one firing
its rule on an exchange of a normal run. The events share objects with the stored response, so
a fault replaces what it changes and never edits it in place.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Events = list[dict[str, Any]]

ITEM_ADDED = "response.output_item.added"
ITEM_DONE = "response.output_item.done"
TERMINALS = ("response.completed", "response.incomplete")
PART_DONES = ("response.content_part.done", "response.reasoning_summary_part.done")
TEXT_DONES = ("response.output_text.done", "response.reasoning_summary_text.done")
ARGS_DONE = "response.function_call_arguments.done"
# What an upstream failure looks like once the gateway reports it.
UPSTREAM_ERROR = {"type": "error", "code": "server_error",
                  "message": "The upstream model failed mid-stream.", "param": None}


def _drop(*types: str) -> Callable[[Events], Events]:
    return lambda events: [e for e in events if e["type"] not in types]


def _edit(types: tuple[str, ...], change: Callable[[dict], dict]) -> Callable[[Events], Events]:
    return lambda events: [change(e) if e["type"] in types else e for e in events]


def _from_one(*fields: str) -> Callable[[Events], Events]:
    return lambda events: [{**e, **{f: e[f] + 1 for f in fields if f in e}} for e in events]


def _in_progress_per_item(events: Events) -> Events:
    ping = next(e for e in events if e["type"] == "response.in_progress")
    return [new for e in events for new in ([dict(ping), e] if e["type"] == ITEM_ADDED else [e])]


def _upstream_id(event: dict) -> dict:
    response = event["response"]
    return {**event, "response": {**response, "id": "resp_upstream_" + response["id"][5:]}}


def _error_without_failed(events: Events) -> Events:
    return [*events[:2], dict(UPSTREAM_ERROR)]


def _failed_without_error(events: Events) -> Events:
    failed = {**events[0]["response"], "status": "failed", "error": None}
    return [*_error_without_failed(events), {"type": "response.failed", "response": failed}]


def _added_after_first_part(events: Events) -> Events:
    moved = list(events)
    for n in range(len(moved) - 1):
        if moved[n]["type"] == ITEM_ADDED and \
                moved[n + 1]["type"] == "response.content_part.added":
            moved[n], moved[n + 1] = moved[n + 1], moved[n]
    return moved


def _chunk_id(event: dict) -> dict:
    return {**event, "item_id": "chatcmpl-" + event["item_id"].split("_", 1)[1]}


def _placeholder_ids(events: Events) -> Events:
    placeholders: dict[str, str] = {}
    renamed = []
    for event in events:
        if event["type"] == ITEM_ADDED:
            item = event["item"]
            placeholders[item["id"]] = f"item_pending_{event['output_index']}"
            event = {**event, "item": {**item, "id": placeholders[item["id"]]}}
        elif event.get("item_id") in placeholders:
            event = {**event, "item_id": placeholders[event["item_id"]]}
        renamed.append(event)
    return renamed


def _empty_item_after_cut(events: Events) -> Events:
    terminal = events[-1]
    if terminal["type"] != "response.incomplete":
        return events
    response = terminal["response"]
    index = len(response["output"])
    item = {"id": f"msg_{response['id'][5:]}_{index}", "type": "message", "status": "completed",
            "role": "assistant", "content": []}
    output = [*response["output"], item]
    return [*events[:-1],
            {"type": ITEM_ADDED, "output_index": index, "item": {**item, "status": "in_progress"}},
            {"type": ITEM_DONE, "output_index": index, "item": item},
            {**terminal, "response": {**response, "output": output}}]


def _without_text(event: dict) -> dict:
    item = event["item"]
    field = {"message": "content", "reasoning": "summary"}.get(item["type"])
    return {**event, "item": {**item, field: []}} if field else event


def _citation_after_part(events: Events) -> Events:
    cited: Events = []
    searched = False
    for event in events:
        cited.append(event)
        searched = searched or (event["type"] == ITEM_ADDED
                                and event["item"]["type"] == "web_search_call")
        if searched and event["type"] == "response.content_part.done":
            text = event["part"]["text"]
            cited.append({
                "type": "response.output_text.annotation.added", "item_id": event["item_id"],
                "output_index": event["output_index"], "content_index": event["content_index"],
                "annotation_index": 0,
                "annotation": {"type": "url_citation", "url": "https://example.com/",
                               "title": "Search result", "start_index": 0,
                               "end_index": len(text)}})
    return cited


def _redumped(item: dict) -> dict:
    """A function_call item whose arguments went through json.loads/json.dumps (with spaces)."""
    if item["type"] != "function_call":
        return item
    try:
        return {**item, "arguments": json.dumps(json.loads(item["arguments"]))}
    except ValueError:
        return item  # arguments cut by max_output_tokens: nothing to re-serialise


def _arguments_redumped(events: Events) -> Events:
    done = _edit((ITEM_DONE,), lambda e: {**e, "item": _redumped(e["item"])})
    return _edit(TERMINALS, lambda e: {**e, "response": {
        **e["response"], "output": [_redumped(i) for i in e["response"]["output"]]}})(done(events))


REWRITES: dict[str, Callable[[Events], Events]] = {
    "responses-stream-no-in-progress": _drop("response.in_progress"),
    "responses-stream-in-progress-repeated": _in_progress_per_item,
    "responses-stream-terminal-id-differs": _edit(TERMINALS, _upstream_id),
    "responses-stream-error-without-failed": _error_without_failed,
    "responses-stream-failed-without-error": _failed_without_error,
    "responses-stream-output-index-from-one": _from_one("output_index"),
    "responses-stream-item-added-late": _added_after_first_part,
    "responses-stream-delta-item-id-wrong": _edit(("response.output_text.delta",), _chunk_id),
    "responses-stream-item-id-placeholder": _placeholder_ids,
    "responses-stream-item-done-in-progress": _edit(
        (ITEM_DONE,), lambda e: {**e, "item": {**e["item"], "status": "in_progress"}}),
    "responses-stream-empty-item-after-cut": _empty_item_after_cut,
    "responses-stream-part-index-from-one": _from_one("content_index", "summary_index"),
    "responses-stream-no-text-done": _drop(*TEXT_DONES),
    "responses-stream-part-done-empty": _edit(
        PART_DONES, lambda e: {**e, "part": {**e["part"], "text": ""}}),
    "responses-stream-no-part-done": _drop(*PART_DONES),
    "responses-stream-item-done-without-text": _edit((ITEM_DONE,), _without_text),
    "responses-stream-citation-after-part": _citation_after_part,
    "responses-stream-args-done-empty": _edit((ARGS_DONE,), lambda e: {**e, "arguments": ""}),
    "responses-stream-args-redumped": _arguments_redumped,
    "responses-stream-args-done-no-name": _edit(
        (ARGS_DONE,), lambda e: {k: v for k, v in e.items() if k != "name"}),
    "responses-stream-no-terminal": _drop(*TERMINALS),
    "responses-stream-terminal-no-usage": _edit(
        TERMINALS, lambda e: {**e, "response": {**e["response"], "usage": None}}),
    "responses-stream-cut-ends-completed": _edit(("response.incomplete",), lambda e: {
        **e, "type": "response.completed",
        "response": {**e["response"], "status": "completed", "incomplete_details": None}}),
}


def rewrite_events(events: Events, fault: str | None) -> Events:
    """The event list as the faulty gateway sends it (unchanged for any other fault)."""
    rewrite = REWRITES.get(fault or "")
    return rewrite(events) if rewrite else events
