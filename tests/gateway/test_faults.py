"""Fault routing, and a spot check that each fault produces its violation.

Every probe answers "is the violation there?"; it must say yes under the fault and no on the
clean gateway, which shows the probe (and the fault) is specific. The conformance suite's own
tests give the full proof that the intended check fails.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

import httpx
import pytest

from conformance import tokens
from conformance.gateway import FAULTS, EmbeddedGateway, create_app
from conformance.gateway.faults import Fault
from conformance.gateway.sse import FIRST_TOKEN_PAUSE_SECONDS

from .conftest import API_KEY
from .gemini_probes import GEMINI_PROBES
from .messages_probes import MESSAGES_PROBES
from .responses_contract_probes import CONTRACT_PROBES

USER = [{"role": "user", "content": "Name three rivers in France"}]
HEADERS = {"Authorization": f"Bearer {API_KEY}"}
TOOL = {"type": "function", "name": "f", "parameters": {
    "type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}}
Probe = Callable[[str], bool]
# Chat tools, request shapes and prompts of the issue-4 probes.
CHAT_TOOL = {"type": "function", "function": {"name": "f", "parameters": {
    "type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}}}
CHAT_TOOL_2 = {"type": "function", "function": {"name": "g", "parameters": {"type": "object"}}}
COUNT = [{"role": "user", "content": "Count from 1 to 10"}]
SCHEMA_FORMAT = {"type": "json_schema", "json_schema": {"name": "x", "schema": {
    "type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}}}
FOLLOW_UP = [*USER, {"role": "assistant", "content": None, "tool_calls": [
    {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "ok"}]
# Two tools, both required, with parallel calls turned off (a streamed request).
SEQUENTIAL = {"tools": [CHAT_TOOL, CHAT_TOOL_2], "tool_choice": "required",
              "parallel_tool_calls": False}


# --- small raw-HTTP helpers -------------------------------------------------------------------

def _post(base: str, path: str, body: dict, headers: dict | None = None) -> httpx.Response:
    return httpx.post(base + path, json=body, headers=HEADERS if headers is None else headers,
                      timeout=10)


def _chat(base: str, **extra) -> httpx.Response:
    return _post(base, "/chat/completions", {"model": "gpt-4o-mini", "messages": USER, **extra})


def _responses(base: str, **extra) -> httpx.Response:
    return _post(base, "/responses", {"model": "gpt-4o-mini", "input": "Tell me a fact", **extra})


def _frames(raw: str) -> list[dict[str, str]]:
    """SSE frames as {field: value}, tolerant of CRLF and of a missing space after ':'."""
    frames = []
    for block in re.split(r"\r?\n\r?\n", raw):
        fields = {}
        for line in re.split(r"\r?\n", block):
            name, sep, value = line.partition(":")
            if sep:
                fields[name] = value[1:] if value.startswith(" ") else value
        if fields:
            frames.append(fields)
    return frames


def _chat_chunks(base: str, **extra) -> list[dict]:
    raw = _chat(base, stream=True, **extra).text
    return [json.loads(f["data"]) for f in _frames(raw) if f.get("data") != "[DONE]"]


def _read_times(base: str, path: str) -> list[float]:
    """When each network read of a streamed body (chat or responses) arrived, in seconds."""
    body = {"model": "gpt-4o-mini", "stream": True,
            **({"messages": USER} if path == "/chat/completions" else {"input": "Tell me a fact"})}
    with httpx.stream("POST", base + path, json=body, headers=HEADERS, timeout=10) as reply:
        return [time.monotonic() for piece in reply.iter_raw() if piece]


def _released_at_once(times: list[float]) -> bool:
    """Several reads, all within less than the pause a clean stream takes after its first token."""
    return len(times) > 1 and times[-1] - times[0] < FIRST_TOKEN_PAUSE_SECONDS


def _streamed_text(base: str, **extra) -> str:
    return "".join(e["delta"].get("content") or "" for e in _entries(_chat_chunks(base, **extra)))


def _tool_fragments(base: str, **extra) -> list[dict]:
    return [f for e in _entries(_chat_chunks(base, **extra)) for f in e["delta"].get(
        "tool_calls") or []]


def _prompt_tokens(base: str) -> int:
    return _chat(base).json()["usage"]["prompt_tokens"]


def _events(base: str, **extra) -> list[dict]:
    raw = _responses(base, stream=True, **extra).text
    return [json.loads(f["data"]) for f in _frames(raw)]


def _hangs(base: str, path: str, body: dict) -> bool:
    """True when the stream sends something and then stalls without closing."""
    timeout = httpx.Timeout(10, read=1.0)
    received = b""
    try:
        with httpx.stream("POST", base + path, json=body, headers=HEADERS,
                          timeout=timeout) as reply:
            for piece in reply.iter_raw():
                received += piece
    except httpx.ReadTimeout:
        return bool(received)
    return False


def _message(body: dict) -> dict:
    return body["choices"][0]["message"]


def _entries(chunks: list[dict]) -> list[dict]:
    return [c["choices"][0] for c in chunks if c.get("choices")]


def _text_events(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e.get("type") == f"response.output_text.{kind}"]


def _previous_ignored(base: str) -> bool:
    first = _responses(base).json()
    second = _responses(base, previous_response_id=first["id"]).json()
    return second["previous_response_id"] is None


def _stored_404(base: str) -> bool:
    created = _responses(base).json()
    return httpx.get(f"{base}/responses/{created['id']}", headers=HEADERS).status_code == 404


def _bare_error(base: str) -> bool:
    frames = _frames(_responses(base, stream=True).text)
    payloads = [json.loads(f["data"]) for f in frames]
    return any("error" in p and "type" not in p for p in payloads) and not any(
        p.get("type") == "response.failed" for p in payloads)


def _validation_in_stream(reply: httpx.Response, unstreamed: httpx.Response) -> bool:
    """A 200 event stream carrying the validation error that the same body without streaming
    gets as a 400."""
    return (unstreamed.status_code == 400 and reply.status_code == 200
            and reply.headers["content-type"].startswith("text/event-stream")
            and "error" in reply.text)


def _chat_validation_in_stream(base: str) -> bool:
    stream = _chat(base, stream=True, temperature=5)
    return _validation_in_stream(stream, _chat(base, temperature=5)) and \
        stream.text.rstrip().endswith("data: [DONE]")


def _responses_validation_in_stream(base: str) -> bool:
    stream = _responses(base, stream=True, input=42)
    return _validation_in_stream(stream, _responses(base, input=42)) and any(
        f.get("event") == "error" for f in _frames(stream.text))


# A phrase of accents, CJK and an emoji that the gateway echoes (split over tokens, in a stream).
ECHO = [{"role": "user", "content": "Repeat this phrase exactly: café 東京 🎉"}]


def _content_deltas(base: str, **extra) -> list[str]:
    return [e["delta"]["content"] for e in _entries(_chat_chunks(base, **extra))
            if e["delta"].get("content")]


def _cumulative(deltas: list[str]) -> bool:
    return len(deltas) > 2 and all(deltas[n].startswith(deltas[n - 1]) and
                                   len(deltas[n]) > len(deltas[n - 1])
                                   for n in range(1, len(deltas)))


PROBES: dict[str, Probe] = {
    # chat, non-stream
    "chat-wrong-content-type":
        lambda b: _chat(b).headers["content-type"].startswith("text/plain"),
    "chat-response-missing-created": lambda b: "created" not in _chat(b).json(),
    "chat-object-wrong": lambda b: _chat(b).json()["object"] == "chat.completions",
    "chat-role-wrong": lambda b: _message(_chat(b).json())["role"] == "model",
    "chat-finish-reason-unknown": lambda b: _chat(b).json()["choices"][0]["finish_reason"] ==
        "eos" and "eos" in [e["finish_reason"] for e in _entries(_chat_chunks(b))],
    "chat-content-missing": lambda b: "content" not in _message(_chat(b).json()),
    "chat-usage-missing": lambda b: "usage" not in _chat(b).json(),
    "chat-usage-total-wrong": lambda b: (lambda u: u["total_tokens"] != u["prompt_tokens"] +
                                         u["completion_tokens"])(_chat(b).json()["usage"]),
    # chat, stream framing
    "chat-stream-content-type": lambda b: _chat(b, stream=True).headers[
        "content-type"].startswith("application/json"),
    "chat-stream-no-done": lambda b: "[DONE]" not in _chat(b, stream=True).text,
    "chat-stream-data-after-done": lambda b: _chat(b, stream=True).text.split(
        "data: [DONE]\n\n", 1)[-1].strip() != "",
    "chat-stream-bad-json": lambda b: not all(
        _is_json(f["data"]) for f in _frames(_chat(b, stream=True).text)),
    "chat-stream-no-space": lambda b: _chat(b, stream=True).text.startswith("data:{"),
    "chat-stream-crlf": lambda b: "\r\n" in _chat(b, stream=True).text,
    "stream-hang": lambda b: _hangs(b, "/chat/completions", {
        "model": "gpt-4o-mini", "messages": USER, "stream": True,
        "stream_options": {"include_usage": True}}),
    # chat, chunks
    "chat-chunk-id-changes": lambda b: len({c["id"] for c in _chat_chunks(b)}) > 1,
    "chat-chunk-no-role": lambda b: "role" not in _entries(_chat_chunks(b))[0]["delta"],
    "chat-chunk-role-repeated":
        lambda b: sum("role" in e["delta"] for e in _entries(_chat_chunks(b))) > 1,
    "chat-chunk-finish-twice":
        lambda b: sum(bool(e["finish_reason"]) for e in _entries(_chat_chunks(b))) > 1,
    "chat-chunk-bad-object":
        lambda b: any(c["object"] == "chat.completion" for c in _chat_chunks(b)),
    "chat-chunk-missing-index":
        lambda b: any("index" not in e for e in _entries(_chat_chunks(b))),
    "chat-stream-usage-ignored": lambda b: not any(c.get("usage") for c in _chat_chunks(
        b, stream_options={"include_usage": True})),
    "chat-stream-usage-every-chunk": lambda b: all(c.get("usage") for c in _chat_chunks(
        b, stream_options={"include_usage": True})),
    # errors, auth, models
    "chat-error-detail-shape": lambda b: "detail" in _chat(b, temperature=9).json(),
    "chat-missing-messages-500": lambda b: _post(
        b, "/chat/completions", {"model": "gpt-4o-mini"}).status_code == 500,
    "auth-not-enforced": lambda b: _chat(b).status_code == 200 and _post(
        b, "/chat/completions", {"model": "gpt-4o-mini", "messages": USER},
        headers={"Authorization": "Bearer sk-wrong"}).status_code == 200,
    "unknown-model-200": lambda b: _chat(b, model="gpt-nope").status_code == 200,
    "unknown-model-400": lambda b: _chat(b, model="gpt-nope").status_code == 400,
    "models-missing-model": lambda b: "gpt-4o-mini" not in {
        m["id"] for m in httpx.get(b + "/models", headers=HEADERS).json()["data"]},
    # chat, issue 4: envelope, limits, streaming, usage, billing
    "chat-id-empty": lambda b: _chat(b).json()["id"] == "",
    "chat-created-milliseconds": lambda b: _chat(b).json()["created"] > 10**11,
    "chat-model-empty": lambda b: _chat(b).json()["model"] == "",
    "chat-choice-index-from-1": lambda b: _chat(b).json()["choices"][0]["index"] == 1,
    "chat-max-completion-tokens-ignored": lambda b: _chat(
        b, max_completion_tokens=3).json()["usage"]["completion_tokens"] > 3,
    "chat-max-tokens-ignored":
        lambda b: _chat(b, max_tokens=3).json()["usage"]["completion_tokens"] > 3,
    # Caps ignored, usage hiding it: more than 3 words under a 3-token cap.
    "chat-caps-ignored-usage-zero": lambda b: _capped_words(b) > 3 and _chat(
        b, max_completion_tokens=3).json()["usage"]["completion_tokens"] == 0,
    "chat-caps-ignored-usage-clamped": lambda b: _capped_words(b) > 3 and _chat(
        b, max_completion_tokens=3).json()["usage"]["completion_tokens"] == 3,
    "chat-length-as-stop":
        lambda b: _chat(b, max_tokens=3).json()["choices"][0]["finish_reason"] == "stop",
    "chat-n-ignored": lambda b: len(_chat(b, n=2).json()["choices"]) == 1,
    "chat-stop-ignored":
        lambda b: "4" in _message(_chat(b, messages=COUNT, stop=["4"]).json())["content"],
    "chat-stream-buffered": lambda b: len(_read_times(b, "/chat/completions")) == 1,
    "chat-stream-text-differs":
        lambda b: _streamed_text(b) != _message(_chat(b).json())["content"],
    "chat-stream-error-text": lambda b: "\nupstream error:" in _chat(b, stream=True).text,
    "chat-stream-error-not-envelope": lambda b: '"status":502' in _chat(b, stream=True).text,
    "chat-usage-no-details": lambda b: "prompt_tokens_details" not in _chat(b).json()["usage"],
    "chat-stream-usage-unrequested": lambda b: any(c.get("usage") for c in _chat_chunks(b)),
    "chat-stream-options-accepted":
        lambda b: _chat(b, stream_options={"include_usage": True}).status_code == 200,
    "chat-stream-prompt-tokens-differ": lambda b: _chat_chunks(b, stream_options={
        "include_usage": True})[-1]["usage"]["prompt_tokens"] != _prompt_tokens(b),
    "chat-billing-hidden-prompt":
        lambda b: _prompt_tokens(b) > tokens.count_chat_prompt(USER, "o200k_base"),
    "chat-billing-under-reported":
        lambda b: _prompt_tokens(b) < tokens.count_chat_prompt(USER, "o200k_base"),
    # chat, issue 4: tools, request shapes, structured output, errors
    "chat-tool-arguments-invalid": lambda b: not _is_json(_message(_chat(
        b, tools=[CHAT_TOOL]).json())["tool_calls"][0]["function"]["arguments"]),
    "chat-tool-finish-stop": lambda b: _chat(b, tools=[CHAT_TOOL], tool_choice="required").json()[
        "choices"][0]["finish_reason"] == "stop",
    "chat-tool-content-array":
        lambda b: _message(_chat(b, tools=[CHAT_TOOL]).json())["content"] == [],
    "chat-tool-stream-head-repeated":
        lambda b: sum("id" in f for f in _tool_fragments(b, tools=[CHAT_TOOL])) > 1,
    "chat-tool-stream-same-index": lambda b: {f["index"] for f in _tool_fragments(
        b, tools=[CHAT_TOOL, CHAT_TOOL_2], tool_choice="required")} == {0},
    "chat-tool-stream-name-late": lambda b: [f.get("function") for f in _tool_fragments(
        b, tools=[CHAT_TOOL])][:2] == [None, {"name": "f", "arguments": ""}],
    "chat-tool-stream-id-late": lambda b: ["id" in f for f in _tool_fragments(
        b, tools=[CHAT_TOOL])][:2] == [False, True],
    "chat-tool-followup-rejected":
        lambda b: _chat(b, messages=FOLLOW_UP, tools=[CHAT_TOOL]).status_code == 400,
    "chat-tool-stream-auto-finish-stop": lambda b: [e["finish_reason"] for e in _entries(
        _chat_chunks(b, tools=[CHAT_TOOL], tool_choice="auto"))][-1] == "stop",
    "chat-tool-stream-auto-finish-function-call": lambda b: [e["finish_reason"] for e in _entries(
        _chat_chunks(b, tools=[CHAT_TOOL], tool_choice="auto"))][-1] == "function_call",
    "chat-tool-choice-none-ignored": lambda b: bool(_message(_chat(
        b, tools=[CHAT_TOOL], tool_choice="none").json()).get("tool_calls")),
    "chat-tool-choice-none-calls-dropped": lambda b: [c["finish_reason"] for c in _chat(
        b, tools=[CHAT_TOOL], tool_choice="none").json()["choices"]] == ["tool_calls"],
    "chat-parallel-tool-calls-ignored":
        lambda b: {f["index"] for f in _tool_fragments(b, **SEQUENTIAL)} == {0, 1},
    "chat-parallel-tool-calls-one-index":
        lambda b: [f["index"] for f in _tool_fragments(b, **SEQUENTIAL) if "id" in f] == [0, 0],
    "chat-developer-role-rejected": lambda b: _chat(b, messages=[
        {"role": "developer", "content": "Be brief."}, *USER]).status_code == 400,
    "chat-content-parts-500": lambda b: _chat(b, messages=[
        {"role": "user", "content": [{"type": "text", "text": "hi"}]}]).status_code == 500,
    "chat-seed-rejected": lambda b: _chat(b, seed=1).status_code == 400,
    "chat-unknown-field-500": lambda b: _chat(b, frobnicate=1).status_code == 500,
    "chat-unknown-field-400": lambda b: _chat(b, frobnicate=1).status_code == 400,
    "chat-json-schema-ignored": lambda b: not _is_json(
        _message(_chat(b, response_format=SCHEMA_FORMAT).json())["content"]),
    "chat-json-object-fenced": lambda b: _message(_chat(
        b, response_format={"type": "json_object"}).json())["content"].startswith("```"),
    "chat-error-200": lambda b: _chat(b, temperature=9).status_code == 200,
    # chat, issue 10: logprobs
    "chat-logprobs-null":
        lambda b: _chat(b, logprobs=True).json()["choices"][0]["logprobs"] is None,
    "chat-logprobs-stream-absent": lambda b: not any(
        "logprobs" in e for e in _entries(_chat_chunks(b, logprobs=True))),
    "chat-logprobs-top-extra": lambda b: {len(e["top_logprobs"]) for e in _chat(
        b, logprobs=True, top_logprobs=2).json()["choices"][0]["logprobs"]["content"]} == {3},
    "chat-logprobs-stream-cumulative": lambda b: max(
        len(e["logprobs"]["content"]) for e in _entries(_chat_chunks(b, logprobs=True))
        if e.get("logprobs")) > 1,
    # chat, issue 8: refusals of stream parameters, and a correctly reported mid-stream failure
    "chat-stream-options-refused": lambda b: _chat(
        b, stream=True, stream_options={"include_usage": True}).status_code == 400 and
        _chat(b, stream=True).status_code == 200,
    "chat-stream-refused": lambda b: _chat(b, stream=True).status_code == 400 and
        "error" in _chat(b, stream=True).json(),
    "chat-stream-fails-midway": lambda b: any("error" in c for c in _chat_chunks(b)),
    "chat-stream-n-same-index": lambda b: {e["index"] for e in _entries(_chat_chunks(
        b, n=2))} == {0},
    "chat-stream-index-grows": lambda b: [e["index"] for e in _entries(_chat_chunks(b))][:3] ==
        [0, 1, 2],
    "chat-stream-cumulative-deltas": lambda b: _cumulative(_content_deltas(b)),
    "chat-stream-deltas-doubled": lambda b: (lambda d: d[0::2] == d[1::2])(_content_deltas(b)),
    "chat-stream-splits-utf8": lambda b: "\ufffd" in _streamed_text(b, messages=ECHO),
    "chat-stream-mojibake": lambda b: "cafÃ©" in _streamed_text(b, messages=ECHO),
    "chat-stream-final-repeat": lambda b: (lambda d: d[-1] == "".join(d[:-1]))(
        _content_deltas(b)),
    "chat-stream-drops-split-chars": lambda b: "🎉" in _message(
        _chat(b, messages=ECHO).json())["content"] and "🎉" not in _streamed_text(
        b, messages=ECHO),
    "models-entry-incomplete": lambda b: any("owned_by" not in m for m in httpx.get(
        b + "/models", headers=HEADERS).json()["data"]),
    # responses, bodies
    "responses-part-type-text":
        lambda b: _responses(b).json()["output"][0]["content"][0]["type"] == "text",
    "responses-chat-body": lambda b: _responses(b).json()["object"] == "chat.completion",
    "responses-usage-chat-names": lambda b: "prompt_tokens" in _responses(b).json()["usage"],
    "responses-usage-total-wrong": lambda b: (lambda u: u["total_tokens"] != u["input_tokens"] +
                                              u["output_tokens"])(_responses(b).json()["usage"]),
    "responses-max-output-ignored": lambda b: _responses(
        b, max_output_tokens=16).json()["status"] == "completed",
    "responses-incomplete-no-details": lambda b: _responses(
        b, max_output_tokens=16).json()["incomplete_details"] is None,
    "responses-incomplete-item-completed": lambda b: _responses(
        b, max_output_tokens=16).json()["output"][-1]["status"] == "completed",
    "responses-previous-id-ignored": _previous_ignored,
    "responses-get-stored-404": _stored_404,
    "responses-unknown-previous-200":
        lambda b: _responses(b, previous_response_id="resp_missing").status_code == 200,
    "responses-function-args-not-json": lambda b: not _is_json(
        _responses(b, tools=[TOOL]).json()["output"][0]["arguments"]),
    # responses, stream
    "responses-stream-no-sequence-number":
        lambda b: any("sequence_number" not in e for e in _events(b)),
    "responses-stream-sequence-not-increasing": lambda b: (lambda s: s != sorted(set(s)))(
        [e["sequence_number"] for e in _events(b)]),
    "responses-stream-event-name-mismatch": lambda b: any(
        f["event"] != json.loads(f["data"])["type"]
        for f in _frames(_responses(b, stream=True).text)),
    "responses-stream-no-created": lambda b: _events(b)[0]["type"] != "response.created",
    "responses-stream-delta-after-part-done": lambda b: (lambda t: max(
        i for i, x in enumerate(t) if x == "response.output_text.delta") > t.index(
        "response.content_part.done"))([e["type"] for e in _events(b)]),
    "responses-stream-done-text-mismatch": lambda b: (lambda ev: "".join(
        e["delta"] for e in _text_events(ev, "delta")) != _text_events(ev, "done")[0]["text"])(
        _events(b)),
    "responses-stream-two-terminal": lambda b: sum(
        e["type"] == "response.completed" for e in _events(b)) == 2,
    "responses-stream-terminal-not-last":
        lambda b: _events(b)[-1]["type"] != "response.completed",
    "responses-stream-status-mismatch":
        lambda b: _events(b)[-1]["response"]["status"] != "completed",
    "responses-stream-error-bare": _bare_error,
    "chat-stream-validation-in-stream": _chat_validation_in_stream,
    "responses-stream-validation-in-stream": _responses_validation_in_stream,
    "responses-stream-not-closed": lambda b: _hangs(b, "/responses", {
        "model": "gpt-4o-mini", "input": "x", "stream": True}),
    "responses-stream-buffered": lambda b: len(_read_times(b, "/responses")) == 1,
    "responses-stream-held": lambda b: _released_at_once(_read_times(b, "/responses")),
    # The generated-request faults (conformance/generated.py catches them).
    "chat-500-on-wrong-type": lambda b: _chat(b, temperature="hot").status_code == 500,
    "chat-accepts-missing-model": lambda b: _post(
        b, "/chat/completions", {"messages": USER}).status_code == 200,
    "chat-usage-string-tokens": lambda b: isinstance(
        _chat(b).json()["usage"]["total_tokens"], str),
    "responses-500-on-wrong-type": lambda b: _responses(b, temperature="hot").status_code == 500,
    "responses-accepts-missing-model": lambda b: _post(
        b, "/responses", {"input": "Tell me a fact"}).status_code == 200,
    "responses-output-tokens-string": lambda b: isinstance(
        _responses(b).json()["usage"]["output_tokens"], str),
}


PROBES.update(CONTRACT_PROBES)  # the Responses contract faults (issue 5)
PROBES.update(MESSAGES_PROBES)  # the Messages faults (issue 11)
PROBES.update(GEMINI_PROBES)  # the Gemini faults (issue 12)


def _is_json(text: str) -> bool:
    if text == "[DONE]":
        return True
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _capped_words(base_url: str) -> int:
    return len(_message(_chat(base_url, max_completion_tokens=3).json())["content"].split())


def test_every_fault_has_a_probe() -> None:
    assert set(PROBES) == set(FAULTS)


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_produces_its_violation(gateway: EmbeddedGateway, name: str) -> None:
    probe = PROBES[name]
    assert probe(gateway.fault_base_url(name)), f"{name}: violation not observed"
    assert not probe(gateway.base_url), f"{name}: probe also fires on the clean gateway"


def test_registry_is_well_formed() -> None:
    for name, fault in FAULTS.items():
        assert isinstance(fault, Fault) and fault.name == name and fault.description
        assert fault.trips and all(re.fullmatch(r"[a-z]+(\.[a-z0-9-]+)+", t) for t in fault.trips)
        if name.startswith("responses-"):
            assert all(t.startswith("responses.") for t in fault.trips)


def test_unknown_fault_is_a_404_envelope(gateway: EmbeddedGateway) -> None:
    reply = httpx.get(gateway.fault_base_url("no-such-fault") + "/models", headers=HEADERS)
    assert reply.status_code == 404
    assert set(reply.json()["error"]) == {"message", "type", "param", "code"}
    with pytest.raises(ValueError):
        create_app(fault="no-such-fault")


def test_fault_paths_still_need_auth(gateway: EmbeddedGateway) -> None:
    reply = httpx.get(gateway.fault_base_url("chat-object-wrong") + "/models")
    assert reply.status_code == 401


def test_create_app_fault_applies_to_plain_paths() -> None:
    with EmbeddedGateway(fault="chat-object-wrong") as gw:
        body = httpx.post(gw.base_url + "/chat/completions",
                          json={"model": "gpt-4o-mini", "messages": USER}).json()
        assert body["object"] == "chat.completions"
        assert gw.fault_base_url("chat-role-wrong").endswith("/fault/chat-role-wrong/v1")


def test_hanging_stream_does_not_block_shutdown() -> None:
    gw = EmbeddedGateway(fault="stream-hang").start()
    body = {"model": "gpt-4o-mini", "messages": USER, "stream": True,
            "stream_options": {"include_usage": True}}
    with httpx.stream("POST", gw.base_url + "/chat/completions", timeout=10,
                      json=body) as reply:
        next(reply.iter_raw())
        gw.stop()  # returns promptly although the stream is open
    with pytest.raises(RuntimeError, match="not running"):
        _ = gw.root_url
