"""A gateway that attacks its client: it hangs, drips, never ends, lies about HTTP or its size.

Each mode answers every request under `/v1/` (GET /v1/models included) with one hostile
behaviour. The server is a raw asyncio socket server rather than an ASGI app, because half of the
modes break HTTP itself (garbage bytes, a TCP reset, a body that never ends) and an ASGI server
would smooth them over. It runs its own event loop in a daemon thread and shuts down promptly
even while connections hang: every connection task is cancelled and its socket aborted.

    hang           reads the request, never answers, keeps the connection open
    drip           200 text/event-stream, then one byte of a plausible stream every 0.2 s, forever
    endless        200 text/event-stream, valid-looking chunk events as fast as possible, forever
    garbage        random bytes that are not HTTP, then close
    big-body       200 application/json of 200 MB, streamed (never built in memory)
    reset          200 text/event-stream, a few events, then a TCP reset (SO_LINGER 0)
    invalid-utf8   200 application/json or text/event-stream whose text holds invalid UTF-8
    gzip-bomb      200 application/json, Content-Encoding: gzip, ~4 MB inflating to 4 GiB
    redirect-loop  307 whose Location is the request's own URL

Not hostile, only careless (`QUIRKS`, judged by their own tests):

    lost-keepalive answers a connection's first request (a 400 with the error envelope) and
                   keeps it open, then closes it without a word when a second request comes,
                   as servers that drop a connection after an error answer do
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import random
import socket
import struct
import threading
import zlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

HOST = "127.0.0.1"
DRIP_INTERVAL = 0.2
BIG_BODY_SIZE = 200_000_000
RESET_EVENTS = 3
# The bomb inflates to BOMB_CHUNKS × 1 MiB; each MiB costs ~1 KB on the wire.
BOMB_CHUNK = b"0" * (1 << 20)
BOMB_CHUNKS = 4096
# Invalid UTF-8: a stray continuation byte, an overlong encoding, an encoded surrogate, 0xFF.
INVALID_UTF8 = b"\x80 \xc0\xaf \xed\xa0\x80 \xff\xfe"
_PLACEHOLDER = "@INVALID@"
_MAX_HEAD = 1 << 20


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def wants_stream(self) -> bool:
        try:
            parsed = json.loads(self.body) if self.body else None
        except ValueError:
            return False
        return isinstance(parsed, dict) and parsed.get("stream") is True

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"


# A behaviour answers one request; it returns whether the connection may serve another.
Behaviour = Callable[[Request, asyncio.StreamWriter], Awaitable[bool]]


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def _chunk(data: bytes) -> bytes:
    """One chunk of a `Transfer-Encoding: chunked` body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


SSE_HEAD = _head("200 OK", {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                            "Transfer-Encoding": "chunked"})


def _chat_chunk(content: str, n: int = 0) -> bytes:
    event = {"id": f"chatcmpl-hostile{n}", "object": "chat.completion.chunk", "created": 1,
             "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"content": content},
                                                   "finish_reason": None}]}
    return b"data: " + json.dumps(event).encode() + b"\n\n"


async def _hang(request: Request, writer: asyncio.StreamWriter) -> bool:
    await asyncio.Event().wait()  # until the server stops and cancels this task
    return False


async def _drip(request: Request, writer: asyncio.StreamWriter) -> bool:
    writer.write(SSE_HEAD)
    for byte in itertools.cycle(_chat_chunk("drip")):
        writer.write(_chunk(bytes([byte])))
        await writer.drain()
        await asyncio.sleep(DRIP_INTERVAL)
    return False  # unreachable: the cycle never ends


async def _endless(request: Request, writer: asyncio.StreamWriter) -> bool:
    writer.write(SSE_HEAD)
    for n in itertools.count():
        writer.write(_chunk(b"".join(_chat_chunk("more ", n * 64 + i) for i in range(64))))
        await writer.drain()
        await asyncio.sleep(0)  # drain does not yield while the socket takes everything
    return False


async def _garbage(request: Request, writer: asyncio.StreamWriter) -> bool:
    noise = random.Random(len(request.body)).randbytes(4096)
    writer.write(b"\x00\xfe\x1b" + noise)  # never starts like a status line
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    return False


