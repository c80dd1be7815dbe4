"""The official anthropic SDK (and raw HTTP) against /v1/messages on the reference gateway.

The SDK does not validate what it parses (it accepts `stop_reason: "stop"`), so every body and
every stream event is also validated against openapi/messages.yaml, loaded here directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
import yaml
from anthropic import Anthropic
from jsonschema import Draft202012Validator

from conformance import sse, tokens
from conformance.apis.anthropic.gateway import faults
from conformance.apis.anthropic.gateway.errors import error_response
from conformance.apis.anthropic.gateway.messages import (
    Block,
    MessagePlan,
    input_tokens,
    stream_events,
    stream_frames,
)
from conformance.apis.anthropic.gateway.models import CLAUDE_MODELS
from conformance.apis.anthropic.gateway.request import MessagesRequest
from conformance.apis.anthropic.gateway.stream_faults import REWRITES
from conformance.gateway import EmbeddedGateway
from conformance.gateway.behaviours import FIXED_REPLY, FIXED_REPLY_TEXT
from conformance.gateway.errors import ApiError

from .conftest import API_KEY

MODEL = "claude-sonnet-4-6"
HAIKU = "claude-3-5-haiku-latest"
ENCODING = "o200k_base"  # the gateway's offline tokenizer (not Claude's)
VERSION = {"anthropic-version": "2023-06-01"}
USER = [{"role": "user", "content": "Name three rivers in France"}]
COUNT = [{"role": "user", "content": "Count from 1 to 10, separated by commas."}]
WEATHER = {"name": "get_weather", "description": "Current weather for a city",
           "input_schema": {"type": "object", "properties": {
               "city": {"type": "string"},
               "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
               "days": {"type": "integer", "minimum": 1, "maximum": 7}},
               "required": ["city", "unit"]}}
TIME = {"name": "get_time", "input_schema": {"type": "object", "properties": {
    "zone": {"type": "string", "const": "UTC"}}, "required": ["zone"]}}
# The SDK warns about the served model names it lists as deprecated; the gateway is not judged
# by them.
pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")
DOCUMENT = Path(__file__).resolve().parents[2] / "openapi" / "messages.yaml"


# --- the contract, from openapi/messages.yaml -------------------------------------------------


@cache
def _document() -> dict[str, Any]:
    return yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))


def _validator(ref: str) -> Draft202012Validator:
    return Draft202012Validator({**_document(), "$ref": ref})


def conforms(instance: Any, schema: str) -> None:
    errors = [e.message for e in _validator(f"#/components/schemas/{schema}")
              .iter_errors(instance)]
    assert errors == [], (schema, instance)


def stream_events_of(raw: bytes) -> list[dict[str, Any]]:
    """The events of a raw Messages stream, each checked against the document: named by its
    type, valid against its x-sse-events schema and the stream item schema; no [DONE]."""
    parsed = sse.parse(raw)
    assert parsed.deviations == []
    named = _document()["paths"]["/messages"]["post"]["responses"]["200"]["content"][
        "text/event-stream"]["x-sse-events"]
    events = []
    for frame in parsed.events:
        assert frame.data != "[DONE]"
        event = json.loads(frame.data)
        assert frame.event == event["type"]
        for schema in (named[frame.event]["$ref"], "#/components/schemas/MessageStreamEvent"):
            assert [e.message for e in _validator(schema).iter_errors(event)] == [], event
        events.append(event)
    return events


def assemble(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The message a stream spells, assembled the way the grammar says (strictly: blocks in
    index order, deltas of the open block's kind, one message_delta, message_stop last)."""
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    message = json.loads(json.dumps(events[0]["message"]))
    assert message["usage"]["input_tokens"] > 0
    buffers: dict[int, str] = {}
    kinds = {"text_delta": ("text", "text"), "thinking_delta": ("thinking", "thinking"),
             "signature_delta": ("thinking", "signature"),
             "input_json_delta": ("tool_use", "partial_json")}
    open_index = None
    for event in events[1:-1]:
        kind = event["type"]
        if kind == "content_block_start":
            assert open_index is None and event["index"] == len(message["content"])
            open_index = event["index"]
            message["content"].append(dict(event["content_block"]))
        elif kind == "content_block_delta":
            assert event["index"] == open_index
            block_type, key = kinds[event["delta"]["type"]]
            block = message["content"][open_index]
            assert block["type"] == block_type
            if key == "partial_json":
                buffers[open_index] = buffers.get(open_index, "") + event["delta"][key]
            elif key == "signature":
                block[key] = event["delta"][key]
            else:
                block[key] += event["delta"][key]
        elif kind == "content_block_stop":
            assert event["index"] == open_index
            if open_index in buffers:
                message["content"][open_index]["input"] = json.loads(buffers[open_index])
            open_index = None
        elif kind == "message_delta":
            assert open_index is None
            message.update(event["delta"])
            message["usage"].update(event["usage"])  # cumulative: replaces
        else:
            assert kind == "ping", event
    return message


