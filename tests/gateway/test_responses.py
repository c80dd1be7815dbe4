"""The official SDK against /v1/responses on the clean gateway."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from openai import OpenAI

from conformance import tokens

TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"], "additionalProperties": False},
    "strict": True,
}
TOOL_2 = {"type": "function", "name": "get_time", "parameters": {"type": "object",
          "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}
REQUIRED_FIELDS = {
    "id", "object", "created_at", "error", "incomplete_details", "instructions", "model",
    "tools", "output", "parallel_tool_calls", "metadata", "tool_choice", "temperature", "top_p",
    "status", "usage", "store", "text", "reasoning", "truncation", "previous_response_id",
    "max_output_tokens",
}


def test_non_stream_body(client: OpenAI, http: httpx.Client) -> None:
    response = client.responses.create(model="gpt-4o-mini", input="Name three rivers",
                                       instructions="Be brief.", metadata={"k": "v"})
    assert response.object == "response" and response.id.startswith("resp_")
    assert response.status == "completed" and response.error is None
    (message,) = response.output
    assert message.type == "message" and message.id.startswith("msg_")
    assert message.content[0].type == "output_text"
    assert response.output_text == message.content[0].text
    usage = response.usage
    assert usage.input_tokens == tokens.count_responses_input(
        "Name three rivers", "o200k_base", "Be brief.")
    assert usage.output_tokens == tokens.count_text(response.output_text, "o200k_base")
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    raw = http.get(f"/v1/responses/{response.id}").json()
    assert set(raw) >= REQUIRED_FIELDS
    assert raw["metadata"] == {"k": "v"} and raw["instructions"] == "Be brief."


def test_stream_matches_non_stream(client: OpenAI) -> None:
    params = {"model": "gpt-4o-mini", "input": [{"role": "user", "content": "Tell me a fact"}]}
    plain = client.responses.create(**params)
    events = list(client.responses.create(stream=True, **params))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[0].type == "response.created" and events[0].response.usage is None
    assert events[1].type == "response.in_progress"
    assert events[-1].type == "response.completed"
    final = events[-1].response
    assert final.output_text == plain.output_text and final.usage == plain.usage
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == plain.output_text
    types = [e.type for e in events]
    assert types[2:4] == ["response.output_item.added", "response.content_part.added"]
    assert types[-4:-1] == ["response.output_text.done", "response.content_part.done",
                            "response.output_item.done"]


def test_sdk_stream_helper(client: OpenAI) -> None:
    with client.responses.stream(model="o4-mini", input="Explain tides") as stream:
        final = stream.get_final_response()
    kinds = [item.type for item in final.output]
    assert kinds == ["reasoning", "message"]
    assert final.usage.output_tokens_details.reasoning_tokens > 0
    assert final.output[0].summary[0].text


def test_reasoning_effort_only_for_reasoning_models(client: OpenAI) -> None:
    for effort in ("none", "minimal", "low", "medium", "high", "xhigh"):
        client.responses.create(model="o4-mini", input="hi", reasoning={"effort": effort})
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="gpt-4o-mini", input="hi", reasoning={"effort": "low"})
    assert raised.value.param == "reasoning.effort"


def test_max_output_tokens_incomplete(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-4o-mini", input="Tell me a fact",
                                       max_output_tokens=16)
    assert response.status == "incomplete"
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output[-1].status == "incomplete"
    assert response.usage.output_tokens == 16
    events = list(client.responses.create(model="gpt-4o-mini", input="Tell me a fact",
                                          max_output_tokens=16, stream=True))
    assert events[-1].type == "response.incomplete"
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="gpt-4o-mini", input="x", max_output_tokens=15)


def test_previous_response_id(client: OpenAI) -> None:
    first = client.responses.create(model="gpt-4o-mini", input="Remember the number 7")
    second = client.responses.create(model="gpt-4o-mini", input="What was it?",
                                     previous_response_id=first.id)
    alone = client.responses.create(model="gpt-4o-mini", input="What was it?")
    assert second.previous_response_id == first.id
    assert second.usage.input_tokens > alone.usage.input_tokens + first.usage.output_tokens
    assert client.responses.retrieve(first.id).output_text == first.output_text
    with pytest.raises(openai.NotFoundError) as raised:
        client.responses.create(model="gpt-4o-mini", input="x",
                                previous_response_id="resp_does_not_exist")
    assert raised.value.param == "previous_response_id"


def test_store_false_and_delete(client: OpenAI) -> None:
    unstored = client.responses.create(model="gpt-4o-mini", input="x", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unstored.id)
    stored = client.responses.create(model="gpt-4o-mini", input="x")
    client.responses.delete(stored.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(stored.id)


def test_function_calling_round_trip(client: OpenAI) -> None:
    first = client.responses.create(model="gpt-4o-mini", input="Weather in Paris?",
                                    tools=[TOOL])
    (call,) = first.output
    assert call.type == "function_call" and call.id.startswith("fc_")
    assert call.call_id.startswith("call_") and json.loads(call.arguments) == {
        "city": "sample city"}
    second = client.responses.create(
        model="gpt-4o-mini", tools=[TOOL], previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id,
                "output": "Sunny and warm"}])
    assert second.output[0].type == "message" and "Sunny" in second.output_text


def test_parallel_and_streamed_function_calls(client: OpenAI) -> None:
    params = {"model": "gpt-4o-mini", "input": "Weather and time", "tools": [TOOL, TOOL_2],
              "tool_choice": "required"}
    body = client.responses.create(**params)
    assert [i.name for i in body.output] == ["get_weather", "get_time"]
    events = list(client.responses.create(stream=True, **params))
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert [(e.name, e.arguments) for e in done] == [(i.name, i.arguments) for i in body.output]
    named = client.responses.create(**{**params, "tool_choice": {"type": "function",
                                                                 "name": "get_time"}})
    assert [i.name for i in named.output] == ["get_time"]


def test_structured_output(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o-mini", input="Weather?",
        text={"format": {"type": "json_schema", "name": "weather", "strict": True,
                         "schema": TOOL["parameters"]}})
    assert json.loads(response.output_text) == {"city": "sample city"}


# Web search is the one hosted tool the gateway offers (tests/gateway/test_web_search.py).
@pytest.mark.parametrize("tool_type", ["file_search", "code_interpreter", "image_generation",
                                       "computer_use_preview", "mcp"])
def test_hosted_tools_are_refused(client: OpenAI, tool_type: str) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="gpt-4o-mini", input="x", tools=[{"type": tool_type}])
    assert raised.value.param == "tools" and raised.value.code == "unsupported_value"


@pytest.mark.parametrize(("body", "param"), [
    ({"model": "gpt-4o-mini"}, "input"),
    ({"input": "x"}, "model"),
    ({"model": "gpt-4o-mini", "input": "x", "temperature": 2.5}, "temperature"),
    ({"model": "gpt-4o-mini", "input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
    ({"model": "gpt-4o-mini", "input": "x", "text": {"format": {"type": "xml"}}},
     "text.format.type"),
    ({"model": "gpt-4o-mini", "input": "x", "tool_choice": "maybe"}, "tool_choice"),
])
def test_bad_requests(http: httpx.Client, body: dict, param: str) -> None:
    reply = http.post("/v1/responses", json=body)
    assert reply.status_code == 400
    assert reply.json()["error"]["param"] == param
