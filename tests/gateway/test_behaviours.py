"""The official SDK against the gateway's instruction-ignoring model (``/behaviour/fixed-reply``).

The fixed-reply model words every answer the same way, whatever the prompt; the serving stack
still honours every API parameter: caps and ``stop`` cut the reply, ``n`` multiplies it, a
forced ``tool_choice`` makes the call, JSON modes decode to JSON, usage counts what was sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from jsonschema import Draft202012Validator
from openai import OpenAI
from starlette.testclient import TestClient

from conformance import cli, tokens
from conformance.apis.openai.checks.chat import LIMIT as CHAT_CUT
from conformance.apis.openai.checks.chat import MAX_TOKENS as CHAT_ROOM
from conformance.apis.openai.checks.responses import CUT_OUTPUT_TOKENS, MAX_OUTPUT_TOKENS
from conformance.gateway import BEHAVIOURS, EmbeddedGateway, create_app
from conformance.gateway.behaviours import (
    FIXED_REPLY,
    FIXED_REPLY_TEXT,
    OBEDIENT,
    fixed_json_object,
)

from .conftest import API_KEY

MODEL = "gpt-4o-mini"
ENCODING = "o200k_base"
FIXED_TOKENS = tokens.encode(FIXED_REPLY_TEXT, ENCODING)
COUNT = [{"role": "user", "content": "Count from 1 to 10, separated by commas."}]
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
        "additionalProperties": False}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "parameters": {"type": "object", "properties": {
        "zone": {"type": "string", "const": "UTC"}}, "required": ["zone"]}}}
RESPONSES_WEATHER = {"type": "function", **WEATHER["function"]}
CITY_SCHEMA = {"type": "object", "properties": {
    "city": {"type": "string"}, "population": {"type": "integer", "minimum": 1}},
    "required": ["city", "population"], "additionalProperties": False}


@pytest.fixture(scope="module")
def fixed(gateway: EmbeddedGateway) -> OpenAI:
    return OpenAI(base_url=gateway.behaviour_base_url(FIXED_REPLY), api_key=API_KEY,
                  max_retries=0, timeout=10)


def _prefix(count: int) -> str:
    return tokens.decode(FIXED_TOKENS[:count], ENCODING)


def _chat_stream(client: OpenAI, **kwargs) -> tuple[dict[int, str], dict[int, str], list]:
    texts: dict[int, str] = {}
    finish: dict[int, str] = {}
    chunks = list(client.chat.completions.create(stream=True, **kwargs))
    for chunk in chunks:
        for choice in chunk.choices:
            texts[choice.index] = texts.get(choice.index, "") + (choice.delta.content or "")
            if choice.finish_reason:
                finish[choice.index] = choice.finish_reason
    return texts, finish, chunks


# --- the wording ignores the prompt -------------------------------------------------------


# Every cap the suite sets to cut an answer: Chat's token caps, Chat's `n: 2` request, and the
# documented minimum of Responses max_output_tokens.
SUITE_CUTS = {"chat cap": CHAT_CUT, "chat n": 16, "responses cut": CUT_OUTPUT_TOKENS}


def test_reply_is_ascii_and_longer_than_every_cut() -> None:
    """Each cap the suite sets has something to cut, so a gateway ignoring it is caught even
    behind a model that ignores the prompt; the room left for a whole answer still fits it."""
    assert FIXED_REPLY_TEXT.isascii() and not any(c.isdigit() for c in FIXED_REPLY_TEXT)
    assert 24 <= len(FIXED_TOKENS) <= 30
    assert {name: cap for name, cap in SUITE_CUTS.items() if cap >= len(FIXED_TOKENS)} == {}
    as_json = tokens.count_text(fixed_json_object(), ENCODING)
    assert as_json < min(CHAT_ROOM, MAX_OUTPUT_TOKENS)
    assert set(BEHAVIOURS) == {OBEDIENT, FIXED_REPLY}


@pytest.mark.parametrize("content", [
    "Count from 1 to 10, separated by commas.",
    "Reply with the single word OK.",
    "Reply in JSON: an object with the key answer.",
    "Name three rivers in France",
])
def test_chat_reply_ignores_the_prompt(fixed: OpenAI, content: str) -> None:
    messages = [{"role": "user", "content": content}]
    completion = fixed.chat.completions.create(model=MODEL, messages=messages)
    choice = completion.choices[0]
    assert (choice.message.content, choice.finish_reason) == (FIXED_REPLY_TEXT, "stop")
    assert completion.usage.prompt_tokens == tokens.count_chat_prompt(messages, ENCODING)
    assert completion.usage.completion_tokens == len(FIXED_TOKENS)


def test_default_mode_still_obeys(client: OpenAI) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=COUNT)
    assert completion.choices[0].message.content == "1, 2, 3, 4, 5, 6, 7, 8, 9, 10"


def test_every_choice_and_the_stream_say_the_same(fixed: OpenAI) -> None:
    completion = fixed.chat.completions.create(model=MODEL, messages=COUNT, n=3)
    assert [c.message.content for c in completion.choices] == [FIXED_REPLY_TEXT] * 3
    assert completion.usage.completion_tokens == 3 * len(FIXED_TOKENS)
    texts, finish, chunks = _chat_stream(fixed, model=MODEL, messages=COUNT, n=3,
                                         stream_options={"include_usage": True})
    assert texts == {0: FIXED_REPLY_TEXT, 1: FIXED_REPLY_TEXT, 2: FIXED_REPLY_TEXT}
    assert finish == {0: "stop", 1: "stop", 2: "stop"}
    assert chunks[-1].usage.model_dump() == completion.usage.model_dump()
    # One token per content delta, as in the obedient mode.
    pieces = [c.choices[0].delta.content for c in chunks
              if c.choices and c.choices[0].index == 0 and c.choices[0].delta.content]
    assert len(pieces) == len(FIXED_TOKENS)


def test_responses_reply_ignores_the_prompt(fixed: OpenAI) -> None:
    response = fixed.responses.create(model=MODEL, input="Count from 1 to 10.")
    assert response.status == "completed" and response.output_text == FIXED_REPLY_TEXT
    assert response.usage.output_tokens == len(FIXED_TOKENS)
    events = list(fixed.responses.create(model=MODEL, input="Count from 1 to 10.", stream=True))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == FIXED_REPLY_TEXT and len(deltas) == len(FIXED_TOKENS)
    assert events[-1].type == "response.completed"
    assert events[-1].response.usage.output_tokens == len(FIXED_TOKENS)


def test_reasoning_model_reasons_then_replies(fixed: OpenAI) -> None:
    response = fixed.responses.create(model="o4-mini", input="Count from 1 to 10.")
    kinds = [item.type for item in response.output]
    assert kinds == ["reasoning", "message"] and response.output_text == FIXED_REPLY_TEXT
    reasoning = response.usage.output_tokens_details.reasoning_tokens
    assert reasoning > 0
    assert response.usage.output_tokens == reasoning + len(FIXED_TOKENS)
    completion = fixed.chat.completions.create(model="o4-mini", messages=COUNT)
    assert completion.choices[0].message.content == FIXED_REPLY_TEXT
    assert completion.usage.completion_tokens_details.reasoning_tokens > 0


# --- token caps and stop sequences still hold ---------------------------------------------


@pytest.mark.parametrize("cap_field", ["max_completion_tokens", "max_tokens"])
@pytest.mark.parametrize("stream", [False, True])
def test_chat_cap_cuts_the_reply_token_exactly(fixed: OpenAI, cap_field: str,
                                               stream: bool) -> None:
    request = {"model": MODEL, "messages": COUNT, cap_field: 5}
    if stream:
        texts, finish, _ = _chat_stream(fixed, **request)
        assert (texts[0], finish[0]) == (_prefix(5), "length")
        return
    completion = fixed.chat.completions.create(**request)
    choice = completion.choices[0]
    assert (choice.message.content, choice.finish_reason) == (_prefix(5), "length")
    assert completion.usage.completion_tokens == 5


def test_chat_cap_the_reply_fits_exactly_is_not_a_cut(fixed: OpenAI) -> None:
    """A reply exactly as long as the cap (29 tokens) was not cut: finish_reason stays "stop"."""
    assert len(FIXED_TOKENS) == 29
    completion = fixed.chat.completions.create(model=MODEL, messages=COUNT,
                                               max_completion_tokens=len(FIXED_TOKENS))
    choice = completion.choices[0]
    assert (choice.message.content, choice.finish_reason) == (FIXED_REPLY_TEXT, "stop")
    assert completion.usage.completion_tokens == len(FIXED_TOKENS)


@pytest.mark.parametrize("stream", [False, True])
def test_stop_cuts_the_reply_before_the_sequence(fixed: OpenAI, stream: bool) -> None:
    request = {"model": MODEL, "messages": COUNT, "stop": ["mock", "zzz"]}
    expected = FIXED_REPLY_TEXT[:FIXED_REPLY_TEXT.index("mock")]
    if stream:
        texts, finish, _ = _chat_stream(fixed, **request)
        assert (texts[0], finish[0]) == (expected, "stop")
        return
    completion = fixed.chat.completions.create(**request)
    choice = completion.choices[0]
    assert (choice.message.content, choice.finish_reason) == (expected, "stop")
    assert completion.usage.completion_tokens == tokens.count_text(expected, ENCODING)


def test_stop_that_never_occurs_changes_nothing(fixed: OpenAI) -> None:
    completion = fixed.chat.completions.create(model=MODEL, messages=COUNT, stop=["4"],
                                               max_completion_tokens=40)
    choice = completion.choices[0]
    assert (choice.message.content, choice.finish_reason) == (FIXED_REPLY_TEXT, "stop")


@pytest.mark.parametrize("model", [MODEL, "o4-mini"])
def test_responses_cap_cuts_the_reply(fixed: OpenAI, model: str) -> None:
    """The minimum cap (the suite's cut) cuts the reply; a reasoning model spends some of it
    on reasoning first."""
    cap = CUT_OUTPUT_TOKENS
    cut = fixed.responses.create(model=model, input="Write an essay.", max_output_tokens=cap)
    details = cut.usage.output_tokens_details
    reasoning = details.reasoning_tokens if details else 0
    assert cut.status == "incomplete" and cut.incomplete_details.reason == "max_output_tokens"
    assert cut.output_text == _prefix(cap - reasoning) and cut.usage.output_tokens == cap
    assert cut.output[-1].status == "incomplete"


def test_responses_cap_the_reply_fits_exactly_is_not_a_cut(fixed: OpenAI) -> None:
    fits = fixed.responses.create(model=MODEL, input="Write an essay.",
                                  max_output_tokens=len(FIXED_TOKENS))
    assert fits.status == "completed" and fits.incomplete_details is None
    assert fits.output_text == FIXED_REPLY_TEXT
    assert fits.usage.output_tokens == len(FIXED_TOKENS)


# --- what the server enforces: tools, JSON modes ------------------------------------------


@pytest.mark.parametrize("tool_choice", [None, "auto"])
def test_chat_model_does_not_pick_tools_itself(fixed: OpenAI, tool_choice) -> None:
    extra = {} if tool_choice is None else {"tool_choice": tool_choice}
    completion = fixed.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER], **extra)
    choice = completion.choices[0]
    assert choice.message.tool_calls is None and choice.finish_reason == "stop"
    assert choice.message.content == FIXED_REPLY_TEXT


@pytest.mark.parametrize("tool_choice, names, finish", [
    ({"type": "function", "function": {"name": "get_time"}}, ["get_time"], "stop"),
    ("required", ["get_weather", "get_time"], "tool_calls"),
])
def test_chat_forced_tool_calls_still_happen(fixed: OpenAI, tool_choice, names: list[str],
                                             finish: str) -> None:
    completion = fixed.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER, TIME], tool_choice=tool_choice)
    choice = completion.choices[0]
    assert [c.function.name for c in choice.message.tool_calls] == names
    assert all(isinstance(json.loads(c.function.arguments), dict)
               for c in choice.message.tool_calls)
    assert choice.finish_reason == finish and choice.message.content is None


def test_chat_tool_result_gets_the_fixed_reply(fixed: OpenAI) -> None:
    call = {"id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
    messages = [{"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18C and sunny"}]
    completion = fixed.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER])
    assert completion.choices[0].message.content == FIXED_REPLY_TEXT


def test_chat_json_modes_still_decode_to_json(fixed: OpenAI) -> None:
    as_object = fixed.chat.completions.create(
        model=MODEL, messages=COUNT, response_format={"type": "json_object"})
    assert json.loads(as_object.choices[0].message.content) == {"answer": FIXED_REPLY_TEXT}
    schema_format = {"type": "json_schema",
                     "json_schema": {"name": "city", "schema": CITY_SCHEMA, "strict": True}}
    as_schema = fixed.chat.completions.create(model=MODEL, messages=COUNT,
                                              response_format=schema_format)
    value = json.loads(as_schema.choices[0].message.content)
    assert list(Draft202012Validator(CITY_SCHEMA).iter_errors(value)) == []


def test_responses_tools(fixed: OpenAI) -> None:
    auto = fixed.responses.create(model=MODEL, input="Weather in Paris?",
                                  tools=[RESPONSES_WEATHER])
    assert [i.type for i in auto.output] == ["message"]
    assert auto.output_text == FIXED_REPLY_TEXT
    forced = fixed.responses.create(model=MODEL, input="Weather in Paris?",
                                    tools=[RESPONSES_WEATHER],
                                    tool_choice={"type": "function", "name": "get_weather"})
    (call,) = forced.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "sample city"}
    follow_up = fixed.responses.create(model=MODEL, tools=[RESPONSES_WEATHER], input=[
        {"role": "user", "content": "Weather in Paris?"},
        {"type": "function_call", "call_id": call.call_id, "name": call.name,
         "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "18C"}])
    assert [i.type for i in follow_up.output] == ["message"]
    assert follow_up.output_text == FIXED_REPLY_TEXT


@pytest.mark.parametrize("tool_choice, kinds", [
    ("auto", ["message"]),
    ({"type": "web_search_preview"}, ["web_search_call", "message"]),
    ("required", ["web_search_call", "message"]),
    ("none", ["message"]),
])
def test_web_search_runs_only_when_forced(fixed: OpenAI, tool_choice, kinds: list[str]) -> None:
    response = fixed.responses.create(model=MODEL, input="Search the web: capital of France?",
                                      tools=[{"type": "web_search_preview"}],
                                      tool_choice=tool_choice)
    assert [i.type for i in response.output] == kinds
    assert response.output_text == FIXED_REPLY_TEXT


def test_responses_json_modes_still_decode_to_json(fixed: OpenAI) -> None:
    as_object = fixed.responses.create(model=MODEL, input="Reply in JSON.",
                                       text={"format": {"type": "json_object"}})
    assert json.loads(as_object.output_text) == {"answer": FIXED_REPLY_TEXT}
    as_schema = fixed.responses.create(model=MODEL, input="Name a city.", text={"format": {
        "type": "json_schema", "name": "city", "schema": CITY_SCHEMA, "strict": True}})
    value = json.loads(as_schema.output_text)
    assert list(Draft202012Validator(CITY_SCHEMA).iter_errors(value)) == []


def test_previous_response_and_retrieve(fixed: OpenAI) -> None:
    first = fixed.responses.create(model=MODEL, input="My name is Ada.")
    second = fixed.responses.create(model=MODEL, input="What is my name?",
                                    previous_response_id=first.id)
    assert second.previous_response_id == first.id
    assert second.output_text == FIXED_REPLY_TEXT
    # The earlier turns are billed as input: the context is kept, only the wording ignores it.
    alone = fixed.responses.create(model=MODEL, input="What is my name?")
    assert second.usage.input_tokens > alone.usage.input_tokens
    assert fixed.responses.retrieve(second.id).output_text == FIXED_REPLY_TEXT


# --- selection: path prefix, default behaviour, unknown names -----------------------------


def test_unknown_behaviour_is_a_404_envelope(gateway: EmbeddedGateway,
                                             http: httpx.Client) -> None:
    response = http.get("/behaviour/chatty/v1/models")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_behaviour"


def test_behaviour_still_requires_the_key(gateway: EmbeddedGateway) -> None:
    response = httpx.get(f"{gateway.behaviour_base_url(FIXED_REPLY)}/models", timeout=10)
    assert response.status_code == 401


def test_behaviour_combines_with_a_fault(gateway: EmbeddedGateway) -> None:
    base = f"{gateway.root_url}/behaviour/{FIXED_REPLY}/fault/chat-stop-ignored/v1"
    client = OpenAI(base_url=base, api_key=API_KEY, max_retries=0, timeout=10)
    completion = client.chat.completions.create(model=MODEL, messages=COUNT, stop=["mock"])
    assert completion.choices[0].message.content == FIXED_REPLY_TEXT


@pytest.fixture(scope="module")
def fixed_by_default() -> Iterator[TestClient]:
    with TestClient(create_app(behaviour=FIXED_REPLY)) as client:
        yield client


def test_default_behaviour_applies_to_plain_paths(fixed_by_default: TestClient) -> None:
    response = fixed_by_default.post("/v1/chat/completions",
                                     json={"model": MODEL, "messages": COUNT})
    assert response.json()["choices"][0]["message"]["content"] == FIXED_REPLY_TEXT
    obedient = fixed_by_default.post(f"/behaviour/{OBEDIENT}/v1/chat/completions",
                                     json={"model": MODEL, "messages": COUNT})
    assert obedient.json()["choices"][0]["message"]["content"].startswith("1, 2, 3")


def test_unknown_default_behaviour_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown behaviour"):
        create_app(behaviour="chatty")


def test_serve_refuses_an_unknown_behaviour(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--behaviour", "chatty"]) == cli.EXIT_USAGE
    assert "unknown behaviour 'chatty'" in capsys.readouterr().err