def without_ids(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k != "id"}


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def claude(gateway: EmbeddedGateway) -> Anthropic:
    # base_url without /v1: the SDK requests /v1/messages. No retries: a 5xx must surface.
    return Anthropic(base_url=gateway.root_url, api_key=API_KEY, max_retries=0, timeout=10)


@pytest.fixture(scope="module")
def fixed(gateway: EmbeddedGateway) -> Anthropic:
    return Anthropic(base_url=f"{gateway.root_url}/behaviour/{FIXED_REPLY}", api_key=API_KEY,
                     max_retries=0, timeout=10)


@pytest.fixture(scope="module")
def raw(gateway: EmbeddedGateway) -> Iterator[httpx.Client]:
    headers = {"x-api-key": API_KEY, **VERSION}
    with httpx.Client(base_url=gateway.root_url, headers=headers, timeout=10) as session:
        yield session


def post(raw: httpx.Client, body: dict[str, Any], path: str = "/v1/messages",
         **kwargs: Any) -> httpx.Response:
    return raw.post(path, json=body, **kwargs)


def create(raw: httpx.Client, **body: Any) -> dict[str, Any]:
    response = post(raw, {"model": MODEL, "max_tokens": 64, **body})
    assert response.status_code == 200, response.text
    assert response.headers["request-id"].startswith("req_")
    message = response.json()
    conforms(message, "Message")
    return message


def streamed(raw: httpx.Client, **body: Any) -> list[dict[str, Any]]:
    response = post(raw, {"model": MODEL, "max_tokens": 64, **body, "stream": True})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["request-id"].startswith("req_")
    return stream_events_of(response.content)


def text_of(message: Any) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


# --- messages.create ----------------------------------------------------------------------------


def test_create_plain(claude: Anthropic) -> None:
    message = claude.messages.create(model=MODEL, max_tokens=64, messages=USER)
    assert message.type == "message" and message.role == "assistant"
    assert message.id.startswith("msg_") and message.model == MODEL
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert [b.type for b in message.content] == ["text"]
    assert message.usage.output_tokens == tokens.count_text(text_of(message), ENCODING)
    assert message.usage.input_tokens > 0
    assert message.usage.cache_read_input_tokens == 0
    assert message._request_id and message._request_id.startswith("req_")
    conforms(message.to_dict(), "Message")


def test_system_as_string_or_blocks(raw: httpx.Client) -> None:
    as_string = create(raw, system="Answer briefly.", messages=USER)
    as_blocks = create(raw, system=[{"type": "text", "text": "Answer briefly."}],
                       messages=USER)
    plain = create(raw, messages=USER)
    assert without_ids(as_string) == without_ids(as_blocks)
    assert as_string["usage"]["input_tokens"] > plain["usage"]["input_tokens"]


def test_content_as_blocks(raw: httpx.Client) -> None:
    as_blocks = create(raw, messages=[{"role": "user", "content": [
        {"type": "text", "text": USER[0]["content"]}]}])
    assert without_ids(as_blocks) == without_ids(create(raw, messages=USER))


