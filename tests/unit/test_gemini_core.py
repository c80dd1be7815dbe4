"""The Gemini core: the key in a query string stays secret, both stream forms decode into
chunks, and the readers tell a gateway's defect from a model's other answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import quote_plus

import httpx
import pytest

import conformance.apis
from conformance import family as registry
from conformance.apis import gemini, openai
from conformance.apis.gemini.checks import (
    camel_case_problems,
    decode_array_stream,
    decode_sse_stream,
    generate,
)
from conformance.apis.gemini.checks.conftest import refuses_model
from conformance.apis.gemini.checks.streaming import _framing_defect
from conformance.config import build_config
from conformance.http import Client, Exchange
from conformance.sse import parse
from tests.unit.wire import respond_json

# A key with characters a query string must percent-encode: redacted in both forms.
KEY = "AIza/unit+test=key-0123456789"


@pytest.fixture
def with_gemini(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(conformance.apis, "FAMILIES", (openai.FAMILY, gemini.FAMILY))
    registry.families.cache_clear()
    yield
    monkeypatch.undo()
    registry.families.cache_clear()


def test_a_key_sent_as_key_query_is_redacted_from_every_artifact(with_gemini: None) -> None:
    config = build_config(base_url="http://gw.test/v1", api_key=[f"gemini={KEY}"], environ={})
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return respond_json(200, {"error": {"message": f"echo {request.url}"}})

    request = replace(generate("gemini-2.5-flash"), family="gemini", key_in="query")

    async def one() -> Exchange:
        async with Client(config, httpx.MockTransport(handler)) as client:
            return await client.send(request, "q1")

    exchange = asyncio.run(one())
    # The key travelled in the query string, and nowhere else.
    assert seen[0].url.params["key"] == KEY
    assert "x-goog-api-key" not in seen[0].headers
    assert seen[0].url.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    # No artifact holds it, raw or percent-encoded (the gateway echoed the URL back, too).
    artifacts = json.dumps(exchange.evidence()) + exchange.curl() + exchange.body
    for form in (KEY, quote_plus(KEY), "unit+test", "unit%2Btest"):
        assert form not in artifacts
    assert "key=[REDACTED]" in exchange.url
    # The curl line replays it from the environment.
    assert '"http://gw.test/v1beta/models/gemini-2.5-flash:generateContent?key=$GEMINI_API_KEY"' \
        in exchange.curl()


def test_a_key_sent_as_bearer_replaces_the_header(with_gemini: None) -> None:
    config = build_config(base_url="http://gw.test/v1", api_key=[f"gemini={KEY}"], environ={})
    headers = Client(config).headers(replace(generate("m"), family="gemini", key_in="bearer"))
    assert headers["Authorization"] == f"Bearer {KEY}" and "x-goog-api-key" not in headers


def _exchange(body: str, content_type: str, chunk_times: list[tuple[float, int]]) -> Exchange:
    exchange = Exchange("s1", "POST", "http://gw.test", [], None, status=200, body=body,
                        response_headers=[("content-type", content_type)],
                        chunk_times=chunk_times)
    if content_type == "text/event-stream":
        exchange.events = parse(body.encode()).events
    return exchange


CHUNK = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hi"}]}, "index": 0}]}
LAST = {"candidates": [{"content": {"role": "model", "parts": [{"text": "."}]},
                        "finishReason": "STOP", "index": 0}]}


def test_the_array_form_is_read_element_by_element_with_arrival_times() -> None:
    first, second = json.dumps(CHUNK), json.dumps(LAST)
    body = f"[{first}\n,\r\n{second}]"
    reads = [(0.1, len(first) + 1), (0.5, len(body) - len(first) - 1)]
    found = decode_array_stream(_exchange(body, "application/json", reads))
    assert found.broken is None and found.chunks == [CHUNK, LAST]
    assert found.times == [0.1, 0.5] and found.text() == "Hi." and found.complete
    # One object (the stream answered as `:generateContent`), or trailing text: not the form.
    assert "a JSON object" in decode_array_stream(_exchange(first, "application/json", [])).broken
    assert "text after" in decode_array_stream(_exchange(f"[{first}] x", "x", [])).broken


def test_the_sse_form_keeps_a_done_sentinel_apart() -> None:
    body = f"data: {json.dumps(CHUNK)}\n\ndata: {json.dumps(LAST)}\n\ndata: [DONE]\n\n"
    found = decode_sse_stream(_exchange(body, "text/event-stream", []))
    assert found.chunks == [CHUNK, LAST] and found.done is not None and found.end_index == 1


def test_a_framing_defect_is_told_from_a_model_that_answered_otherwise() -> None:
    reference = "An API gateway routes requests."
    cumulative = ["An API", "An API gateway", reference]
    assert "whole text so far" in _framing_defect(cumulative, reference)
    repeated = ["An API", " gateway", " gateway", " routes requests."]
    assert "twice" in _framing_defect(repeated, reference)
    # Another wording, or a shorter answer, is the model's: nothing to blame the gateway for.
    assert _framing_defect(["An API gateway", " forwards calls."], reference) is None
    assert _framing_defect(["An API gateway routes", "."], reference) is None


def test_snake_case_keys_are_named_but_a_function_calls_own_arguments_are_not() -> None:
    body = {"usage_metadata": {"promptTokenCount": 1},
            "candidates": [{"finish_reason": "STOP", "content": {"parts": [
                {"functionCall": {"name": "f", "args": {"city_name": "Paris"}}}]}}]}
    found = camel_case_problems(body)
    assert [p.split(" ")[0] for p in found] == ["usage_metadata", "candidates[0].finish_reason"]
    assert "'usageMetadata'" in found[0]


def test_a_404_names_a_refused_model_only_in_googles_envelope() -> None:
    google = {"error": {"code": 404, "status": "NOT_FOUND",
                        "message": "models/x is not found for API version v1beta"}}
    openai_404 = {"error": {"message": "Invalid URL (POST /v1beta/models/x:generateContent)",
                            "type": "invalid_request_error", "code": "unknown_url"}}
    assert refuses_model(_json_exchange(404, google))
    assert not refuses_model(_json_exchange(404, openai_404))


def _json_exchange(status: int, body: object) -> Exchange:
    return Exchange("e", "POST", "http://gw.test", [], None, status=status, body=json.dumps(body))
