"""Probes for the Messages faults (MESSAGES_FAULTS in conformance/apis/anthropic/gateway/faults.py).

Each probe answers "is the violation there?" with raw requests; tests/gateway/test_faults.py
runs them under the fault (yes) and on the clean gateway (no).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from conformance import sse

from .conftest import API_KEY

HEADERS = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
MODEL = "claude-sonnet-4-6"
USER = [{"role": "user", "content": "Name three rivers in France"}]


def post(base: str, path: str = "/messages", headers: dict[str, str] | None = None,
         **body: Any) -> httpx.Response:
    """`POST base+path` with the Anthropic headers; the body defaults to a plain request."""
    return httpx.post(base + path, json={"model": MODEL, "max_tokens": 64, "messages": USER,
                                         **body},
                      headers=HEADERS if headers is None else headers, timeout=10)


def frames(base: str, **body: Any) -> list[sse.SSEEvent]:
    """The SSE frames of a streamed request."""
    return sse.parse(post(base, stream=True, **body).content).events


def events(base: str, **body: Any) -> list[dict[str, Any]]:
    """The JSON payloads of a streamed request (`[DONE]` and other non-JSON data skipped)."""
    found = []
    for frame in frames(base, **body):
        try:
            found.append(json.loads(frame.data))
        except ValueError:
            continue
    return found


def types(base: str, **body: Any) -> list[str]:
    return [e.get("type") for e in events(base, **body)]


def _of(found: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in found if e.get("type") == kind]


def _error(response: httpx.Response) -> dict[str, Any]:
    return response.json().get("error") or {}


def _without(name: str) -> dict[str, str]:
    return {k: v for k, v in HEADERS.items() if k != name}


MESSAGES_PROBES: dict[str, Callable[[str], bool]] = {
    "messages-error-openai-shape": lambda b: "type" not in post(b, model="no-such").json(),
    "messages-error-type-generic": lambda b: _error(post(b, model="no-such"))[
        "type"] == "invalid_request_error",
    "messages-errors-no-request-id": lambda b: "request-id" not in post(
        b, model="no-such").headers,
    "messages-auth-not-enforced": lambda b: post(b, headers=_without("x-api-key")).status_code
    == 200,
    "messages-auth-bearer-refused": lambda b: post(b, headers={
        **_without("x-api-key"), "Authorization": f"Bearer {API_KEY}"}).status_code == 401,
    "messages-version-header-ignored": lambda b: post(
        b, headers=_without("anthropic-version")).status_code == 200,
    "messages-version-header-500": lambda b: post(
        b, headers=_without("anthropic-version")).status_code == 500,
    "messages-max-tokens-defaulted": lambda b: httpx.post(
        b + "/messages", json={"model": MODEL, "messages": USER}, headers=HEADERS,
        timeout=10).status_code == 200,
    "messages-max-tokens-422": lambda b: httpx.post(
        b + "/messages", json={"model": MODEL, "messages": USER}, headers=HEADERS,
        timeout=10).status_code == 422,
    "messages-system-blocks-refused": lambda b: post(
        b, system=[{"type": "text", "text": "Be brief."}]).status_code == 400,
    "messages-content-blocks-refused": lambda b: post(b, messages=[{"role": "user", "content": [
        {"type": "text", "text": "Name three rivers in France"}]}]).status_code == 400,
    "messages-temperature-clamped": lambda b: post(b, temperature=5).status_code == 200,
    "messages-invalid-json-500": lambda b: httpx.post(
        b + "/messages", content=b'{"model": ', headers=HEADERS, timeout=10).status_code == 500,
    "messages-passthrough-fields-unvalidated": lambda b: post(
        b, inference_geo=False).status_code == 200,
    "messages-empty-stop-sequences-500": lambda b: post(b, stop_sequences=[]).status_code == 500,
    "messages-stream-json-content-type": lambda b: not post(b, stream=True).headers[
        "content-type"].startswith("text/event-stream"),
    "messages-stream-no-event-lines": lambda b: any(f.event is None for f in frames(b)),
    "messages-stream-done-appended": lambda b: frames(b)[-1].data == "[DONE]",
    "messages-stream-no-message-stop": lambda b: types(b)[-1] != "message_stop",
    "messages-start-input-tokens-zero": lambda b: events(b)[0]["message"]["usage"][
        "input_tokens"] == 0,
    "messages-stream-delta-before-block-start": lambda b: next(
        t for t in types(b) if t.startswith("content_block")) == "content_block_delta",
    "messages-stream-start-not-first": lambda b: next(
        t for t in types(b) if t != "ping") != "message_start",
    "messages-stream-message-delta-twice": lambda b: types(b).count("message_delta") > 1,
    "messages-stream-stop-reason-openai": lambda b: _of(events(b), "message_delta")[0][
        "delta"]["stop_reason"] == "stop",
    "messages-stream-text-delta-renamed": lambda b: any(
        "text" not in e["delta"] for e in _of(events(b), "content_block_delta")
        if e["delta"]["type"] == "text_delta"),
}


# --- usage, count_tokens and thinking ----------------------------------------------------------

THINKING = {"max_tokens": 2048, "thinking": {"type": "enabled", "budget_tokens": 1024}}


def _usage(base: str, **body: Any) -> dict[str, Any]:
    return post(base, **body).json()["usage"]


def _final_usage(base: str, **body: Any) -> dict[str, Any]:
    return _of(events(base, **body), "message_delta")[-1]["usage"]


def _count(base: str, **body: Any) -> Any:
    """count_tokens of the plain prompt (with `body` added)."""
    return httpx.post(base + "/messages/count_tokens", json={"model": MODEL, "messages": USER,
                                                               **body},
                      headers=HEADERS, timeout=10).json()["input_tokens"]


def _block_types(base: str, **body: Any) -> list[str]:
    return [b["type"] for b in post(base, **body).json()["content"]]


def _thinking_into_text(base: str) -> bool:
    """A thinking_delta goes into a block opened as a text block."""
    found = events(base, **THINKING)
    opened = {e["index"]: e["content_block"]["type"] for e in _of(found, "content_block_start")}
    return any(opened[e["index"]] == "text" for e in _of(found, "content_block_delta")
               if e["delta"]["type"] == "thinking_delta")


MESSAGES_PROBES.update({
    "messages-start-input-tokens-one": lambda b: events(b)[0]["message"]["usage"][
        "input_tokens"] == 1,
    "messages-stream-output-tokens-last-delta": lambda b: _final_usage(b)["output_tokens"] == 1,
    "messages-stream-output-tokens-increment": lambda b: _final_usage(b)["output_tokens"] == 0,
    "messages-stream-input-tokens-summed": lambda b: _final_usage(b).get(
        "input_tokens") == 2 * _usage(b)["input_tokens"],
    "messages-stream-output-tokens-plus-start": lambda b: _final_usage(b)[
        "output_tokens"] == _usage(b)["output_tokens"] + 1,
    "messages-usage-cache-read-in-input": lambda b: _usage(b)["cache_read_input_tokens"] > 0,
    "messages-usage-output-tokens-zero": lambda b: _usage(b)["output_tokens"] == 0,
    "messages-count-tokens-without-system": lambda b: _count(b, system="Answer in French.")
    == _count(b),
    "messages-count-tokens-string": lambda b: isinstance(_count(b), str),
    "messages-hidden-system-prompt-billed": lambda b: _usage(b)["input_tokens"] - _count(b)
    == 200,
    "messages-thinking-dropped": lambda b: "thinking" not in _block_types(b, **THINKING),
    "messages-thinking-after-text": lambda b: _block_types(b, **THINKING)[-1] == "thinking",
    "messages-stream-signature-missing": lambda b: not any(
        e["delta"]["type"] == "signature_delta"
        for e in _of(events(b, **THINKING), "content_block_delta")),
    "messages-stream-thinking-delta-in-text-block": _thinking_into_text,
})


def _streamed(base: str) -> Any:
    """A plain streamed request, read as it arrives (a context manager)."""
    return httpx.stream("POST", base + "/messages", headers=HEADERS, json={
        "model": MODEL, "max_tokens": 64, "messages": USER, "stream": True},
        timeout=httpx.Timeout(10, read=3))


def _held_open(base: str) -> bool:
    """The stream's last frame came, and the server did not close within a few seconds."""
    with _streamed(base) as reply:
        try:
            for _ in reply.iter_bytes():
                pass
        except httpx.ReadTimeout:
            return True
    return False


