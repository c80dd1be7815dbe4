"""Realistic payloads validate; the tolerance and strictness decisions of SOURCES.md hold.

Fixtures in fixtures/realistic/ are hand-written in the shape of real OpenAI traffic.
Streams are read through the documents' own x-sse-* extensions, as the engine does.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from spec_helpers import (
    FIXTURES,
    assert_invalid,
    assert_valid,
    error_paths,
    load_document,
    parse_sse,
    validator_for,
)

REAL = FIXTURES / "realistic"
SEED = FIXTURES / "seed_examples"


def load(name: str) -> Any:
    return json.loads((REAL / name).read_text(encoding="utf-8"))


def stream_media(document: str, path: str) -> dict[str, Any]:
    method = "post"
    return load_document(document)["paths"][path][method]["responses"]["200"]["content"][
        "text/event-stream"]


# --------------------------------------------------------------------------- chat


@pytest.mark.parametrize("name", ["chat_completion.json", "chat_completion_tool_calls.json"])
def test_chat_completion_payloads(name: str) -> None:
    assert_valid("chat.yaml", "CreateChatCompletionResponse", load(name))


@pytest.mark.parametrize("name", ["chat_stream_text.sse", "chat_stream_tool_call.sse"])
def test_chat_chunk_streams(name: str) -> None:
    media = stream_media("chat.yaml", "/chat/completions")
    item = validator_for("chat.yaml", media["x-sse-item-schema"])
    frames = parse_sse((REAL / name).read_text(encoding="utf-8"))
    assert frames[-1]["data"] == media["x-sse-terminator"]
    assert all(frame["event"] is None for frame in frames)  # data-only framing
    for frame in frames[:-1]:
        chunk = json.loads(frame["data"])
        errs = list(item.iter_errors(chunk))
        assert not errs, f"{frame['data'][:80]}: {sorted(error_paths(errs))}"
        for call in (c for ch in chunk["choices"] for c in ch["delta"].get("tool_calls", [])):
            assert_valid("chat.yaml", "ChatCompletionMessageToolCallChunk", call)


def test_models_list() -> None:
    body = {"object": "list", "data": [
        {"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"},
        {"id": "o3", "object": "model", "created": 1744225308, "owned_by": "system",
         "shutdown_date": None},
    ]}
    assert_valid("chat.yaml", "ListModelsResponse", body)
    broken = copy.deepcopy(body)
    broken["data"][0]["object"] = "models"
    assert_invalid("chat.yaml", "ListModelsResponse", broken)


@pytest.mark.parametrize("document", ["chat.yaml", "responses.yaml"])
def test_error_envelope(document: str) -> None:
    good = {"error": {"message": "Incorrect API key provided: sk-abc***.", "type":
                      "invalid_request_error", "param": None, "code": "invalid_api_key"}}
    assert_valid(document, "ErrorResponse", good)
    for key in ("message", "type", "param", "code"):
        broken = copy.deepcopy(good)
        del broken["error"][key]
        assert_invalid(document, "ErrorResponse", broken)
    assert_invalid(document, "ErrorResponse", {"message": "flat error", "type": "x"})
    assert_invalid(document, "ErrorResponse", {"error": "rate limited"})


CHAT_TOLERATED = {
    "message without refusal (official requires it; its own examples omit it)":
        lambda b: b["choices"][0]["message"].pop("refusal"),
    "choice without logprobs (official requires the key)":
        lambda b: b["choices"][0].pop("logprobs"),
    "system_fingerprint null": lambda b: b.update(system_fingerprint=None),
    "unknown top-level and nested keys (gateways add fields)":
        lambda b: (b.update(provider="azure"), b["choices"][0]["message"].update(reasoning="..")),
    "usage absent (optional in the official schema)": lambda b: b.pop("usage"),
    "service tier not in today's list": lambda b: b.update(service_tier="on_demand"),
}
CHAT_REJECTED = {
    "object is chat.completion.chunk": lambda b: b.update(object="chat.completion.chunk"),
    "created as ISO string": lambda b: b.update(created="2025-10-10T12:00:00Z"),
    "finish_reason outside the enum": lambda b: b["choices"][0].update(finish_reason="eos"),
    "finish_reason null in a non-streamed completion":
        lambda b: b["choices"][0].update(finish_reason=None),
    "role other than assistant": lambda b: b["choices"][0]["message"].update(role="model"),
    "usage with Responses naming": lambda b: b.update(
        usage={"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}),
    "negative token count": lambda b: b["usage"].update(prompt_tokens=-1),
    "message with neither content nor tool calls":
        lambda b: [b["choices"][0]["message"].pop(k) for k in ("content", "refusal")],
    "content as parts array": lambda b: b["choices"][0]["message"].update(
        content=[{"type": "text", "text": "hi"}]),
    "tool call arguments as object": lambda b: b.update(choices=[{
        "index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": "f", "arguments": {"a": 1}}}]}}]),
}


@pytest.mark.parametrize("case", sorted(CHAT_TOLERATED))
def test_chat_tolerated(case: str) -> None:
    body = load("chat_completion.json")
    CHAT_TOLERATED[case](body)
    assert_valid("chat.yaml", "CreateChatCompletionResponse", body)


@pytest.mark.parametrize("case", sorted(CHAT_REJECTED))
def test_chat_rejected(case: str) -> None:
    body = load("chat_completion.json")
    CHAT_REJECTED[case](body)
    assert_invalid("chat.yaml", "CreateChatCompletionResponse", body)


def test_chunk_tolerances_and_rejections() -> None:
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]}
    assert_valid("chat.yaml", "CreateChatCompletionStreamResponse", chunk)
    # The key is required (null until the last chunk): dropping it fails (SOURCES.md A01).
    dropped = {**chunk, "choices": [{"index": 0, "delta": {"content": "hi"}}]}
    assert_invalid("chat.yaml", "CreateChatCompletionStreamResponse", dropped)
    usage_chunk = {**chunk, "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2,
                                                     "total_tokens": 3}}
    assert_valid("chat.yaml", "CreateChatCompletionStreamResponse", usage_chunk)
    for bad in ({**chunk, "object": "chat.completion"},
                {**chunk, "choices": [{"index": 0, "delta": {"role": "bot"}}]},
                {**chunk, "choices": [{"index": 0}]},
                {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "done"}]}):
        assert_invalid("chat.yaml", "CreateChatCompletionStreamResponse", bad)
    assert_invalid("chat.yaml", "ChatCompletionMessageToolCallChunk", {"id": "call_1"})


def test_chat_request_shapes() -> None:
    ok = {"model": "gpt-4o-mini", "messages": [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "What is in this image?"},
                                     {"type": "image_url", "image_url": {
                                         "url": "https://example.com/cat.png", "detail": "low"}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "lookup", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
    ], "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {
        "type": "object", "properties": {}}}}], "tool_choice": "auto", "stream": True,
        "stream_options": {"include_usage": True}, "temperature": 0.2, "top_logprobs": None,
        "reasoning_effort": "minimal", "max_completion_tokens": 256}
    assert_valid("chat.yaml", "CreateChatCompletionRequest", ok)
    rejected = [
        {"messages": ok["messages"]},
        {"model": "m", "messages": []},
        {"model": "m", "messages": [{"role": "user"}]},
        {"model": "m", "messages": [{"role": "tool", "content": "x"}]},
        {"model": "m", "messages": [{"role": "robot", "content": "x"}]},
        {"model": "m", "messages": [{"role": "user", "content": [{"type": "input_text",
                                                                  "text": "x"}]}]},
        {**ok, "temperature": 2.5}, {**ok, "top_p": 1.5}, {**ok, "n": 0},
        {**ok, "stop": ["a", "b", "c", "d", "e"]}, {**ok, "reasoning_effort": "extreme"},
        {**ok, "logit_bias": {"50256": 200}},
    ]
    for body in rejected:
        assert_invalid("chat.yaml", "CreateChatCompletionRequest", body)


# --------------------------------------------------------------------------- responses


def test_response_text_payload() -> None:
    body = load("response_text.json")
    assert_valid("responses.yaml", "Response", body)
    assert_valid("responses.yaml", "ResponseStrict", body)


def test_deep_research_response_from_seed_004() -> None:
    body = json.loads((SEED / "004_a043ebbdec61efe7__response_example.json").read_text())
    assert [item["type"] for item in body["output"]] == [
        "reasoning", "web_search_call", "reasoning", "message"]
    assert_valid("responses.yaml", "Response", body)
    for item in body["output"]:
        assert_valid("responses.yaml", "OutputItem", item)
    assert_valid("responses.yaml", "ResponseUsage", body["usage"])


@pytest.mark.parametrize("name", ["responses_stream_text.sse", "responses_stream_function_call.sse",
                                  "responses_stream_reasoning.sse"])
def test_responses_event_streams(name: str) -> None:
    media = stream_media("responses.yaml", "/responses")
    union = validator_for("responses.yaml", media["x-sse-item-schema"])
    frames = parse_sse((REAL / name).read_text(encoding="utf-8"))
    if frames[-1]["data"] == media["x-sse-optional-terminator"]:
        frames = frames[:-1]
    seen = []
    for frame in frames:
        event = json.loads(frame["data"])
        assert frame["event"] == event["type"]
        for validator in (union, validator_for("responses.yaml",
                                               media["x-sse-events"][frame["event"]])):
            errs = list(validator.iter_errors(event))
            assert not errs, f"{event['type']}: {sorted(error_paths(errs))}"
        seen.append(event["sequence_number"])
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert json.loads(frames[-1]["data"])["type"] == "response.completed"


# minimal instances for every event schema, built from its `required` list
def _minimal_response(status: str = "in_progress") -> dict[str, Any]:
    return {"id": "resp_1", "object": "response", "created_at": 1, "model": "m", "output": [],
            "status": status, "usage": None}


_VALUES: dict[str, Any] = {
    "sequence_number": 3, "item_id": "item_1", "output_index": 0, "content_index": 0,
    "summary_index": 0, "annotation_index": 0, "command_index": 0, "partial_image_index": 0,
    "delta": "x", "text": "x", "arguments": "{}", "refusal": "no", "code": "print(1)",
    "input": "x", "command": "ls", "partial_image_b64": "aGk=", "message": "boom",
    "item": {"id": "msg_1", "type": "message", "role": "assistant", "status": "in_progress",
             "content": []},
    "part": {"type": "output_text", "text": "", "annotations": []},
    "annotation": {"type": "url_citation", "url": "https://example.com", "title": "Example",
                   "start_index": 0, "end_index": 5},
    "output": [{"stdout": "ok\n", "stderr": "", "outcome": {"type": "exit", "exit_code": 0}}],
}
_STATUS = {"response.completed": "completed", "response.failed": "failed",
           "response.incomplete": "incomplete", "response.queued": "queued"}


def minimal_event(doc: dict[str, Any], event_type: str) -> dict[str, Any]:
    ref = doc["paths"]["/responses"]["post"]["responses"]["200"]["content"][
        "text/event-stream"]["x-sse-events"][event_type]["$ref"]
    schema = doc["components"]["schemas"][ref.split("/")[-1]]
    event: dict[str, Any] = {"type": event_type}
    for key in schema["required"]:
        if key == "type":
            continue
        if key == "response":
            event[key] = _minimal_response(_STATUS.get(event_type, "in_progress"))
        elif key == "part" and "reasoning_summary" in event_type:
            event[key] = {"type": "summary_text", "text": ""}
        elif key == "delta" and event_type.startswith("response.shell_call_output_content"):
            event[key] = {"stdout": "ok"}
        else:
            event[key] = copy.deepcopy(_VALUES[key])
    return event


def _event_types() -> list[str]:
    return sorted(load_document("responses.yaml")["components"]["schemas"]
                  ["ResponseStreamEvent"]["properties"]["type"]["enum"])


@pytest.mark.parametrize("event_type", _event_types())
def test_each_event_schema(responses_doc: dict[str, Any], event_type: str) -> None:
    event = minimal_event(responses_doc, event_type)
    assert_valid("responses.yaml", "ResponseStreamEvent", event)
    for key in [k for k in event if k != "type"]:
        broken = {k: v for k, v in event.items() if k != key}
        assert_invalid("responses.yaml", "ResponseStreamEvent", broken)
    assert_invalid("responses.yaml", "ResponseStreamEvent", {**event, "sequence_number": "3"})
    assert_invalid("responses.yaml", "ResponseStreamEvent", {**event, "type": event_type + "x"})


def test_terminal_events_must_carry_matching_status() -> None:
    for event_type, status in _STATUS.items():
        event = {"type": event_type, "sequence_number": 9,
                 "response": _minimal_response("in_progress")}
        errs = assert_invalid("responses.yaml", "ResponseStreamEvent", event)
        assert "/response/status" in error_paths(errs), status


RESPONSE_TOLERATED = {
    "output_text without logprobs (official requires it; its examples omit it)":
        lambda b: b["output"][0]["content"][0].pop("logprobs"),
    "usage null": lambda b: b.update(usage=None),
    "usage without *_details (official requires them; its examples omit them)":
        lambda b: (b["usage"].pop("input_tokens_details"), b["usage"].pop("output_tokens_details")),
    "user null (official says string; the API sends null)": lambda b: b.update(user=None),
    "optional-in-practice fields absent (ResponseStrict reports them)":
        lambda b: [b.pop(k) for k in ("error", "incomplete_details", "instructions", "tools",
                                      "tool_choice", "parallel_tool_calls", "metadata",
                                      "temperature", "top_p")],
    "unknown extra keys (gateways add fields)":
        lambda b: (b.update(provider="x"), b["output"][0].update(x_trace="1")),
    "reasoning effort not in today's list": lambda b: b.update(reasoning={"effort": "ultra"}),
    "error code outside today's list": lambda b: b.update(
        status="failed", error={"code": "upstream_error", "message": "upstream failed"}),
    "web_search_call without action (older API)": lambda b: b["output"].insert(
        0, {"id": "ws_1", "type": "web_search_call", "status": "completed"}),
}
RESPONSE_REJECTED = {
    "object chat.completion": lambda b: b.update(object="chat.completion"),
    "status outside the enum": lambda b: b.update(status="done"),
    "status missing": lambda b: b.pop("status"),
    "usage with chat naming (seed 002)": lambda b: b.update(
        usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}),
    "message content as a string (seed 002)": lambda b: b["output"][0].update(content="hello"),
    "content part of type text": lambda b: b["output"][0]["content"][0].update(type="text"),
    "content part of type input_text": lambda b: b["output"][0]["content"][0].update(
        type="input_text"),
    "output_text without annotations": lambda b: b["output"][0]["content"][0].pop("annotations"),
    "message role user": lambda b: b["output"][0].update(role="user"),
    "item status outside the enum": lambda b: b["output"][0].update(status="done"),
    "unknown item type": lambda b: b["output"][0].update(type="assistant_message"),
    "function_call without call_id": lambda b: b["output"].append(
        {"type": "function_call", "id": "fc_1", "name": "f", "arguments": "{}"}),
    "function_call arguments as object": lambda b: b["output"].append(
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": {"a": 1}}),
    "reasoning summary part of wrong type": lambda b: b["output"].insert(
        0, {"type": "reasoning", "id": "rs_1", "summary": [{"type": "text", "text": "x"}]}),
    "created_at as ISO string": lambda b: b.update(created_at="2025-10-10T12:00:00Z"),
    "incomplete reason outside the enum": lambda b: b.update(
        status="incomplete", incomplete_details={"reason": "max_tokens"}),
    "failed error without message": lambda b: b.update(error={"code": "server_error"}),
    "negative token count": lambda b: b["usage"].update(output_tokens=-3),
    "annotation of unknown type": lambda b: b["output"][0]["content"][0].update(
        annotations=[{"type": "citation", "url": "https://x"}]),
}


@pytest.mark.parametrize("case", sorted(RESPONSE_TOLERATED))
def test_response_tolerated(case: str) -> None:
    body = load("response_text.json")
    RESPONSE_TOLERATED[case](body)
    assert_valid("responses.yaml", "Response", body)


@pytest.mark.parametrize("case", sorted(RESPONSE_REJECTED))
def test_response_rejected(case: str) -> None:
    body = load("response_text.json")
    RESPONSE_REJECTED[case](body)
    assert_invalid("responses.yaml", "Response", body)


def test_response_strict_reports_official_required_fields() -> None:
    body = load("response_text.json")
    del body["tools"]
    assert_valid("responses.yaml", "Response", body)
    assert_invalid("responses.yaml", "ResponseStrict", body)


def test_responses_request_shapes() -> None:
    ok = {"model": "gpt-4.1", "instructions": "Be brief.", "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "Describe"},
                                     {"type": "input_image",
                                      "image_url": "https://example.com/a.png"}]},
        {"type": "message", "role": "assistant", "content": [
            {"type": "output_text", "text": "A cat.", "annotations": []}]},
        {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "{\"ok\":true}"},
        {"type": "item_reference", "id": "rs_123"},
        {"id": "msg_456"},
    ], "tools": [{"type": "function", "name": "lookup", "parameters": {"type": "object"}},
                 {"type": "web_search"}, {"type": "file_search", "vector_store_ids": ["vs_1"]}],
        "tool_choice": {"type": "function", "name": "lookup"},
        "reasoning": {"effort": "low", "summary": "auto"}, "max_output_tokens": 16,
        "text": {"format": {"type": "json_schema", "name": "answer",
                            "schema": {"type": "object"}, "strict": True}},
        "include": ["reasoning.encrypted_content"], "stream": True, "store": False}
    assert_valid("responses.yaml", "CreateResponseRequest", ok)
    assert_valid("responses.yaml", "CreateResponseRequest", {"prompt": {"id": "pmpt_1"}})
    rejected = [
        {"input": "hi"},
        {**ok, "max_output_tokens": 0},
        {**ok, "reasoning": {"effort": "maximum"}},
        {**ok, "temperature": 3},
        {**ok, "tools": [{"type": "retrieval"}]},
        {**ok, "tools": [{"type": "function"}]},
        {**ok, "input": [{"type": "function_call_output", "output": "x"}]},
        {**ok, "input": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]},
        {**ok, "input": [{"role": "user", "content": [{"type": "output_text", "text": "x",
                                                       "annotations": []}]}]},
        {**ok, "input": [{"role": "assistant", "content": [{"type": "input_text",
                                                            "text": "x"}]}]},
        {**ok, "input": [{"type": "chat_message", "role": "user", "content": "x"}]},
        {**ok, "include": ["usage"]},
        {**ok, "text": {"format": {"type": "json_schema", "schema": {}}}},
    ]
    for body in rejected:
        assert_invalid("responses.yaml", "CreateResponseRequest", body)
