"""The official SDK against /v1/chat/completions on the clean gateway."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from openai import OpenAI

from conformance import tokens

from .conftest import API_KEY

USER = [{"role": "user", "content": "Name three rivers in France"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "unit", "days"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}
TIME_TOOL = {"type": "function", "function": {
    "name": "get_time", "parameters": {"type": "object", "properties": {
        "zone": {"type": "string", "const": "UTC"}}, "required": ["zone"]}}}


def _stream_text(client: OpenAI, **kwargs) -> tuple[dict[int, str], list]:
    texts: dict[int, str] = {}
    chunks = list(client.chat.completions.create(stream=True, **kwargs))
    for chunk in chunks:
        for choice in chunk.choices:
            texts[choice.index] = texts.get(choice.index, "") + (choice.delta.content or "")
    return texts, chunks


def test_non_stream_body(client: OpenAI) -> None:
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "gpt-4o-mini"
    choice = completion.choices[0]
    assert choice.message.role == "assistant" and choice.finish_reason == "stop"
    assert choice.message.content
    usage = completion.usage
    assert usage.prompt_tokens == tokens.count_chat_prompt(USER, "o200k_base")
    assert usage.completion_tokens == tokens.count_text(choice.message.content, "o200k_base")
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert 20 <= usage.completion_tokens <= 40


def test_deterministic_and_stream_equals_non_stream(client: OpenAI) -> None:
    first = client.chat.completions.create(model="gpt-4o-mini", messages=USER, temperature=1.7)
    second = client.chat.completions.create(model="gpt-4o-mini", messages=USER, seed=4)
    strip = {"id", "created"}
    assert first.model_dump(exclude=strip) == second.model_dump(exclude=strip)
    texts, chunks = _stream_text(client, model="gpt-4o-mini", messages=USER,
                                 stream_options={"include_usage": True})
    assert texts[0] == first.choices[0].message.content
    assert chunks[-1].choices == [] and chunks[-1].usage == first.usage
    assert len({c.id for c in chunks}) == 1 and len({c.created for c in chunks}) == 1
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) == first.usage.completion_tokens  # one token per delta


def test_stream_shape(client: OpenAI) -> None:
    _, chunks = _stream_text(client, model="gpt-4o-mini", messages=USER)
    first = chunks[0].choices[0]
    assert first.delta.role == "assistant" and first.delta.content == ""
    assert all(c.choices[0].delta.role is None for c in chunks[1:])
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert all(c.usage is None for c in chunks)


def test_n_choices_interleave(client: OpenAI) -> None:
    texts, chunks = _stream_text(client, model="gpt-4o-mini", messages=USER, n=2,
                                 stream_options={"include_usage": True})
    body = client.chat.completions.create(model="gpt-4o-mini", messages=USER, n=2)
    assert [c.index for c in body.choices] == [0, 1]
    assert texts == {c.index: c.message.content for c in body.choices}
    assert texts[0] != texts[1]
    assert [c.choices[0].index for c in chunks[:2]] == [0, 1]
    roles = [c.choices[0].index for c in chunks if c.choices and c.choices[0].delta.role]
    assert roles == [0, 1]
    assert chunks[-1].usage.completion_tokens == body.usage.completion_tokens


def test_max_tokens_cuts_exactly(client: OpenAI) -> None:
    for params in ({"max_completion_tokens": 5}, {"max_tokens": 5}):
        body = client.chat.completions.create(model="gpt-4o-mini", messages=USER, **params)
        assert body.choices[0].finish_reason == "length"
        assert body.usage.completion_tokens == 5
        assert tokens.count_text(body.choices[0].message.content, "o200k_base") == 5


def test_stop_sequence(client: OpenAI) -> None:
    full = client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    text = full.choices[0].message.content
    stop_word = text.split()[3]
    cut = client.chat.completions.create(model="gpt-4o-mini", messages=USER,
                                         stop=[stop_word, "zzz"])
    assert cut.choices[0].message.content == text[: text.index(stop_word)]
    assert cut.choices[0].finish_reason == "stop"


def test_reasoning_model_counts_reasoning_tokens(client: OpenAI) -> None:
    body = client.chat.completions.create(model="o4-mini", messages=USER,
                                          reasoning_effort="low")
    details = body.usage.completion_tokens_details
    visible = tokens.count_text(body.choices[0].message.content, "o200k_base")
    assert details.reasoning_tokens > 0
    assert body.usage.completion_tokens == visible + details.reasoning_tokens


def test_auto_tool_call(client: OpenAI) -> None:
    body = client.chat.completions.create(model="gpt-4o-mini", messages=USER,
                                          tools=[WEATHER_TOOL, TIME_TOOL])
    choice = body.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.id.startswith("call_") and call.function.name == "get_weather"
    arguments = json.loads(call.function.arguments)
    assert arguments["unit"] == "celsius" and 1 <= arguments["days"] <= 7


def test_required_parallel_and_named_tool_choice(client: OpenAI) -> None:
    tools = [WEATHER_TOOL, TIME_TOOL]
    both = client.chat.completions.create(model="gpt-4o-mini", messages=USER, tools=tools,
                                          tool_choice="required")
    assert [c.function.name for c in both.choices[0].message.tool_calls] == \
        ["get_weather", "get_time"]
    single = client.chat.completions.create(model="gpt-4o-mini", messages=USER, tools=tools,
                                            tool_choice="required", parallel_tool_calls=False)
    assert len(single.choices[0].message.tool_calls) == 1
    named = client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, tools=tools,
        tool_choice={"type": "function", "function": {"name": "get_time"}})
    assert named.choices[0].message.tool_calls[0].function.name == "get_time"
    assert json.loads(named.choices[0].message.tool_calls[0].function.arguments) == \
        {"zone": "UTC"}
    none = client.chat.completions.create(model="gpt-4o-mini", messages=USER, tools=tools,
                                          tool_choice="none")
    assert none.choices[0].message.content and not none.choices[0].message.tool_calls


def test_streamed_tool_calls_match(client: OpenAI) -> None:
    params = {"model": "gpt-4o-mini", "messages": USER, "tools": [WEATHER_TOOL, TIME_TOOL],
              "tool_choice": "required"}
    body = client.chat.completions.create(**params)
    calls: dict[int, dict] = {}
    for chunk in client.chat.completions.create(stream=True, **params):
        for delta_call in chunk.choices[0].delta.tool_calls or []:
            call = calls.setdefault(delta_call.index, {"arguments": ""})
            if delta_call.id:
                call.update(id=delta_call.id, name=delta_call.function.name)
            call["arguments"] += delta_call.function.arguments or ""
    expected = {i: {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
                for i, c in enumerate(body.choices[0].message.tool_calls)}
    assert calls == expected


def test_tool_result_round_trip(client: OpenAI) -> None:
    first = client.chat.completions.create(model="gpt-4o-mini", messages=USER,
                                           tools=[WEATHER_TOOL])
    call = first.choices[0].message.tool_calls[0]
    messages = [*USER, first.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21 degrees"}]
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                            tools=[WEATHER_TOOL])
    assert answer.choices[0].finish_reason == "stop"
    assert "Sunny" in answer.choices[0].message.content


def test_structured_outputs(client: OpenAI) -> None:
    schema = WEATHER_TOOL["function"]["parameters"]
    body = client.chat.completions.create(
        model="gpt-4o-mini", messages=USER,
        response_format={"type": "json_schema",
                         "json_schema": {"name": "weather", "schema": schema, "strict": True}})
    value = json.loads(body.choices[0].message.content)
    assert set(value) == {"city", "unit", "days"}
    obj = client.chat.completions.create(model="gpt-4o-mini", messages=USER,
                                         response_format={"type": "json_object"})
    assert isinstance(json.loads(obj.choices[0].message.content), dict)


def test_logprobs(client: OpenAI) -> None:
    body = client.chat.completions.create(model="gpt-4o-mini", messages=USER, logprobs=True,
                                          top_logprobs=2, max_completion_tokens=4)
    entries = body.choices[0].logprobs.content
    assert "".join(e.token for e in entries) == body.choices[0].message.content
    assert all(len(e.top_logprobs) == 2 for e in entries)
    assert len(entries) == body.usage.completion_tokens
    assert all(e.logprob <= 0 and bytes(e.bytes) == e.token.encode() for e in entries)


def test_streamed_logprobs(client: OpenAI) -> None:
    texts, chunks = _stream_text(client, model="gpt-4o-mini", messages=USER, logprobs=True,
                                 top_logprobs=2, stream_options={"include_usage": True})
    entries = [e for c in chunks for choice in c.choices if choice.logprobs
               for e in choice.logprobs.content]
    assert "".join(e.token for e in entries) == texts[0]
    assert len(entries) == chunks[-1].usage.completion_tokens
    assert all(len(e.top_logprobs) == 2 for e in entries)


@pytest.mark.parametrize(("params", "param"), [
    ({"temperature": 3}, "temperature"),
    ({"top_p": -0.1}, "top_p"),
    ({"n": 9}, "n"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"presence_penalty": 2.5}, "presence_penalty"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"stream_options": {"include_usage": True}}, "stream_options"),
    ({"tool_choice": "sometimes", "tools": [WEATHER_TOOL]}, "tool_choice"),
    ({"response_format": {"type": "yaml"}}, "response_format.type"),
    ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
    ({"messages": []}, "messages"),
    ({"temperature": "hot"}, "temperature"),
])
def test_bad_requests_raise_bad_request_error(client: OpenAI, params: dict, param: str) -> None:
    request = {"model": "gpt-4o-mini", "messages": USER, **params}
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(**request)
    assert raised.value.status_code == 400
    assert raised.value.param == param
    assert raised.value.type == "invalid_request_error"


def test_unknown_model_and_bad_key(gateway, client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="gpt-unknown", messages=USER)
    assert raised.value.code == "model_not_found" and raised.value.param == "model"
    wrong = OpenAI(base_url=gateway.base_url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        wrong.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert raised.value.code == "invalid_api_key"


def test_missing_fields_and_raw_errors(gateway, http: httpx.Client) -> None:
    cases = [
        ({"model": "gpt-4o-mini"}, "messages", "missing_required_parameter"),
        ({"messages": USER}, "model", "missing_required_parameter"),
    ]
    for body, param, code in cases:
        reply = http.post("/v1/chat/completions", json=body)
        assert reply.status_code == 400
        assert reply.json()["error"] == {**reply.json()["error"], "param": param, "code": code}
    bad_json = http.post("/v1/chat/completions", content=b'{"model": ',
                         headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["error"]["param"] is None
    missing_key = httpx.get(f"{gateway.base_url}/models")
    assert missing_key.status_code == 401
    assert set(missing_key.json()["error"]) == {"message", "type", "param", "code"}


def test_unknown_fields_are_ignored(http: httpx.Client) -> None:
    reply = http.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": USER,
                                                    "frobnicate": {"x": 1}})
    assert reply.status_code == 200


def test_routes_and_methods(http: httpx.Client) -> None:
    assert http.get("/v1/nope").status_code == 404
    assert http.get("/v1/nope").json()["error"]["type"] == "invalid_request_error"
    wrong_method = http.get("/v1/chat/completions")
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()
    models = http.get("/v1/models").json()
    assert models["object"] == "list"
    assert {m["id"] for m in models["data"]} == {"gpt-4o-mini", "o4-mini"}
    assert all(set(m) == {"id", "object", "created", "owned_by"} for m in models["data"])
    assert http.get("/v1/models/o4-mini").json()["id"] == "o4-mini"
    assert http.get("/v1/models/nope").status_code == 404


def test_sdk_models(client: OpenAI) -> None:
    assert {m.id for m in client.models.list()} == {"gpt-4o-mini", "o4-mini"}


def test_api_key_constant_is_used(client: OpenAI) -> None:
    assert client.api_key == API_KEY