def _one_write(base: str) -> bool:
    """The whole stream arrived in one network read."""
    with _streamed(base) as reply:
        return len(list(reply.iter_raw())) == 1


# The lead's stream faults: how a stream ends and how it is delivered.
MESSAGES_PROBES.update({
    "messages-stream-not-closed": _held_open,
    "messages-stream-buffered": _one_write,
    "messages-stream-stop-reason-max-tokens": lambda b: _of(events(b), "message_delta")[0][
        "delta"]["stop_reason"] == "max_tokens",
})


# --- the message, its stop reason and its tools (helper A) ------------------------------------

TOOL = {"name": "get_weather", "input_schema": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
FORCED = {"tools": [TOOL], "tool_choice": {"type": "tool", "name": "get_weather"}}
CUT = 5


def _answer(base: str, **body: Any) -> dict[str, Any]:
    return post(base, **body).json()


def _stop_word(base: str) -> str:
    """A word from the middle of the plain answer (the stop sequence the checks would send)."""
    words = _answer(base)["content"][0]["text"].split()
    return words[len(words) // 2].strip(".,:;")


def _stopped(base: str) -> tuple[str, dict[str, Any]]:
    word = _stop_word(base)
    return word, _answer(base, stop_sequences=[word])


def _streamed_call(base: str) -> tuple[dict[str, Any], str]:
    """The forced call streamed: its content_block_start block and its joined fragments."""
    found = events(base, **FORCED)
    block = _of(found, "content_block_start")[0]["content_block"]
    fragments = "".join(e["delta"].get("partial_json", "")
                        for e in _of(found, "content_block_delta"))
    return block, fragments


def _tool_result_refused(base: str) -> bool:
    call = _answer(base, **FORCED)["content"][0]
    return post(base, tools=[TOOL], messages=[*USER, {"role": "assistant", "content": [call]}, {
        "role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"],
                                     "content": "21 C"}]}]).status_code == 400