def _big_body_parts() -> Iterator[bytes]:
    """A 200 MB chat completion whose content is one huge string, in 64 KiB pieces."""
    head = (b'{"id":"chatcmpl-big","object":"chat.completion","created":1,"model":"gpt-4o-mini",'
            b'"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant",'
            b'"content":"')
    tail = b'"}}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}'
    piece = b"x" * (1 << 16)
    filler = BIG_BODY_SIZE - len(head) - len(tail)
    yield head
    for _ in range(filler // len(piece)):
        yield piece
    yield piece[: filler % len(piece)]
    yield tail


async def _big_body(request: Request, writer: asyncio.StreamWriter) -> bool:
    writer.write(_head("200 OK", {"Content-Type": "application/json",
                                  "Content-Length": str(BIG_BODY_SIZE)}))
    for part in _big_body_parts():
        writer.write(part)
        await writer.drain()
    return request.keep_alive


async def _reset(request: Request, writer: asyncio.StreamWriter) -> bool:
    writer.write(SSE_HEAD)
    for n in range(RESET_EVENTS):
        writer.write(_chunk(_chat_chunk("before the reset ", n)))
    await writer.drain()
    while writer.transport.get_write_buffer_size():
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # let the client read the events: the reset is what comes after
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()  # closes with linger 0: the kernel sends RST, not FIN
    return False


_TEXT = f"Hello {_PLACEHOLDER}"
_MESSAGE = {"type": "message", "id": "msg_hostile", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": _TEXT, "annotations": []}]}
_RESPONSE = {"id": "resp_hostile", "object": "response", "created_at": 1, "status": "completed",
             "model": "gpt-4o-mini", "output": [_MESSAGE],
             "usage": {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8,
                       "input_tokens_details": {"cached_tokens": 0},
                       "output_tokens_details": {"reasoning_tokens": 0}}}


def _invalid_document(path: str) -> dict[str, object]:
    """A plausible answer for the endpoint, its text fields holding the placeholder."""
    if path.rstrip("/").endswith("/models"):
        return {"object": "list", "data": [{"id": f"gpt-4o-mini{_PLACEHOLDER}", "object": "model",
                                            "created": 1, "owned_by": _PLACEHOLDER}]}
    if "/responses" in path:
        return _RESPONSE
    return {"id": "chatcmpl-hostile", "object": "chat.completion", "created": 1,
            "model": "gpt-4o-mini", "choices": [
                {"index": 0, "finish_reason": "stop", "logprobs": None,
                 "message": {"role": "assistant", "content": _TEXT, "refusal": None}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}


def _invalid_events(path: str) -> list[bytes]:
    """A plausible stream for the endpoint (placeholder still in), one SSE event per item."""
    if "/responses" not in path:
        chunks = [_chat_chunk(_TEXT, 0), _chat_chunk(" again", 1)]
        final = json.loads(_chat_chunk("", 2)[len(b"data: "):])
        final["choices"][0].update(delta={}, finish_reason="stop")
        return [*chunks, b"data: " + json.dumps(final).encode() + b"\n\n", b"data: [DONE]\n\n"]
    part = _MESSAGE["content"][0]
    at = {"item_id": "msg_hostile", "output_index": 0, "content_index": 0}
    in_progress = {**_RESPONSE, "status": "in_progress", "output": [], "usage": None}
    events = [
        {"type": "response.created", "response": in_progress},
        {"type": "response.in_progress", "response": in_progress},
        {"type": "response.output_item.added", "output_index": 0,
         "item": {**_MESSAGE, "status": "in_progress", "content": []}},
        {"type": "response.content_part.added", **at, "part": {**part, "text": ""}},
        {"type": "response.output_text.delta", **at, "delta": _TEXT},
        {"type": "response.output_text.done", **at, "text": _TEXT},
        {"type": "response.content_part.done", **at, "part": part},
        {"type": "response.output_item.done", "output_index": 0, "item": _MESSAGE},
        {"type": "response.completed", "response": _RESPONSE},
    ]
    return [f"event: {e['type']}\ndata: {json.dumps({**e, 'sequence_number': n})}\n\n".encode()
            for n, e in enumerate(events)]


def _with_invalid_utf8(text: bytes) -> bytes:
    return text.replace(_PLACEHOLDER.encode(), INVALID_UTF8)


async def _invalid_utf8(request: Request, writer: asyncio.StreamWriter) -> bool:
    if not request.wants_stream:
        body = _with_invalid_utf8(json.dumps(_invalid_document(request.target)).encode())
        writer.write(_head("200 OK", {"Content-Type": "application/json",
                                      "Content-Length": str(len(body))}) + body)
        await writer.drain()
        return request.keep_alive
    writer.write(SSE_HEAD)
    for event in _invalid_events(request.target):
        writer.write(_chunk(_with_invalid_utf8(event)))
    writer.write(_chunk(b""))
    await writer.drain()
    return request.keep_alive


@functools.cache
def _bomb() -> tuple[bytes, bytes, bytes, int]:
    """The gzip bomb as (head, middle, tail, middle repeats): head + middle × n + tail.

    Each MiB is compressed after a full flush, which resets the compressor, so every middle
    MiB compresses to the same bytes: the body is streamed from three small pieces and nothing
    ever holds (or compresses) the gigabytes it stands for. Only the CRC reads them, once.
    """
    prefix = (b'{"id":"chatcmpl-bomb","object":"chat.completion","created":1,'
              b'"model":"gpt-4o-mini","choices":[{"index":0,"finish_reason":"stop",'
              b'"message":{"role":"assistant","content":"')
    suffix = b'"}}]}'
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)  # raw: we write the gzip frame
    first = deflate.compress(prefix + BOMB_CHUNK) + deflate.flush(zlib.Z_FULL_FLUSH)
    middle = deflate.compress(BOMB_CHUNK) + deflate.flush(zlib.Z_FULL_FLUSH)
    again = deflate.compress(BOMB_CHUNK) + deflate.flush(zlib.Z_FULL_FLUSH)
    assert again == middle, "a full flush must make every MiB compress alike"
    last = deflate.compress(suffix) + deflate.flush(zlib.Z_FINISH)
    crc = zlib.crc32(prefix)
    for _ in range(BOMB_CHUNKS):
        crc = zlib.crc32(BOMB_CHUNK, crc)
    crc = zlib.crc32(suffix, crc)
    size = len(prefix) + BOMB_CHUNKS * len(BOMB_CHUNK) + len(suffix)
    gzip_header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    return gzip_header + first, middle, last + trailer, BOMB_CHUNKS - 1


async def _gzip_bomb(request: Request, writer: asyncio.StreamWriter) -> bool:
    head, middle, tail, repeats = _bomb()
    length = len(head) + len(middle) * repeats + len(tail)
    writer.write(_head("200 OK", {"Content-Type": "application/json", "Content-Encoding": "gzip",
                                  "Content-Length": str(length)}) + head)
    batch = 64  # MiB of inflated body per write (~64 KB on the wire)
    for done in range(0, repeats, batch):
        writer.write(middle * min(batch, repeats - done))
        await writer.drain()
    writer.write(tail)
    await writer.drain()
    return request.keep_alive


async def _redirect_loop(request: Request, writer: asyncio.StreamWriter) -> bool:
    location = f"http://{request.headers.get('host', HOST)}{request.target}"
    writer.write(_head("307 Temporary Redirect", {"Location": location, "Content-Length": "0"}))
    await writer.drain()
    return request.keep_alive


MODES: dict[str, Behaviour] = {
    "hang": _hang,
    "drip": _drip,
    "endless": _endless,
    "garbage": _garbage,
    "big-body": _big_body,
    "reset": _reset,
    "invalid-utf8": _invalid_utf8,
    "gzip-bomb": _gzip_bomb,
    "redirect-loop": _redirect_loop,
}


async def _bad_request(request: Request, writer: asyncio.StreamWriter) -> bool:
    body = json.dumps({"error": {"message": "bad request", "type": "invalid_request_error",
                                 "param": None, "code": None}}).encode()
    writer.write(_head("400 Bad Request", {"Content-Type": "application/json",
                                           "Content-Length": str(len(body))}) + body)
    await writer.drain()
    return True


QUIRKS: dict[str, Behaviour] = {"lost-keepalive": _bad_request}
# Quirks that serve one request per connection, then close it when the next one comes.
ONE_ANSWER_PER_CONNECTION = {"lost-keepalive"}


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on the connection, or None once the client closed it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return Request(method, target, headers, body)


class HostileServer:
    """One mode served on a free loopback port by an event loop in a daemon thread."""

    def __init__(self, mode: str) -> None:
        self.behaviour = {**MODES, **QUIRKS}[mode]
        self.mode = mode
        self.port: int | None = None
        self.requests = 0  # requests read, for tests that want to count them
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._connections: set[asyncio.Task[None]] = set()
        self._thread = threading.Thread(target=self._run, name=f"hostile-{mode}", daemon=True)

    @property
    def root_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + "/v1"

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> HostileServer:
        if self.mode == "gzip-bomb":
            _bomb()  # built once, before serving: its CRC takes a second
        self._thread.start()
        if not self._started.wait(timeout=10) or self.port is None:
            raise RuntimeError(f"hostile-{self.mode} failed to start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        finally:
            self._started.set()  # a server that failed to start says so at once

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._connection, HOST, 0, limit=_MAX_HEAD)
        self.port = server.sockets[0].getsockname()[1]
        self._started.set()
        await self._stop.wait()
        server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._answer_all(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError):
            pass  # the client went away or sent something unreadable: nobody to answer
        except asyncio.CancelledError:
            pass  # the server is stopping; asyncio would log a cancelled connection task
        finally:
            self._connections.discard(task)
            writer.transport.abort()  # never waits on a client that stopped reading

    async def _answer_all(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        answered = 0
        while (request := await _read_request(reader)) is not None:
            self.requests += 1
            if answered and self.mode in ONE_ANSWER_PER_CONNECTION:
                return  # closed without an answer: the client finds out on this request
            answered += 1
            if not request.target.startswith("/v1/"):
                writer.write(_head("404 Not Found", {"Content-Length": "0"}))
                await writer.drain()
                continue
            if not await self.behaviour(request, writer):
                return


@contextmanager
def serve(mode: str) -> Iterator[str]:
    """Serve one mode until the block ends; yields its base URL (with `/v1`)."""
    with HostileServer(mode) as server:
        yield server.base_url