def test_stop_sequence_cuts_before_the_match(claude: Anthropic) -> None:
    whole = claude.messages.create(model=MODEL, max_tokens=64, messages=COUNT)
    assert text_of(whole) == "1, 2, 3, 4, 5, 6, 7, 8, 9, 10"
    cut = claude.messages.create(model=MODEL, max_tokens=64, messages=COUNT,
                                 stop_sequences=["5"])  # one element (new-api#7175)
    assert text_of(cut) == "1, 2, 3, 4, "
    assert cut.stop_reason == "stop_sequence" and cut.stop_sequence == "5"
    assert cut.usage.output_tokens == tokens.count_text("1, 2, 3, 4, ", ENCODING)
    earliest = claude.messages.create(model=MODEL, max_tokens=64, messages=COUNT,
                                      stop_sequences=["9", ", 3"])
    assert text_of(earliest) == "1, 2" and earliest.stop_sequence == ", 3"


def test_max_tokens_cut_is_token_exact(claude: Anthropic) -> None:
    whole = claude.messages.create(model=MODEL, max_tokens=64, messages=USER)
    cut = claude.messages.create(model=MODEL, max_tokens=5, messages=USER)
    assert cut.stop_reason == "max_tokens" and cut.stop_sequence is None
    assert cut.usage.output_tokens == 5
    assert text_of(cut) == tokens.decode(tokens.encode(text_of(whole), ENCODING)[:5], ENCODING)
    # A stop sequence the cut never reaches is not what stopped the answer.
    late = claude.messages.create(model=MODEL, max_tokens=3, messages=COUNT,
                                  stop_sequences=["9"])
    assert late.stop_reason == "max_tokens" and late.stop_sequence is None


# --- tools ----------------------------------------------------------------------------------


def _tool_uses(message: Any) -> list[Any]:
    return [b for b in message.content if b.type == "tool_use"]


def _valid_input(block: Any, tool: dict[str, Any]) -> None:
    assert isinstance(block.input, dict)
    assert list(Draft202012Validator(tool["input_schema"]).iter_errors(block.input)) == []


def test_tool_choice_any_forces_a_call(claude: Anthropic) -> None:
    message = claude.messages.create(model=MODEL, max_tokens=64, messages=USER, tools=[WEATHER],
                                     tool_choice={"type": "any"})
    assert message.stop_reason == "tool_use"
    assert [b.type for b in message.content] == ["tool_use"]
    call = message.content[0]
    assert call.id.startswith("toolu_") and call.name == "get_weather"
    _valid_input(call, WEATHER)
    conforms(message.to_dict(), "Message")


def test_tool_choice_tool_calls_the_named_one(claude: Anthropic) -> None:
    message = claude.messages.create(
        model=MODEL, max_tokens=64, messages=USER, tools=[WEATHER, TIME],
        tool_choice={"type": "tool", "name": "get_time"})
    assert [b.name for b in _tool_uses(message)] == ["get_time"]
    assert message.content[0].input == {"zone": "UTC"}


def test_tool_choice_auto_and_none(claude: Anthropic) -> None:
    auto = claude.messages.create(model=MODEL, max_tokens=64, messages=USER, tools=[WEATHER])
    assert [b.type for b in auto.content] == ["text", "tool_use"]
    assert auto.stop_reason == "tool_use"
    _valid_input(auto.content[1], WEATHER)
    none = claude.messages.create(model=MODEL, max_tokens=64, messages=USER, tools=[WEATHER],
                                  tool_choice={"type": "none"})
    assert [b.type for b in none.content] == ["text"] and none.stop_reason == "end_turn"


