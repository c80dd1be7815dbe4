"""The HTTP layer: a Request says what a check needs sent; sending it records an Exchange.

Sending never raises on HTTP or transport trouble: the Exchange says what happened, and the check
decides whether that is a failure, a missing feature or a harness error. Every request is bounded
in time (`--timeout`, in total, not only between bytes) and in size (`max_bytes`, after bounded
decompression); a body that does not end is cut and marked, and only a bounded prefix of a body
cut for size is kept. Redirects are not followed: a 3xx is recorded as a transport error.
Scheduling (concurrency, retries, circuit breakers, the run deadline) is `conformance.plan`'s.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shlex
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlencode

import httpx

from conformance import __version__
from conformance.config import Config
from conformance.family import families, family, target_url
from conformance.redact import REDACTED, Redactor
from conformance.sse import Deviation, SSEEvent, SSEParser

SSE_TYPE = "text/event-stream"
# A 429/503 with Retry-After is waited out and sent again, at most this often and this long per
# exchange; past either bound the last answer stands (and a check ends `error`, never `fail`).
RETRY_STATUSES = (429, 503)
RETRY_LIMIT = 3
RETRY_WAIT_LIMIT = 30.0
# Bodies kept in results.json are cut here; the checks still see the whole body (up to
# max_bytes), except a body cut for size, of which only this prefix is kept at all.
EVIDENCE_BODY_LIMIT = 64 * 1024
# Read times kept per exchange (a body dripped byte by byte must not grow memory per byte).
CHUNK_TIMES_LIMIT = 2000
# Events kept of a stream cut for size (enough to show what it was sending).
CUT_EVENTS_LIMIT = 200
# A stream with more events than this is cut: the suite's answers take a few hundred, and tiny
# events under the byte bound would otherwise cost memory and judging time per event.
EVENTS_LIMIT = 20_000


@dataclass(frozen=True)
class Request:
    """One request a check needs: what is sent, not how (the engine sends it).

    `body` is JSON text (or deliberately invalid text); `auth` True sends the run's key for the
    request's API family, False none, a string that key instead, each the way the family sends
    a key (`conformance.family.Auth`). `headers` are added last: a value None removes that
    header (a request without `anthropic-version`, say). `family` None: the family whose plan
    declared it; `prefix` None: that family's (`/v1`), else the path it is sent under instead
    (`/v1beta`). `key_in` says where the key goes: "header" the family's way, "query" in its
    query parameter (`Auth.query`), "bearer" as `Authorization: Bearer`. Equal requests are one
    exchange: sent once per run.
    """

    method: str
    path: str
    body: str | None = None
    auth: bool | str = True
    headers: tuple[tuple[str, str | None], ...] = ()
    family: str | None = None
    prefix: str | None = None
    key_in: Literal["header", "query", "bearer"] = "header"

    @property
    def endpoint(self) -> str:
        """What the circuit breaker counts failures per: method and path."""
        return f"{self.method} {self.prefix or ''}/{self.path.lstrip('/')}"


def post(path: str, body: Any, *, auth: bool | str = True,
         headers: dict[str, str | None] | None = None) -> Request:
    """A POST of a JSON body (or of raw text when `body` is a str, e.g. invalid JSON)."""
    raw = body if isinstance(body, str) else json.dumps(body)
    return Request("POST", path, raw, auth, tuple((headers or {}).items()))


def get(path: str, *, auth: bool | str = True) -> Request:
    return Request("GET", path, None, auth)


@dataclass
class Exchange:
    id: str
    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: str | None
    # The API family the request belongs to, which says how its key was sent (None: the first).
    family: str | None = None
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""
    started_at: float = 0.0
    elapsed: float = 0.0
    first_byte: float | None = None
    chunk_times: list[tuple[float, int]] = field(default_factory=list)  # first reads only
    reads: int = 0  # network reads of the body
    last_byte: float | None = None
    events: list[SSEEvent] = field(default_factory=list)
    deviations: list[Deviation] = field(default_factory=list)
    transport_error: str | None = None
    cut: str | None = None  # why the response was cut short by the harness, if it was
    # Answers waited out before this one: {"status", "retry_after", "waited"} (seconds).
    retries: list[dict[str, Any]] = field(default_factory=list)
    # The body is not valid UTF-8 (kept with U+FFFD in place of the bad bytes): then it is not
    # JSON either (RFC 8259 §8.1), whatever it looks like.
    invalid_utf8: bool = False
    # Why the engine did not send it: "stopped" (the endpoint's breaker was open) or
    # "deadline" (the run's --max-time); transport_error then says it in words.
    not_sent: str | None = None
    # Which bound of the harness ended it: "timeout", "deadline" (--max-time) or "size".
    bound: str | None = None

    @property
    def ok(self) -> bool:
        return self.transport_error is None and self.cut is None

    @property
    def harness_cause(self) -> str | None:
        """Why the harness, not the gateway, left this exchange without a whole answer: not
        sent ("stopped", "deadline") or cut by a bound ("timeout", "deadline", "size"). None
        when it ended on its own (a reset or garbage is the gateway's doing)."""
        return self.not_sent or self.bound

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.response_headers if k.lower() == name), None)

    @property
    def media_type(self) -> str:
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    @property
    def is_sse(self) -> bool:
        return self.media_type == SSE_TYPE

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError when it is not JSON."""
        if self.invalid_utf8:
            raise ValueError("the body is not valid UTF-8, so it is not JSON (RFC 8259 §8.1)")
        return json.loads(self.body)

    def json_or_none(self) -> Any:
        try:
            return self.json()
        except ValueError:
            return None

    def request_json(self) -> Any:
        return json.loads(self.request_body) if self.request_body else None

    def curl(self) -> str:
        """A shell line that replays the request; the key comes from the environment."""
        api = family(self.family) if self.family else families()[0]
        key_header = api.auth.placeholder(api.key_env)
        parts = ["curl", "-sS", "-N", "-X", self.method, self.url]
        for name, value in self.request_headers:
            if name.lower() in ("content-length", "host", "accept-encoding", "user-agent"):
                continue
            parts += ["-H", key_header if name.lower() == api.auth.header.lower()
                      else f"{name}: {value}"]
        if self.request_body is not None:
            parts += ["--data-raw", self.request_body]
        expanded = [key_header]
        # A key sent in the query string is redacted in the URL: the shell puts it back.
        key_query = f"{api.auth.query}={REDACTED}" if api.auth.query else None
        if key_query and key_query in self.url:
            parts[5] = self.url.replace(key_query, f"{api.auth.query}=${api.key_env}")
            expanded.append(parts[5])
        line = " ".join(shlex.quote(p) for p in parts)
        # double quotes, so that the shell expands the key's variable
        for text in expanded:
            line = line.replace(shlex.quote(text), f'"{text}"')
        return line

    def evidence(self) -> dict[str, Any]:
        """The redacted record kept in results.json."""
        body = self.body
        truncated = len(body) > EVIDENCE_BODY_LIMIT
        return {
            "id": self.id,
            "api": self.family,
            "request": {
                "method": self.method,
                "url": self.url,
                "headers": [list(h) for h in self.request_headers],
                "body": self.request_body,
            },
            "response": {
                "status": self.status,
                "headers": [list(h) for h in self.response_headers],
                "body": body[:EVIDENCE_BODY_LIMIT],
                "body_truncated": truncated,
                "sse": self.is_sse,
                "chunk_times": [[round(t, 4), n] for t, n in self.chunk_times],
            },
            "started_at": self.started_at,
            "elapsed": round(self.elapsed, 4),
            "first_byte": None if self.first_byte is None else round(self.first_byte, 4),
            "transport_error": self.transport_error,
            "cut": self.cut,
            "retries": self.retries,
            "not_sent": self.not_sent,
            "curl": self.curl(),
        }


class Client:
    """Sends requests to the target and records them (asynchronous: `conformance.plan` runs
    many at once). Use as `async with Client(config) as client`."""

    def __init__(self, config: Config, transport: httpx.AsyncBaseTransport | None = None) -> None:
        """`transport` replaces the network (tests hand in an httpx.MockTransport)."""
        if config.base_url is None:
            raise ValueError("the client needs a concrete base URL")
        self.config = config
        self.redactor = Redactor(config.secrets())
        self._http = self._pool(transport, httpx.Limits())
        # For a second attempt after a pooled connection was found dead: never reused.
        self._fresh = self._pool(transport, httpx.Limits(max_keepalive_connections=0))

    def _pool(self, transport: httpx.AsyncBaseTransport | None,
              limits: httpx.Limits) -> httpx.AsyncClient:
        timeout = self.config.timeout
        return httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            follow_redirects=False,
            transport=transport,
            limits=limits,
            # identity: the framing checks want the bytes as sent, and chunk times as they arrive.
            headers={
                "User-Agent": f"llm-gateway-conformance/{__version__}",
                "Accept-Encoding": "identity",
            },
        )

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._http.aclose()
        await self._fresh.aclose()

    def url(self, request: Request) -> str:
        api = self.config.family_of(request)
        url = target_url(self.config.base_url or "", request.prefix or api.prefix, request.path)
        key = self._key(request)
        if request.key_in == "query" and key:
            url += ("&" if "?" in url else "?") + urlencode({api.auth.query: key})
        return url

    def _key(self, request: Request) -> str | None:
        auth = request.auth
        if isinstance(auth, str):
            return auth
        return self.config.key_for(self.config.family_of(request).name) if auth else None

    def headers(self, request: Request) -> dict[str, str]:
        headers = dict(self.config.headers)
        api = self.config.family_of(request)
        key = self._key(request)
        if request.key_in == "header":
            headers.update(api.auth.headers(key))
        else:  # the family's other headers still go; the key goes elsewhere
            headers.update(api.auth.headers(None))
            if request.key_in == "bearer" and key:
                headers["Authorization"] = f"Bearer {key}"
        if request.body is not None:
            headers["Content-Type"] = "application/json"
        for name, value in request.headers:
            if value is None:  # sent without it, though the family always adds it
                headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
            else:
                headers[name] = value
        return headers

    def record(self, request: Request, exchange_id: str) -> Exchange:
        """The redacted record of `request`, not sent yet."""
        return Exchange(
            id=exchange_id,
            method=request.method,
            url=self.redactor.text(self.url(request)),
            request_headers=self.redactor.headers(self.headers(request).items()),
            request_body=None if request.body is None else self.redactor.text(request.body),
            family=self.config.family_of(request).name,
            started_at=time.time(),
        )

    def unsent(self, request: Request, exchange_id: str, cause: str, reason: str) -> Exchange:
        """The record of a request the engine decided not to send (see Exchange.not_sent)."""
        exchange = self.record(request, exchange_id)
        exchange.not_sent, exchange.transport_error = cause, reason
        return exchange

    async def send(self, request: Request, exchange_id: str, budget: float | None = None,
                   fresh: bool = False) -> Exchange:
        """Send once; the whole exchange is bounded by `budget` seconds (default `--timeout`;
        less when the run's deadline is nearer, which the cut then names). `fresh`: on a new
        connection, not one from the pool."""
        exchange = self.record(request, exchange_id)
        limit = self.config.timeout if budget is None else min(budget, self.config.timeout)
        why = ("the run's --max-time" if limit < self.config.timeout
               else f"--timeout {self.config.timeout:g}s")
        start = time.monotonic()
        reader = _BodyReader(self.config.max_bytes, exchange)
        try:
            async with asyncio.timeout(limit):
                await self._receive(self._fresh if fresh else self._http, exchange, request,
                                    reader, start)
        except TimeoutError:
            exchange.bound = "deadline" if limit < self.config.timeout else "timeout"
            exchange.cut = (f"response still running after {limit:g}s ({why}); cut by the "
                            "harness")
        except httpx.HTTPError as exc:
            # redacted: an error may quote the URL, which can hold the key (`?key=`)
            exchange.transport_error = self.redactor.text(f"{type(exc).__name__}: {exc}")
        finally:
            exchange.elapsed = time.monotonic() - start
        if exchange.status is None and exchange.cut:
            exchange.transport_error, exchange.cut = f"no response within {limit:g}s ({why})", None
        reader.close(exchange, self.redactor)
        return exchange

    async def _receive(self, http: httpx.AsyncClient, exchange: Exchange, request: Request,
                       reader: _BodyReader, start: float) -> None:
        async with http.stream(request.method, self.url(request),
                                     headers=self.headers(request),
                                     content=request.body) as response:
            exchange.status = response.status_code
            exchange.response_headers = self.redactor.headers(response.headers.multi_items())
            if response.is_redirect:
                exchange.transport_error = _redirected(exchange)
                return
            reader.start(exchange)
            async for raw in response.aiter_raw():
                exchange.cut = reader.feed(raw, time.monotonic() - start)
                if exchange.cut:
                    exchange.bound = "size"
                if exchange.cut or exchange.transport_error:
                    return


def _redirected(exchange: Exchange) -> str:
    location = exchange.header("location") or "(no Location)"
    return (f"HTTP {exchange.status} redirect to {location}: the suite does not follow "
            "redirects (use the final URL as --base-url)")


class _BodyReader:
    """Reads one body within the size bound: undoes a gzip/deflate Content-Encoding a gateway
    applies despite `identity` (bounded, so a compression bomb never inflates past the bound),
    feeds SSE to the parser as it arrives, and keeps the first read times."""

    def __init__(self, max_bytes: int, exchange: Exchange) -> None:
        self.max_bytes = max_bytes
        self._exchange = exchange
        self.body = bytearray()
        self.parser: SSEParser | None = None
        self._inflate: Any = None

    def start(self, exchange: Exchange) -> None:
        encoding = (exchange.header("content-encoding") or "identity").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 32)
        elif encoding == "deflate":
            self._inflate = _Deflate()
        elif encoding not in ("identity", ""):
            exchange.transport_error = (f"Content-Encoding {encoding} (the suite asked for "
                                        "identity and decodes only gzip and deflate)")
        if exchange.is_sse:
            self.parser = SSEParser()

    def feed(self, raw: bytes, now: float) -> str | None:
        """Take one network read; returns why the body was cut, if it was."""
        room = self.max_bytes - len(self.body)
        chunk = self._inflate.decompress(raw, room + 1) if self._inflate else raw
        if not chunk:
            return None
        self._exchange_times(now, len(chunk))
        self.body += chunk[:room]
        if self.parser is not None:
            self.parser.feed(chunk[:room], now)
            if len(self.parser.events) > EVENTS_LIMIT:
                return f"stream exceeded {EVENTS_LIMIT} events; cut by the harness"
        if len(chunk) > room:
            return f"response exceeded {self.max_bytes} bytes; cut by the harness"
        return None

    def _exchange_times(self, now: float, size: int) -> None:
        exchange = self._exchange
        exchange.reads += 1
        exchange.last_byte = now
        if exchange.first_byte is None:
            exchange.first_byte = now
        if len(exchange.chunk_times) < CHUNK_TIMES_LIMIT:
            exchange.chunk_times.append((now, size))

    def close(self, exchange: Exchange, redactor: Redactor) -> None:
        """Hand the body and the parsed events to the exchange (only a prefix of a body that
        was cut for size: nobody judges it, and many of them must not fill memory)."""
        oversize = exchange.bound == "size"
        body = self.body[:EVIDENCE_BODY_LIMIT] if oversize else self.body
        self.body = bytearray()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            exchange.invalid_utf8 = True
            text = body.decode("utf-8", errors="replace")
        exchange.body = redactor.text(text)
        if self.parser is not None:
            self.parser.close(exchange.elapsed)
            events = self.parser.events
            if exchange.invalid_utf8:  # the events where the bad bytes were
                events = [dataclasses.replace(e, invalid_utf8=True) if "\ufffd" in e.data
                          else e for e in events]
            exchange.events = events[:CUT_EVENTS_LIMIT] if oversize else events
            exchange.deviations = self.parser.deviations[:CUT_EVENTS_LIMIT]


class _Deflate:
    """HTTP `deflate` is zlib-wrapped; some servers send raw deflate: accept either."""

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj()
        self._first = True

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._first:
            self._first = False
            try:
                return self._inflate.decompress(data, max_length)
            except zlib.error:
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._inflate.decompress(data, max_length)


def lost_connection(exchange: Exchange) -> bool:
    """The connection failed before any answer, in a way a pooled connection the server had
    already closed does (a read, write or protocol error): worth one try on a fresh one."""
    return exchange.status is None and (exchange.transport_error or "").startswith(
        ("ReadError", "WriteError", "RemoteProtocolError"))


def retry_wait(exchange: Exchange) -> float | None:
    """Seconds a 429/503 asks the client to wait (Retry-After: seconds or an HTTP date), or
    None when the answer is not one to wait out."""
    value = exchange.header("retry-after")
    if exchange.status not in RETRY_STATUSES or value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # HTTP dates are GMT
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
