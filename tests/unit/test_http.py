"""The recording HTTP layer: bounded, redacted, and never raising on a bad gateway."""

from __future__ import annotations

import gzip

import httpx
import pytest

from conformance.config import build_config
from conformance.http import Client

KEY = "sk-unit-test-key-0123456789"


def client_for(handler, **settings) -> Client:
    config = build_config(base_url="http://gateway.test/v1", api_key=KEY, environ={}, **settings)
    client = Client(config)
    client._http = httpx.Client(transport=httpx.MockTransport(handler))
    return client


def test_a_compressed_stream_is_read_as_clients_read_it() -> None:
    raw = b'data: {"a":1}\r\n\r\ndata: [DONE]\r\n\r\n'

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=gzip.compress(raw), headers={
            "content-type": "text/event-stream", "content-encoding": "gzip"})

    exchange = client_for(handler).post("/chat/completions", {"stream": True})
    assert [e.data for e in exchange.events] == ['{"a":1}', "[DONE]"]
    assert [d.kind for d in exchange.deviations] == ["crlf"] * 4


def test_transport_errors_are_recorded_not_raised() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    exchange = client_for(handler).get("/models")
    assert exchange.status is None and "ConnectError" in (exchange.transport_error or "")
    assert not exchange.ok


def test_a_body_over_the_size_bound_is_cut() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 5000, headers={"content-type": "text/plain"})

    client = client_for(handler)
    client.config = client.config.__class__(**{**client.config.__dict__, "max_bytes": 1000})
    exchange = client.get("/models")
    assert exchange.cut and "exceeded 1000 bytes" in exchange.cut


def test_the_key_is_redacted_from_headers_bodies_and_curl() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"message": f"bad key {KEY}"}})

    exchange = client_for(handler).post("/chat/completions", {"echo": KEY})
    record = str(exchange.evidence())
    assert KEY not in record
    assert "$OPENAI_API_KEY" in exchange.curl()


def test_only_a_failed_connection_makes_the_target_unreachable() -> None:
    from conformance.target import Target, TargetUnreachable

    def target_failing_with(exc: Exception) -> Target:
        def handler(request: httpx.Request) -> httpx.Response:
            raise exc

        target = Target(build_config(base_url="http://gateway.test/v1", api_key=KEY, environ={}))
        target._client = client_for(handler)
        return target

    for exc in (httpx.ConnectError("refused"), httpx.ConnectTimeout("no route")):
        with pytest.raises(TargetUnreachable):
            target_failing_with(exc).ensure_reachable()
    target_failing_with(httpx.ReadTimeout("slow model list")).ensure_reachable()


def answers(*responses: httpx.Response):
    """A handler that gives the responses in order (the last one again when they run out)."""
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


def rate_limited(retry_after: str) -> httpx.Response:
    return httpx.Response(429, headers={"retry-after": retry_after},
                          json={"error": {"message": "slow down", "type": "requests"}})


@pytest.mark.parametrize("retry_after", ["0", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_a_rate_limit_with_retry_after_is_waited_out_and_recorded(retry_after: str) -> None:
    exchange = client_for(answers(rate_limited(retry_after), rate_limited(retry_after),
                                  httpx.Response(200, json={"ok": True}))).get("/models")
    assert exchange.status == 200
    assert [r["status"] for r in exchange.retries] == [429, 429]
    assert exchange.evidence()["retries"] == exchange.retries


def test_retries_are_bounded_in_count_and_wait() -> None:
    exhausted = client_for(answers(rate_limited("0"))).get("/models")
    assert exhausted.status == 429 and len(exhausted.retries) == 3
    too_long = client_for(answers(rate_limited("3600"))).get("/models")
    assert too_long.status == 429 and too_long.retries == []


def test_a_429_without_retry_after_is_not_retried() -> None:
    plain = httpx.Response(429, json={"error": {"message": "slow down", "type": "requests"}})
    exchange = client_for(answers(plain, httpx.Response(200, json={}))).get("/models")
    assert exchange.status == 429 and exchange.retries == []