def test_tool_result_follow_up_continues_with_text(claude: Anthropic) -> None:
    first = claude.messages.create(model=MODEL, max_tokens=64, messages=USER, tools=[WEATHER])
    call = _tool_uses(first)[0]
    follow_up = [*USER, {"role": "assistant", "content": [b.to_dict() for b in first.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id,
                                               "content": "Sunny and 21 degrees"}]}]
    second = claude.messages.create(model=MODEL, max_tokens=64, messages=follow_up,
                                    tools=[WEATHER])
    assert second.stop_reason == "end_turn" and [b.type for b in second.content] == ["text"]
    assert "Sunny and 21 degrees" in text_of(second)
    assert second.usage.input_tokens > first.usage.input_tokens
    counted = claude.messages.count_tokens(model=MODEL, messages=follow_up, tools=[WEATHER])
    assert counted.input_tokens == second.usage.input_tokens


def test_a_call_that_does_not_fit_is_not_started(claude: Anthropic) -> None:
    message = claude.messages.create(model=MODEL, max_tokens=3, messages=USER, tools=[WEATHER],
                                     tool_choice={"type": "any"})
    assert message.stop_reason == "max_tokens"
    assert message.content == [] and message.usage.output_tokens == 0


def test_tool_results_must_answer_the_previous_turn(raw: httpx.Client) -> None:
    orphan = [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x",
                                            "content": "42"}]}]
    response = post(raw, {"model": MODEL, "max_tokens": 16, "messages": orphan})
    assert response.status_code == 400 and "tool_use_id" in response.json()["error"]["message"]


# --- streaming --------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    {"messages": USER},
    {"messages": USER, "max_tokens": 5},
    {"messages": COUNT, "stop_sequences": ["7"]},
    {"messages": USER, "tools": [WEATHER]},
    {"messages": USER, "tools": [WEATHER, TIME], "tool_choice": {"type": "any"}},
    {"messages": USER, "max_tokens": 2048, "thinking": {"type": "enabled",
                                                         "budget_tokens": 1024}},
], ids=["text", "max-tokens", "stop-sequence", "auto-tool", "parallel-any", "thinking"])
def test_stream_spells_the_non_streamed_message(raw: httpx.Client, body: dict) -> None:
    events = streamed(raw, **body)
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["message_start", "content_block_start"] and kinds[2] == "ping"
    assert kinds[-2:] == ["message_delta", "message_stop"] and kinds.count("message_delta") == 1
    start = events[0]["message"]
    assert start["stop_reason"] is None and start["usage"]["output_tokens"] <= 1
    assembled = assemble(events)
    whole = create(raw, **body)
    assert without_ids(assembled) == without_ids(whole)
    assert start["usage"]["input_tokens"] == whole["usage"]["input_tokens"]


def test_stream_fragments(raw: httpx.Client) -> None:
    events = streamed(raw, messages=USER, tools=[WEATHER], tool_choice={"type": "any"})
    fragments = [e["delta"]["partial_json"] for e in events
                 if e["type"] == "content_block_delta"]
    assert len(fragments) > 2 and all(not f.startswith("{") for f in fragments[1:])
    thinking = streamed(raw, messages=USER, max_tokens=2048,
                        thinking={"type": "enabled", "budget_tokens": 1024})
    deltas = [e["delta"]["type"] for e in thinking
              if e["type"] == "content_block_delta" and e["index"] == 0]
    assert deltas[-1] == "signature_delta" and deltas.count("signature_delta") == 1
    assert set(deltas[:-1]) == {"thinking_delta"}


def test_sdk_raw_stream_events_in_order(claude: Anthropic) -> None:
    events = list(claude.messages.create(model=MODEL, max_tokens=64, messages=USER, stream=True))
    kinds = [e.type for e in events]  # the SDK consumes ping itself
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert set(kinds[2:-3]) == {"content_block_delta"}
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert events[-2].usage.output_tokens == tokens.count_text(
        "".join(e.delta.text for e in events if e.type == "content_block_delta"), ENCODING)


