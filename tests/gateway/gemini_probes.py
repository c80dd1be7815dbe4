"""Probes for the Gemini faults (GEMINI_FAULTS in conformance/apis/gemini/gateway/faults.py).

Each probe answers "is the violation there?" with raw requests; tests/gateway/test_faults.py
runs them under the fault (yes) and on the clean gateway (no). A probe gets the gateway's
base URL (`…/v1`), under which the Gemini routes sit at `…/v1beta` (and `…/v1`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from conformance import sse
from conformance.family import target_url

from .conftest import API_KEY

MODEL = "gemini-2.5-flash"
KEY = {"x-goog-api-key": API_KEY}
QUESTION = {"contents": [{"role": "user", "parts": [{"text": "Name three rivers in France"}]}]}


def post(base: str, action: str = "generateContent", *, prefix: str = "/v1beta",
         headers: dict[str, str] | None = None, query: str = "",
         config: dict[str, Any] | None = None, **body: Any) -> httpx.Response:
    """`POST …/models/MODEL:action` with the key in x-goog-api-key (unless `headers` replace
    it); the body is the plain question, `config` its generationConfig."""
    url = target_url(base, prefix, f"/models/{MODEL}:{action}") + query
    payload = {**QUESTION, "generationConfig": {"temperature": 0, **(config or {})}, **body}
    return httpx.post(url, json=payload, headers=KEY if headers is None else headers, timeout=10)


def sse_stream(base: str, **body: Any) -> list[sse.SSEEvent]:
    """The SSE events of `:streamGenerateContent?alt=sse`."""
    return sse.parse(post(base, "streamGenerateContent", query="?alt=sse", **body).content).events


def chunks(base: str, **body: Any) -> list[dict[str, Any]]:
    """The JSON chunks of the SSE stream (events that are not JSON skipped)."""
    found = []
    for event in sse_stream(base, **body):
        try:
            found.append(json.loads(event.data))
        except ValueError:
            continue
    return found


def _candidates(body: dict[str, Any]) -> list[dict[str, Any]]:
    return body.get("candidates") or []


def _texts(base: str) -> list[str]:
    return [p.get("text", "") for c in chunks(base) for cand in _candidates(c)
            for p in cand.get("content", {}).get("parts", [])]


def _finish_count(base: str) -> int:
    return sum(1 for c in chunks(base) for cand in _candidates(c) if "finishReason" in cand)


def _one_read(base: str) -> bool:
    """The stream's body arrived in a single network read."""
    with httpx.stream("POST", target_url(base, "/v1beta", f"/models/{MODEL}:streamGenerateContent")
                      + "?alt=sse", json=QUESTION, headers=KEY, timeout=10) as response:
        return len([piece for piece in response.iter_raw() if piece]) == 1


def _cut_reason(base: str) -> str:
    return _candidates(post(base, config={"maxOutputTokens": 3}).json())[0]["finishReason"]


def _refused_with_out_of_range(base: str) -> bool:
    return post(base, config={"temperature": 2.5}).status_code == 400


