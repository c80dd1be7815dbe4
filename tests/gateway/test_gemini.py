"""The official google-genai SDK (and raw HTTP) against the Gemini surface of the reference
gateway, under ``/v1beta`` and under the SDK's default ``/v1``.

The SDK does not validate what it parses (snake_case keys read as None, a lower-case
finishReason is accepted), so every raw body and chunk is also validated against
openapi/gemini.yaml.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from conformance import schemas
from conformance.apis.gemini.gateway import faults
from conformance.apis.gemini.gateway.content import CandidatePlan, finish_reason, usage_json
from conformance.apis.gemini.gateway.content import wire_keys as content_wire_keys
from conformance.apis.gemini.gateway.errors import error_response
from conformance.apis.gemini.gateway.request import json_schema
from conformance.apis.gemini.gateway.stream import sse_frames
from conformance.gateway import EmbeddedGateway
from conformance.gateway.behaviours import FIXED_REPLY, FIXED_REPLY_TEXT
from conformance.gateway.errors import ApiError

from .conftest import API_KEY

FLASH = "gemini-2.5-flash"  # thinks
FLASH_2 = "gemini-2.0-flash"  # does not
PROMPT = "Name three rivers in France"
WEATHER = types.FunctionDeclaration(
    name="get_weather", description="Current weather for a city",
    parameters=types.Schema(type="OBJECT", properties={
        "city": types.Schema(type="STRING"),
        "unit": types.Schema(type="STRING", enum=["celsius", "fahrenheit"]),
        "days": types.Schema(type="INTEGER", minimum=1, maximum=7)},
        required=["city", "unit"]))
TIME = types.FunctionDeclaration(name="get_time", parameters_json_schema={
    "type": "object", "properties": {"zone": {"const": "UTC"}}, "required": ["zone"]})
USER = {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]}


def conforms(instance: Any, schema: str) -> None:
    assert schemas.errors("gemini.yaml", schema, instance) == [], (schema, instance)


def _client(gateway: EmbeddedGateway, api_version: str | None = "v1beta",
            root: str | None = None) -> genai.Client:
    options: dict[str, Any] = {"base_url": root or gateway.root_url, "timeout": 10_000}
    if api_version:
        options["api_version"] = api_version
    return genai.Client(api_key=API_KEY, http_options=types.HttpOptions(**options))


@pytest.fixture(scope="module", params=["v1beta", None], ids=["v1beta", "sdk-default-v1"])
def client(request: pytest.FixtureRequest, gateway: EmbeddedGateway) -> genai.Client:
    return _client(gateway, request.param)


@pytest.fixture(scope="module")
def beta(gateway: EmbeddedGateway) -> genai.Client:
    return _client(gateway)


@pytest.fixture(scope="module")
def raw(gateway: EmbeddedGateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{gateway.root_url}/v1beta", timeout=10,
                      headers={"x-goog-api-key": API_KEY}) as session:
        yield session


def _config(**fields: Any) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(**fields)


# --- generateContent ----------------------------------------------------------------------


def test_generate_content_parses(client: genai.Client) -> None:
    answer = client.models.generate_content(model=FLASH, contents=PROMPT)
    assert answer.text and answer.candidates[0].finish_reason == types.FinishReason.STOP
    assert answer.candidates[0].content.role == "model"
    usage = answer.usage_metadata
    counted = client.models.count_tokens(model=FLASH, contents=PROMPT).total_tokens
    assert usage.prompt_token_count == counted > 0
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count
    assert usage.thoughts_token_count is None  # no thinkingConfig: the gateway does not think
    assert answer.model_version == FLASH and answer.response_id


def test_raw_answer_conforms(raw: httpx.Client) -> None:
    reply = raw.post(f"/models/{FLASH}:generateContent", json=USER)
    assert reply.status_code == 200
    conforms(reply.json(), "FinishedGenerateContentResponse")


def test_max_output_tokens_cut_is_max_tokens(client: genai.Client) -> None:
    answer = client.models.generate_content(model=FLASH, contents=PROMPT,
                                            config=_config(max_output_tokens=5))
    assert answer.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert answer.usage_metadata.candidates_token_count == 5


def test_stop_sequence_ends_with_stop(client: genai.Client) -> None:
    whole = client.models.generate_content(model=FLASH, contents=PROMPT).text
    stop = whole.split()[3]
    answer = client.models.generate_content(model=FLASH, contents=PROMPT,
                                            config=_config(stop_sequences=[stop]))
    assert answer.candidates[0].finish_reason == types.FinishReason.STOP
    assert answer.text == whole[:whole.index(stop)] and stop not in answer.text


def test_candidate_count(client: genai.Client) -> None:
    answer = client.models.generate_content(model=FLASH, contents=PROMPT,
                                            config=_config(candidate_count=2))
    assert [c.index for c in answer.candidates] == [0, 1]
    texts = ["".join(p.text for p in c.content.parts) for c in answer.candidates]
    assert all(texts) and texts[0] != texts[1]


def test_system_instruction_counted(client: genai.Client) -> None:
    plain = client.models.generate_content(model=FLASH, contents=PROMPT)
    instructed = client.models.generate_content(
        model=FLASH, contents=PROMPT, config=_config(system_instruction="Answer in French."))
    assert instructed.usage_metadata.prompt_token_count \
        > plain.usage_metadata.prompt_token_count


# --- streams ------------------------------------------------------------------------------


def test_stream_sync(client: genai.Client) -> None:
    whole = client.models.generate_content(model=FLASH, contents=PROMPT)
    chunks = list(client.models.generate_content_stream(model=FLASH, contents=PROMPT))
    assert len(chunks) >= 2
    assert "".join(c.text for c in chunks) == whole.text
    assert [c.candidates[0].finish_reason for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata == whole.usage_metadata
    assert len({c.response_id for c in chunks}) == 1


def test_stream_async(beta: genai.Client) -> None:
    async def collect() -> list[types.GenerateContentResponse]:
        stream = await beta.aio.models.generate_content_stream(
            model=FLASH, contents=PROMPT, config=_config(max_output_tokens=6))
        return [chunk async for chunk in stream]

    chunks = asyncio.run(collect())
    assert len(chunks) == 6
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert chunks[-1].usage_metadata.candidates_token_count == 6


def test_sse_framing(raw: httpx.Client) -> None:
    reply = raw.post(f"/models/{FLASH}:streamGenerateContent", params={"alt": "sse"}, json=USER)
    assert reply.headers["content-type"].startswith("text/event-stream")
    blocks = [b for b in reply.text.split("\r\n\r\n") if b]
    assert all(b.startswith("data: {") and "\n" not in b for b in blocks), blocks
    assert "[DONE]" not in reply.text and "event:" not in reply.text
    chunks = [json.loads(b.removeprefix("data: ")) for b in blocks]
    for chunk in chunks[:-1]:
        conforms(chunk, "GenerateContentResponse")
    conforms(chunks[-1], "FinishedGenerateContentResponse")


def test_json_array_stream(raw: httpx.Client) -> None:
    """Without alt=sse: one JSON array, written element by element, the same chunks."""
    whole = raw.post(f"/models/{FLASH}:generateContent", json=USER).json()
    with raw.stream("POST", f"/models/{FLASH}:streamGenerateContent", json=USER) as reply:
        assert reply.headers["content-type"] == "application/json"
        writes = list(reply.iter_raw())
    assert len(writes) > 2 and writes[0].startswith(b"[{") and writes[-1] == b"]"
    chunks = json.loads(b"".join(writes))
    text = "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks)
    assert text == whole["candidates"][0]["content"]["parts"][0]["text"]
    assert chunks[-1]["usageMetadata"] == whole["usageMetadata"]
    conforms(chunks[-1], "FinishedGenerateContentResponse")


def test_snake_case_field_names_accepted(raw: httpx.Client) -> None:
    """Proto JSON takes a field's snake_case name too; the caller's own names (a declared
    property, the args) keep theirs."""
    body = {**USER, "generation_config": {"max_output_tokens": 40},
            "tools": [{"function_declarations": [{"name": "lookup", "parameters": {
                "type": "OBJECT", "properties": {"city_name": {"type": "STRING"}},
                "required": ["city_name"]}}]}],
            "tool_config": {"function_calling_config": {"mode": "ANY"}}}
    reply = raw.post(f"/models/{FLASH}:generateContent", json=body)
    call = reply.json()["candidates"][0]["content"]["parts"][0]["functionCall"]
    assert call == {"name": "lookup", "args": {"city_name": "sample city_name"}}


def test_bad_alt_refused(raw: httpx.Client) -> None:
    reply = raw.post(f"/models/{FLASH}:streamGenerateContent", params={"alt": "xml"}, json=USER)
    assert reply.status_code == 400
    conforms(reply.json(), "ErrorResponse")


# --- tools --------------------------------------------------------------------------------


def _tools(mode: str, allowed: list[str] | None = None) -> types.GenerateContentConfig:
    return _config(tools=[types.Tool(function_declarations=[WEATHER, TIME])],
                   tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(
                       mode=mode, allowed_function_names=allowed)))


def test_forced_call_and_follow_up(client: genai.Client) -> None:
    config = _tools("ANY")
    answer = client.models.generate_content(model=FLASH, contents=PROMPT, config=config)
    call = answer.function_calls[0]
    assert call.name == "get_weather" and answer.candidates[0].finish_reason == "STOP"
    declared = json_schema(WEATHER.model_dump(mode="json", exclude_none=True)["parameters"])
    Draft202012Validator(declared).validate(call.args)
    follow_up = [types.Content(role="user", parts=[types.Part(text=PROMPT)]),
                 answer.candidates[0].content,
                 types.Content(role="user", parts=[types.Part.from_function_response(
                     name=call.name, response={"output": "Sunny, 21 C"})])]
    # ANY forces another call; AUTO lets the model answer the result in text.
    reply = client.models.generate_content(model=FLASH, contents=follow_up,
                                           config=_tools("AUTO"))
    assert reply.function_calls is None and "Sunny" in reply.text


def test_allowed_function_names(client: genai.Client) -> None:
    answer = client.models.generate_content(model=FLASH, contents=PROMPT,
                                            config=_tools("ANY", ["get_time"]))
    assert [(c.name, c.args) for c in answer.function_calls] == [("get_time", {"zone": "UTC"})]


@pytest.mark.parametrize(("mode", "calls"), [("AUTO", True), ("NONE", False)])
def test_auto_and_none(client: genai.Client, mode: str, calls: bool) -> None:
    answer = client.models.generate_content(model=FLASH, contents=PROMPT, config=_tools(mode))
    assert bool(answer.function_calls) is calls


def test_fixed_reply_model_never_chooses_a_function(gateway: EmbeddedGateway) -> None:
    fixed = _client(gateway, root=f"{gateway.root_url}/behaviour/{FIXED_REPLY}")
    assert fixed.models.generate_content(model=FLASH, contents=PROMPT,
                                         config=_tools("AUTO")).text == FIXED_REPLY_TEXT
    assert fixed.models.generate_content(model=FLASH, contents=PROMPT,
                                         config=_tools("ANY")).function_calls


def test_function_response_must_follow_a_call(client: genai.Client) -> None:
    lone = types.Content(role="user", parts=[types.Part.from_function_response(
        name="get_weather", response={"output": "Sunny"})])
    with pytest.raises(errors.ClientError) as raised:
        client.models.generate_content(model=FLASH, contents=[lone])
    assert (raised.value.code, raised.value.status) == (400, "INVALID_ARGUMENT")


# --- JSON mode and thinking ---------------------------------------------------------------


class River(BaseModel):
    name: str
    length_km: int
    countries: list[str]


def test_json_mode_parsed(client: genai.Client) -> None:
    answer = client.models.generate_content(model=FLASH, contents=PROMPT, config=_config(
        response_mime_type="application/json", response_schema=River))
    assert isinstance(answer.parsed, River)


def test_json_mode_json_schema(beta: genai.Client) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    answer = beta.models.generate_content(model=FLASH, contents=PROMPT, config=_config(
        response_mime_type="application/json", response_json_schema=schema))
    Draft202012Validator(schema).validate(json.loads(answer.text))


def test_json_mode_without_schema(beta: genai.Client) -> None:
    answer = beta.models.generate_content(model=FLASH, contents=PROMPT,
                                          config=_config(response_mime_type="application/json"))
    assert isinstance(json.loads(answer.text), dict)


def test_thinking(client: genai.Client) -> None:
    answer = client.models.generate_content(model=FLASH, contents=PROMPT, config=_config(
        thinking_config=types.ThinkingConfig(include_thoughts=True)))
    parts = answer.candidates[0].content.parts
    assert parts[0].thought is True and parts[1].thought is None and parts[1].text
    usage = answer.usage_metadata
    assert usage.thoughts_token_count > 0
    assert usage.total_token_count == usage.prompt_token_count \
        + usage.candidates_token_count + usage.thoughts_token_count


def test_thinking_without_thoughts_still_counted(beta: genai.Client) -> None:
    answer = beta.models.generate_content(model=FLASH, contents=PROMPT, config=_config(
        thinking_config=types.ThinkingConfig(thinking_budget=256)))
    assert [p.thought for p in answer.candidates[0].content.parts] == [None]
    assert answer.usage_metadata.thoughts_token_count > 0


def test_thoughts_spend_max_output_tokens(beta: genai.Client) -> None:
    answer = beta.models.generate_content(model=FLASH, contents=PROMPT, config=_config(
        max_output_tokens=3, thinking_config=types.ThinkingConfig(include_thoughts=True)))
    assert answer.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert answer.usage_metadata.thoughts_token_count == 3
    assert answer.usage_metadata.candidates_token_count is None  # zero is left out


def test_thinking_refused_on_a_model_without_it(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as raised:
        client.models.generate_content(model=FLASH_2, contents=PROMPT, config=_config(
            thinking_config=types.ThinkingConfig(thinking_budget=128)))
    assert (raised.value.code, raised.value.status) == (400, "INVALID_ARGUMENT")


# --- countTokens and models ---------------------------------------------------------------


def test_count_tokens_both_forms(raw: httpx.Client) -> None:
    """The whole-request form counts the system instruction and tools, as usage does."""
    request = {**USER, "systemInstruction": {"parts": [{"text": "Be brief."}]},
               "tools": [{"functionDeclarations": [{"name": "get_time"}]}],
               "toolConfig": {"functionCallingConfig": {"mode": "NONE"}}}
    usage = raw.post(f"/models/{FLASH}:generateContent", json=request).json()["usageMetadata"]
    whole = raw.post(f"/models/{FLASH}:countTokens", json={
        "generateContentRequest": {**request, "model": f"models/{FLASH}"}})
    bare = raw.post(f"/models/{FLASH}:countTokens", json=USER)
    for reply in (whole, bare):
        conforms(reply.json(), "CountTokensResponse")
    assert whole.json()["totalTokens"] == usage["promptTokenCount"] > bare.json()["totalTokens"]


def test_models(client: genai.Client) -> None:
    listed = list(client.models.list())
    assert [m.name for m in listed] == [f"models/{FLASH}", f"models/{FLASH_2}"]
    assert client.models.get(model=FLASH).thinking is True


def test_models_paged(raw: httpx.Client) -> None:
    first = raw.get("/models", params={"pageSize": 1}).json()
    second = raw.get("/models", params={"pageToken": first["nextPageToken"]}).json()
    for page in (first, second):
        conforms(page, "ListModelsResponse")
    assert [m["name"] for m in first["models"] + second["models"]] == \
        [f"models/{FLASH}", f"models/{FLASH_2}"]
    assert "nextPageToken" not in second


def test_shared_models_path_by_key_form(gateway: EmbeddedGateway) -> None:
    """`GET /v1/models` is OpenAI's for a Bearer key, Gemini's for x-goog-api-key or ?key=."""
    url = f"{gateway.root_url}/v1/models"
    gemini = httpx.get(url, params={"key": API_KEY})
    openai = httpx.get(url, headers={"Authorization": f"Bearer {API_KEY}"})
    assert "models" in gemini.json() and openai.json()["object"] == "list"


# --- auth and errors ----------------------------------------------------------------------


@pytest.mark.parametrize("how", ["header", "query", "bearer"])
def test_every_key_form_accepted(gateway: EmbeddedGateway, how: str) -> None:
    forms = {"header": ({"x-goog-api-key": API_KEY}, {}),
             "query": ({}, {"key": API_KEY}),
             "bearer": ({"Authorization": f"Bearer {API_KEY}"}, {})}
    headers, params = forms[how]
    reply = httpx.post(f"{gateway.root_url}/v1beta/models/{FLASH}:generateContent",
                       headers=headers, params=params, json=USER)
    assert reply.status_code == 200, reply.text


@pytest.mark.parametrize(("headers", "params", "status", "expected"), [
    ({"x-goog-api-key": "wrong"}, {}, 400, "INVALID_ARGUMENT"),
    ({}, {"key": "wrong"}, 400, "INVALID_ARGUMENT"),
    ({"Authorization": "Bearer wrong"}, {}, 401, "UNAUTHENTICATED"),
    ({}, {}, 403, "PERMISSION_DENIED"),
])
def test_refused_keys(gateway: EmbeddedGateway, headers: dict, params: dict, status: int,
                      expected: str) -> None:
    reply = httpx.post(f"{gateway.root_url}/v1/models/{FLASH}:generateContent",
                       headers=headers, params=params, json=USER)
    assert (reply.status_code, reply.json()["error"]["status"]) == (status, expected)
    conforms(reply.json(), "ErrorResponse")


def test_invalid_key_raises_client_error(gateway: EmbeddedGateway) -> None:
    wrong = genai.Client(api_key="wrong", http_options=types.HttpOptions(
        base_url=gateway.root_url, api_version="v1beta"))
    with pytest.raises(errors.ClientError) as raised:
        wrong.models.generate_content(model=FLASH, contents=PROMPT)
    assert (raised.value.code, raised.value.status) == (400, "INVALID_ARGUMENT")
    assert "API key not valid" in raised.value.message


@pytest.mark.parametrize(("call", "code", "status"), [
    (lambda c: c.models.generate_content(model="gemini-nope", contents=PROMPT), 404,
     "NOT_FOUND"),
    (lambda c: list(c.models.generate_content_stream(model="gemini-nope", contents=PROMPT)),
     404, "NOT_FOUND"),
    (lambda c: c.models.generate_content(model=FLASH, contents=PROMPT,
                                         config=_config(temperature=5)), 400,
     "INVALID_ARGUMENT"),
    (lambda c: c.models.generate_content(model=FLASH, contents=PROMPT,
                                         config=_config(top_p=1.5)), 400, "INVALID_ARGUMENT"),
    (lambda c: c.models.get(model="gemini-nope"), 404, "NOT_FOUND"),
], ids=["unknown-model", "unknown-model-stream", "temperature", "top-p", "get-unknown-model"])
def test_errors_raise_client_error(client: genai.Client, call: Any, code: int,
                                   status: str) -> None:
    with pytest.raises(errors.ClientError) as raised:
        call(client)
    assert (raised.value.code, raised.value.status) == (code, status)


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"contents": []}',
                                  b'{"contents": [{"role": "system", "parts": [{"text": "x"}]}]}',
                                  b'{"contents": [{"parts": [{}]}]}', b'{"content": []}'],
                         ids=["not-json", "not-object", "empty", "system-role", "empty-part",
                              "unknown-field"])
def test_bad_requests_in_the_envelope(raw: httpx.Client, body: bytes) -> None:
    reply = raw.post(f"/models/{FLASH}:generateContent", content=body)
    assert reply.status_code == 400 and reply.json()["error"]["status"] == "INVALID_ARGUMENT"
    conforms(reply.json(), "ErrorResponse")


# --- fault hooks (their Fault records, with the checks they trip, are the checks' own) -----


def test_stream_framing_hooks() -> None:
    chunk = [{"candidates": []}]
    assert sse_frames(chunk, None) == [b'data: {"candidates":[]}\r\n\r\n']
    assert sse_frames(chunk, faults.DATA_WITHOUT_SPACE) == [b'data:{"candidates":[]}\r\n\r\n']
    assert sse_frames(chunk, faults.DONE_APPENDED)[-1] == b"data: [DONE]\r\n\r\n"


def test_answer_hooks() -> None:
    plan = CandidatePlan([], "MAX_TOKENS", tokens=2, thoughts=3)
    assert finish_reason("MAX_TOKENS", faults.MAX_TOKENS_AS_STOP) == "STOP"
    assert finish_reason("MAX_TOKENS", faults.FINISH_REASON_LOWERCASE) == "max_tokens"
    dropped = usage_json(4, [plan], faults.THOUGHTS_DROPPED)
    assert "thoughtsTokenCount" not in dropped and dropped["totalTokenCount"] == 9
    snake = content_wire_keys({"usageMetadata": {"promptTokenCount": 1}, "candidates": [
        {"content": {"parts": [{"functionCall": {"args": {"cityName": "x"}}}]}}]},
        faults.SNAKE_CASE_KEYS)
    assert snake == {"usage_metadata": {"prompt_token_count": 1}, "candidates": [
        {"content": {"parts": [{"function_call": {"args": {"cityName": "x"}}}]}}]}


def test_error_hooks() -> None:
    error = ApiError(404, "models/x is not found")
    assert error_response(error, faults.EMPTY_200_ON_FAILURE).status_code == 200
    assert error_response(error, faults.EMPTY_200_ON_FAILURE).body == b""
    openai = json.loads(error_response(error, faults.OPENAI_SHAPED_ERRORS).body)
    assert set(openai["error"]) == {"message", "type", "param", "code"}