MESSAGES_PROBES.update({
    "messages-cut-reported-end-turn": lambda b: _answer(b, max_tokens=CUT)[
        "stop_reason"] == "end_turn",
    "messages-stream-cut-reported-end-turn": lambda b: _of(events(b, max_tokens=CUT),
                                                           "message_delta")[0][
        "delta"]["stop_reason"] == "end_turn",
    "messages-stop-sequence-as-end-turn": lambda b: (
        lambda answer: (answer["stop_reason"], answer["stop_sequence"]) == ("end_turn", None))(
        _stopped(b)[1]),
    "messages-stop-sequence-leaked": lambda b: (
        lambda word, answer: word in answer["content"][0]["text"])(*_stopped(b)),
    "messages-content-empty": lambda b: (lambda answer: answer["content"] == [] and answer[
        "usage"]["output_tokens"] > 0)(_answer(b)),
    "messages-cut-text-empty": lambda b: _answer(b, max_tokens=CUT)["content"][0]["text"] == "",
    "messages-id-without-prefix": lambda b: not _answer(b)["id"].startswith("msg_"),
    "messages-stream-tool-id-openai": lambda b: _streamed_call(b)[0]["id"].startswith("call_"),
    "messages-role-model": lambda b: _answer(b)["role"] == "model",
    "messages-type-missing": lambda b: "type" not in _answer(b),
    "messages-usage-service-tier-openai": lambda b: _answer(b)["usage"][
        "service_tier"] == "default",
    "messages-tool-input-string": lambda b: isinstance(
        _answer(b, **FORCED)["content"][0]["input"], str),
    "messages-tool-stop-reason-openai": lambda b: _answer(b, **FORCED)[
        "stop_reason"] == "tool_calls",
    "messages-stream-tool-input-double-encoded": lambda b: isinstance(
        json.loads(_streamed_call(b)[1]), str),
    "messages-tool-result-refused": _tool_result_refused,
})