GEMINI_PROBES: dict[str, Callable[[str], bool]] = {
    "gemini-stream-without-alt-not-streamed": lambda b: isinstance(
        post(b, "streamGenerateContent").json(), dict),
    "gemini-stream-done-appended": lambda b: sse_stream(b)[-1].data == "[DONE]",
    "gemini-stream-data-without-space": lambda b: post(
        b, "streamGenerateContent", query="?alt=sse").text.startswith("data:{"),
    "gemini-stream-chunk-split": lambda b: not sse_stream(b)[0].data.endswith("}"),
    "gemini-stream-cumulative-text": lambda b: _texts(b)[1].startswith(_texts(b)[0]),
    "gemini-stream-finish-every-chunk": lambda b: _finish_count(b) > 1,
    "gemini-stream-held": _one_read,
    "gemini-max-tokens-as-stop": lambda b: _cut_reason(b) == "STOP",
    "gemini-finish-reason-lowercase": lambda b: _cut_reason(b) == "max_tokens",
    "gemini-response-snake-case": lambda b: "usage_metadata" in post(b).json(),
    "gemini-content-role-assistant": lambda b: _candidates(post(b).json())[0]["content"][
        "role"] == "assistant",
    "gemini-stream-response-id-per-chunk": lambda b: len(
        {c["responseId"] for c in chunks(b)}) > 1,
    "gemini-max-output-tokens-ignored": lambda b: post(b, config={"maxOutputTokens": 3}).json()[
        "usageMetadata"]["candidatesTokenCount"] > 3,
    "gemini-stop-sequences-ignored": lambda b: "rivers" in json.dumps(post(
        b, config={"stopSequences": ["rivers"]}).json()["candidates"]),
    "gemini-candidate-count-ignored": lambda b: len(_candidates(post(
        b, config={"candidateCount": 2}).json())) == 1,
    "gemini-sampling-ranges-clamped": lambda b: not _refused_with_out_of_range(b),
    "gemini-json-mode-ignored": lambda b: not _candidates(post(b, config={
        "responseMimeType": "application/json", "responseSchema": {"type": "OBJECT"}}).json())[
        0]["content"]["parts"][0]["text"].startswith("{"),
    "gemini-system-instruction-as-turn": lambda b: post(
        b, systemInstruction={"parts": [{"text": "Be brief."}]}).status_code == 400,
    "gemini-v1-not-served": lambda b: post(b, prefix="/v1").status_code == 404,
    "gemini-auth-goog-api-key-refused": lambda b: post(b).status_code != 200,
    "gemini-auth-query-key-refused": lambda b: post(
        b, headers={}, query=f"?key={API_KEY}").status_code != 200,
    "gemini-auth-bearer-refused": lambda b: post(
        b, headers={"Authorization": f"Bearer {API_KEY}"}).status_code != 200,
}


# --- usage, countTokens, tools, thinking, errors and generated cases --------------------------