def _plain(value: Any) -> Any:
    """A parsed SDK object as plain JSON, without the keys left None (a stream's snapshot sets
    stop_details; a body may omit it)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@pytest.mark.parametrize("extra", [
    {},
    {"tools": [WEATHER], "tool_choice": {"type": "tool", "name": "get_weather"}},
    {"max_tokens": 2048, "thinking": {"type": "enabled", "budget_tokens": 1024},
     "tools": [WEATHER]},
], ids=["text", "tool", "thinking"])
def test_sdk_stream_helper_final_message(claude: Anthropic, extra: dict) -> None:
    request = {"model": MODEL, "max_tokens": 64, "messages": USER, **extra}
    with claude.messages.stream(**request) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    whole = claude.messages.create(**request)
    assert text == text_of(whole)
    assert without_ids(_plain(final.to_dict())) == without_ids(_plain(whole.to_dict()))


# --- count_tokens and models ------------------------------------------------------------------


@pytest.mark.parametrize("extra", [
    {}, {"system": "Answer briefly."}, {"tools": [WEATHER, TIME]},
], ids=["plain", "system", "tools"])
def test_count_tokens_equals_usage(claude: Anthropic, extra: dict) -> None:
    counted = claude.messages.count_tokens(model=MODEL, messages=USER, **extra)
    message = claude.messages.create(model=MODEL, max_tokens=16, messages=USER, **extra)
    assert counted.input_tokens == message.usage.input_tokens > 0


def test_models_list_in_the_anthropic_shape(claude: Anthropic, raw: httpx.Client) -> None:
    assert [m.id for m in claude.models.list()] == [MODEL, HAIKU]
    assert claude.models.retrieve(HAIKU).display_name == "Claude Haiku 3.5"
    page = raw.get("/v1/models", params={"limit": 1})
    conforms(page.json(), "ListModelsResponse")
    assert page.json()["has_more"] is True and page.json()["last_id"] == MODEL
    rest = raw.get("/v1/models", params={"after_id": MODEL}).json()
    assert [m["id"] for m in rest["data"]] == [HAIKU] and rest["has_more"] is False
    before = raw.get("/v1/models", params={"before_id": HAIKU}).json()
    assert [m["id"] for m in before["data"]] == [MODEL]


def test_openai_clients_keep_the_openai_model_list(http: httpx.Client) -> None:
    listing = http.get("/v1/models").json()
    assert listing["object"] == "list" and {m["object"] for m in listing["data"]} == {"model"}
    assert MODEL not in {m["id"] for m in listing["data"]}


# --- errors and auth ----------------------------------------------------------------------


ERROR_SCHEMAS = {400: "InvalidRequestErrorResponse", 401: "AuthenticationErrorResponse",
                 404: "NotFoundErrorResponse"}


def refused(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    conforms(body, ERROR_SCHEMAS[status])
    assert response.headers["request-id"] == body["request_id"]
    return body["error"]["message"]


@pytest.mark.parametrize(("body", "headers", "status", "said"), [
    ({"model": MODEL, "max_tokens": 8, "messages": USER}, {"anthropic-version": ""}, 400,
     "anthropic-version"),
    ({"model": MODEL, "messages": USER}, {}, 400, "max_tokens: Field required"),
    ({"model": "claude-no-such-model", "max_tokens": 8, "messages": USER}, {}, 404, "model"),
    ({"model": MODEL, "max_tokens": 8, "messages": USER, "temperature": 2}, {}, 400,
     "temperature"),
    ({"model": MODEL, "max_tokens": 8, "messages": []}, {}, 400, "messages"),
    ({"model": MODEL, "max_tokens": 8, "messages": [{"role": "tool", "content": "x"}]}, {},
     400, "messages.0.role"),
    ({"model": MODEL, "max_tokens": 8, "messages": USER, "tool_choice": {"type": "any"}}, {},
     400, "tool_choice"),
    ({"model": MODEL, "max_tokens": 8, "messages": USER, "stop_sequences": [" "]}, {}, 400,
     "stop_sequences"),
    ({"model": MODEL, "max_tokens": 1024, "messages": USER,
      "thinking": {"type": "enabled", "budget_tokens": 1024}}, {}, 400, "budget_tokens"),
    ({"model": MODEL, "max_tokens": 2048, "messages": USER,
      "thinking": {"type": "enabled", "budget_tokens": 512}}, {}, 400, "budget_tokens"),
    ({"model": HAIKU, "max_tokens": 2048, "messages": USER,
      "thinking": {"type": "enabled", "budget_tokens": 1024}}, {}, 400, "thinking"),
    ({"model": MODEL, "max_tokens": 8, "messages": USER, "stream": True, "top_k": -1}, {},
     400, "top_k"),
], ids=["no-version", "no-max-tokens", "unknown-model", "temperature", "no-messages",
        "role-tool", "tool-choice-without-tools", "blank-stop", "budget-not-below-max",
        "budget-below-1024", "thinking-not-offered", "streamed-invalid"])
def test_invalid_requests(raw: httpx.Client, body: dict, headers: dict, status: int,
                          said: str) -> None:
    assert said in refused(post(raw, body, headers=headers), status)


def test_malformed_json_and_unknown_route(raw: httpx.Client) -> None:
    refused(raw.post("/v1/messages", content=b"{not json"), 400)
    assert refused(raw.get("/v1/messages/nope"), 404)


def test_sdk_errors(gateway: EmbeddedGateway, claude: Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        claude.messages.create(model="claude-no-such-model", max_tokens=8, messages=USER)
    assert missing.value.body["error"]["type"] == "not_found_error"
    wrong = Anthropic(base_url=gateway.root_url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as denied:
        wrong.messages.create(model=MODEL, max_tokens=8, messages=USER)
    assert denied.value.body["error"]["type"] == "authentication_error"


BODY = {"model": MODEL, "max_tokens": 8, "messages": USER}


@pytest.mark.parametrize(("headers", "status"), [
    ({"x-api-key": API_KEY}, 200),
    ({"Authorization": f"Bearer {API_KEY}"}, 200),
    ({"x-api-key": "sk-wrong"}, 401),
    ({"Authorization": "Bearer sk-wrong"}, 401),
    ({}, 401),
], ids=["x-api-key", "bearer", "bad-x-api-key", "bad-bearer", "none"])
def test_auth_headers(gateway: EmbeddedGateway, headers: dict, status: int) -> None:
    for path, body in (("/v1/messages", BODY), ("/v1/messages/count_tokens",
                                                {"model": MODEL, "messages": USER})):
        response = httpx.post(gateway.root_url + path, json=body,
                              headers={**VERSION, **headers}, timeout=10)
        if status == 401:
            assert refused(response, 401)
        else:
            assert response.status_code == 200, response.text
            assert response.headers["request-id"].startswith("req_")


def test_sdk_auth_token_and_x_api_key(gateway: EmbeddedGateway) -> None:
    by_token = Anthropic(base_url=gateway.root_url, auth_token=API_KEY, max_retries=0)
    assert by_token.messages.create(**BODY).type == "message"
    by_key = Anthropic(base_url=gateway.root_url, api_key="unused", max_retries=0,
                       default_headers={"x-api-key": API_KEY})
    assert by_key.messages.count_tokens(model=MODEL, messages=USER).input_tokens > 0


def test_openai_paths_keep_bearer_auth(gateway: EmbeddedGateway) -> None:
    response = httpx.post(f"{gateway.base_url}/chat/completions", timeout=10,
                          headers={"x-api-key": API_KEY, **VERSION},
                          json={"model": "gpt-4o-mini", "messages": USER})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"  # the OpenAI envelope


# --- thinking ---------------------------------------------------------------------------------


def test_thinking_block_and_its_signature_round_trip(claude: Anthropic, raw: httpx.Client) -> None:
    request = {"model": MODEL, "max_tokens": 2048, "messages": USER, "tools": [WEATHER],
               "thinking": {"type": "enabled", "budget_tokens": 1024}}
    first = claude.messages.create(**request)
    assert [b.type for b in first.content] == ["thinking", "text", "tool_use"]
    assert first.content[0].thinking and first.content[0].signature
    turn = [b.to_dict() for b in first.content]
    result = {"role": "user", "content": [{"type": "tool_result",
                                           "tool_use_id": first.content[2].id, "content": "ok"}]}
    second = claude.messages.create(**{**request, "messages": [
        *USER, {"role": "assistant", "content": turn}, result]})
    assert second.stop_reason == "end_turn"
    altered = [{**turn[0], "signature": "forged"}, *turn[1:]]
    response = post(raw, {**request, "messages": [
        *USER, {"role": "assistant", "content": altered}, result]})
    assert "signature" in refused(response, 400)


# --- the fixed-reply behaviour ------------------------------------------------------------


def test_fixed_reply_ignores_the_prompt_but_honours_parameters(fixed: Anthropic) -> None:
    plain = fixed.messages.create(model=MODEL, max_tokens=64, messages=COUNT)
    assert text_of(plain) == FIXED_REPLY_TEXT and plain.stop_reason == "end_turn"
    cut = fixed.messages.create(model=MODEL, max_tokens=4, messages=COUNT)
    assert cut.stop_reason == "max_tokens" and cut.usage.output_tokens == 4
    stopped = fixed.messages.create(model=MODEL, max_tokens=64, messages=COUNT,
                                    stop_sequences=["mock"])
    assert text_of(stopped) == FIXED_REPLY_TEXT.split("mock")[0]
    assert stopped.stop_sequence == "mock"
    auto = fixed.messages.create(model=MODEL, max_tokens=64, messages=USER, tools=[WEATHER])
    assert [b.type for b in auto.content] == ["text"] and auto.stop_reason == "end_turn"
    forced = fixed.messages.create(model=MODEL, max_tokens=64, messages=USER, tools=[WEATHER],
                                   tool_choice={"type": "any"})
    assert [b.type for b in forced.content] == ["tool_use"]
    with fixed.messages.stream(model=MODEL, max_tokens=64, messages=USER) as stream:
        assert "".join(stream.text_stream) == FIXED_REPLY_TEXT


# --- fault hooks (not registered until the messages.* checks exist) ---------------------------


def _plan() -> tuple[dict[str, Any], MessagePlan]:
    plan = MessagePlan([Block({"type": "text", "text": "Hi there"}, ("Hi", " there"))],
                       "end_turn", None, input_tokens=12, output_tokens=2)
    body = {"id": "msg_1", "type": "message", "role": "assistant", "model": MODEL,
            "content": [{"type": "text", "text": "Hi there"}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": 12, "output_tokens": 2}}
    return body, plan


def test_fault_hooks_break_exactly_their_rule() -> None:
    body, plan = _plan()
    clean = stream_events(body, plan, None)
    assert assemble(stream_events_of(b"".join(stream_frames(clean, None))))["content"] == \
        body["content"]
    assert stream_events(body, plan, faults.NO_MESSAGE_STOP) == clean[:-1]
    zero = stream_events(body, plan, faults.START_INPUT_ZERO)
    assert zero[0]["message"]["usage"]["input_tokens"] == 0
    assert zero[-2]["usage"]["input_tokens"] == 12
    bare = sse.parse(b"".join(stream_frames(clean, faults.NO_EVENT_LINES))).events
    assert [e.event for e in bare] == [None] * len(clean)
    done = sse.parse(b"".join(stream_frames(clean, faults.DONE_APPENDED))).events
    assert done[-1].data == "[DONE]" and len(done) == len(clean) + 1
    openai_shaped = json.loads(error_response(ApiError(400, "bad"),
                                              faults.OPENAI_SHAPED_ERRORS).body)
    assert set(openai_shaped) == {"error"} and "param" in openai_shaped["error"]
    assert set(REWRITES) <= {f.name for f in faults.MESSAGES_FAULTS}


def test_input_tokens_use_the_offline_tokenizer(raw: httpx.Client) -> None:
    request = MessagesRequest(model=CLAUDE_MODELS[MODEL], messages=USER)
    expected = tokens.count_chat_prompt(USER, ENCODING)
    assert input_tokens(request) == expected == create(raw, messages=USER)["usage"][
        "input_tokens"]
