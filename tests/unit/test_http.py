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
