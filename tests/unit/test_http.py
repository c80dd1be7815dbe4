"""The recording HTTP layer: bounded, redacted, and never raising on a bad gateway."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import zlib

import httpx

from conformance.config import build_config
from conformance.http import Client, Exchange, Request, get, post
from tests.unit.wire import respond

KEY = "sk-unit-test-key-0123456789"


def send(handler, request: Request, max_bytes: int | None = None) -> Exchange:
    """Send one request through a Client whose network is `handler`."""
    config = build_config(base_url="http://gateway.test/v1", api_key=KEY, environ={})
    if max_bytes is not None:
        config = dataclasses.replace(config, max_bytes=max_bytes)

    async def one() -> Exchange:
        async with Client(config, httpx.MockTransport(handler)) as client:
            return await client.send(request, "x1")

    return asyncio.run(one())


def test_a_compressed_stream_is_read_as_clients_read_it() -> None:
    raw = b'data: {"a":1}\r\n\r\ndata: [DONE]\r\n\r\n'

    def handler(request: httpx.Request) -> httpx.Response:
        return respond(200, gzip.compress(raw), content_type="text/event-stream",
                       content_encoding="gzip")

    exchange = send(handler, post("/chat/completions", {"stream": True}))
    assert [e.data for e in exchange.events] == ['{"a":1}', "[DONE]"]
    assert [d.kind for d in exchange.deviations] == ["crlf"] * 4


def test_deflate_is_read_zlib_wrapped_or_raw() -> None:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw = packer.compress(b'{"ok": true}') + packer.flush()
    for packed in (zlib.compress(b'{"ok": true}'), raw):

        def handler(request: httpx.Request, body: bytes = packed) -> httpx.Response:
            return respond(200, body, content_encoding="deflate")

        assert send(handler, get("/models")).json() == {"ok": True}


def test_a_compression_bomb_is_cut_at_the_size_bound_before_it_inflates() -> None:
    packer = zlib.compressobj(wbits=zlib.MAX_WBITS | 16)
    bomb = packer.compress(b"\0" * (64 * 1024 * 1024)) + packer.flush()  # 64 MiB in ~64 KiB

    def handler(request: httpx.Request) -> httpx.Response:
        return respond(200, bomb, content_encoding="gzip")

    exchange = send(handler, get("/models"), max_bytes=100_000)
    assert exchange.cut and "exceeded 100000 bytes" in exchange.cut
    assert len(exchange.body) <= 64 * 1024  # only a prefix of a body cut for size is kept


def test_an_encoding_the_suite_cannot_read_is_a_transport_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return respond(200, b"\x1b\x00", content_encoding="br")

    exchange = send(handler, get("/models"))
    assert "Content-Encoding br" in (exchange.transport_error or "")


def test_transport_errors_are_recorded_not_raised() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    exchange = send(handler, get("/models"))
    assert exchange.status is None and "ConnectError" in (exchange.transport_error or "")
    assert not exchange.ok


def test_a_redirect_is_recorded_not_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(307, headers={"location": str(request.url)})

    exchange = send(handler, get("/models"))
    assert exchange.status == 307
    assert "redirect to http://gateway.test/v1/models" in (exchange.transport_error or "")


def test_a_body_over_the_size_bound_is_cut() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return respond(200, b"x" * 5000, content_type="text/plain")

    exchange = send(handler, get("/models"), max_bytes=1000)
    assert exchange.cut and "exceeded 1000 bytes" in exchange.cut


def test_a_body_dripped_in_many_reads_keeps_a_bounded_timeline() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return respond(200, [b"x"] * 5000)

    exchange = send(handler, get("/models"))
    assert exchange.reads == 5000 and len(exchange.chunk_times) == 2000
    assert exchange.last_byte is not None and exchange.body == "x" * 5000


def test_the_key_is_redacted_from_headers_bodies_and_curl() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return respond(401, b'{"error": {"message": "bad key %s"}}' % KEY.encode())

    exchange = send(handler, post("/chat/completions", {"echo": KEY}))
    record = str(exchange.evidence())
    assert KEY not in record
    assert "$OPENAI_API_KEY" in exchange.curl()


def test_a_request_carries_the_key_it_asks_for() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return respond(200, b"{}")

    for auth in (True, False, "sk-other"):
        send(handler, get("/models", auth=auth))
    assert seen == [f"Bearer {KEY}", None, "Bearer sk-other"]


def test_a_body_that_is_not_utf8_is_not_json() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return respond(200, b'{"object": "list", "data": ["caf\xe9"]}',
                       content_type="application/json")

    exchange = send(handler, get("/models"))
    assert exchange.invalid_utf8 and exchange.json_or_none() is None
    assert "\ufffd" in exchange.body  # kept readable as evidence


def test_stream_events_whose_bytes_are_not_utf8_carry_no_json() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return respond(200, [b'data: {"a": "ok"}\n\n', b'data: {"a": "caf\xe9"}\n\n'],
                       content_type="text/event-stream")

    exchange = send(handler, post("/chat/completions", {"stream": True}))
    assert [e.invalid_utf8 for e in exchange.events] == [False, True]


def test_a_flood_of_tiny_events_or_deviations_is_bounded() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        comments = b":\r\n" * 50_000  # a deviation per line, under the size bound
        return respond(200, [comments, b"data:x\n\n" * 30_000], content_type="text/event-stream")

    exchange = send(handler, post("/chat/completions", {"stream": True}))
    assert exchange.bound == "size" and "exceeded 20000 events" in (exchange.cut or "")
    assert exchange.harness_cause == "size"
    assert len(exchange.events) <= 200  # of a stream cut for size, only the start is kept
    assert len(exchange.deviations) <= 200


def test_a_header_given_as_none_is_left_out() -> None:
    """A family's always-added header can be removed from one request (a request without
    `anthropic-version`, say); the others stay."""
    request = dataclasses.replace(
        post("/messages", {}, headers={"anthropic-version": None, "X-Probe": "1"}),
        family="anthropic")
    seen: list[httpx.Headers] = []

    def handler(sent: httpx.Request) -> httpx.Response:
        seen.append(sent.headers)
        return respond(200, b"{}", content_type="application/json")

    send(handler, request)
    assert "anthropic-version" not in seen[0] and seen[0]["x-probe"] == "1"
    assert seen[0]["x-api-key"] == KEY
    send(handler, dataclasses.replace(post("/messages", {}), family="anthropic"))
    assert seen[1]["anthropic-version"]  # sent when not removed