THOUGHTS_KEY = "thoughtsTokenCount"
THINKING = {"thinkingConfig": {"thinkingBudget": 64, "includeThoughts": True}}
WEATHER = {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
CLOCK = {"name": "get_time", "parameters": {
    "type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]}}
TOOLS = [{"functionDeclarations": [CLOCK, WEATHER]}]


def _usage(base: str, **body: Any) -> dict[str, Any]:
    return post(base, **body).json()["usageMetadata"]


def _thinking(base: str) -> dict[str, Any]:
    return post(base, config=THINKING).json()


def _unthought(usage: dict[str, Any]) -> int:
    """What the total holds beyond the prompt and the answer."""
    return usage["totalTokenCount"] - usage["promptTokenCount"] \
        - usage.get("candidatesTokenCount", 0)


def _parts(body: dict[str, Any]) -> list[dict[str, Any]]:
    return _candidates(body)[0].get("content", {}).get("parts", [])


def _unflagged_parts(base: str) -> int:
    """How many parts a thinking answer has when none is marked `thought` (0: one is)."""
    found = _parts(_thinking(base))
    return 0 if any(p.get("thought") for p in found) else len(found)


def _count(base: str) -> Any:
    url = target_url(base, "/v1beta", f"/models/{MODEL}:countTokens")
    return httpx.post(url, json=QUESTION, headers=KEY, timeout=10).json()["totalTokens"]


def _call(base: str, mode: str = "ANY", **calling: Any) -> dict[str, Any]:
    """The first functionCall of the weather question with TOOLS in `mode` ({}: none)."""
    body = post(base, tools=TOOLS, toolConfig={"functionCallingConfig": {
        "mode": mode, **calling}}).json()
    return next((p["functionCall"] for p in _parts(body) if "functionCall" in p), {})


def _follow_up(base: str) -> httpx.Response:
    """The forced call answered with a functionResponse."""
    call = _call(base, allowedFunctionNames=["get_weather"])
    return post(base, tools=TOOLS, contents=[
        *QUESTION["contents"], {"role": "model", "parts": [{"functionCall": call}]},
        {"role": "user", "parts": [{"functionResponse": {
            "name": call["name"], "response": {"output": "sunny"}}}]}])


def _refused(base: str) -> httpx.Response:
    """A request the API refuses with 400 (empty contents)."""
    return post(base, contents=[])


def _unknown_model(base: str) -> httpx.Response:
    url = target_url(base, "/v1beta", "/models/no-such-model:generateContent")
    return httpx.post(url, json=QUESTION, headers=KEY, timeout=10)


def _error(response: httpx.Response) -> dict[str, Any]:
    return response.json().get("error") or {}


GEMINI_PROBES.update({
    "gemini-usage-thoughts-dropped": lambda b: THOUGHTS_KEY not in (
        u := _thinking(b)["usageMetadata"]) and _unthought(u) > 0,
    "gemini-usage-thoughts-in-candidates": lambda b: THOUGHTS_KEY not in (
        u := _thinking(b)["usageMetadata"]) and _unthought(u) == 0,
    "gemini-usage-total-without-thoughts": lambda b: THOUGHTS_KEY in (
        u := _thinking(b)["usageMetadata"]) and _unthought(u) == 0,
    "gemini-usage-total-prompt-only": lambda b: (u := _usage(b))["totalTokenCount"] == u[
        "promptTokenCount"],
    "gemini-stream-usage-last-delta": lambda b: chunks(b)[-1]["usageMetadata"].get(
        "candidatesTokenCount") == 1,
    "gemini-stream-usage-not-final": lambda b: "candidatesTokenCount" not in chunks(b)[-1][
        "usageMetadata"],
    "gemini-count-tokens-estimated": lambda b: _count(b) != _usage(b)["promptTokenCount"],
    "gemini-count-tokens-string": lambda b: isinstance(_count(b), str),
    "gemini-function-args-string": lambda b: isinstance(_call(b).get("args"), str),
    "gemini-function-allowed-names-ignored": lambda b: _call(
        b, allowedFunctionNames=["get_weather"])["name"] == "get_time",
    "gemini-function-mode-none-as-any": lambda b: bool(_call(b, "NONE")),
    "gemini-function-response-refused": lambda b: _follow_up(b).status_code == 400,
    "gemini-function-response-empty": lambda b: (r := _follow_up(b)).status_code == 200
        and not _parts(r.json()),
    "gemini-thinking-thought-flag-dropped": lambda b: _unflagged_parts(b) > 1,
    "gemini-thinking-thoughts-merged-into-text": lambda b: _unflagged_parts(b) == 1,
    "gemini-errors-openai-shaped": lambda b: "status" not in (e := _error(_refused(b)))
        and "type" in e,
    "gemini-error-status-reason-phrase": lambda b: _error(_refused(b)).get("status") ==
        "Bad Request",
    "gemini-error-empty-200": lambda b: (r := _refused(b)).status_code == 200 and not r.content,
    "gemini-error-partial-200": lambda b: (r := _refused(b)).status_code == 200 and bool(
        r.content) and not _is_json(r.text),
    "gemini-auth-not-enforced": lambda b: post(b, headers={}).status_code == 200,
    "gemini-auth-wrong-key-500": lambda b: post(
        b, headers={"x-goog-api-key": "wrong"}).status_code == 500,
    "gemini-unknown-model-fallback": lambda b: _unknown_model(b).status_code == 200,
    "gemini-unknown-model-503": lambda b: _unknown_model(b).status_code == 503,
    "gemini-safety-settings-stripped": lambda b: post(b, safetySettings=[{
        "category": "HARM_CATEGORY_HARASSMENT", "threshold": "NOT_A_THRESHOLD"}]).status_code
        == 200,
    "gemini-roleless-turn-500": lambda b: post(
        b, contents=[{"parts": [{"text": "Hi"}]}]).status_code == 500,
})


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
