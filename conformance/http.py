"""The HTTP layer: every request becomes a recorded, redacted Exchange.

Requests never raise on HTTP or transport trouble: the Exchange says what happened, and the check
decides whether that is a failure, a missing feature or a harness error. Every request is bounded
in time (connect, read and total) and in size; a stream that does not end is cut and marked.
"""

from __future__ import annotations

import itertools
import json
import shlex
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from conformance import __version__
from conformance.config import Config
from conformance.redact import Redactor
from conformance.sse import Deviation, SSEEvent, SSEParser

SSE_TYPE = "text/event-stream"
# A 429/503 with Retry-After is waited out and sent again, at most this often and this long per
# exchange; past either bound the last answer stands (and a check ends `error`, never `fail`).
RETRY_STATUSES = (429, 503)
RETRY_LIMIT = 3
RETRY_WAIT_LIMIT = 30.0
# Bodies kept in results.json are cut here; the checks still see the whole body.
EVIDENCE_BODY_LIMIT = 64 * 1024


@dataclass
class Exchange:
    id: str
    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: str | None
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""
    started_at: float = 0.0
    elapsed: float = 0.0
    first_byte: float | None = None
    chunk_times: list[tuple[float, int]] = field(default_factory=list)
    events: list[SSEEvent] = field(default_factory=list)
    deviations: list[Deviation] = field(default_factory=list)
    transport_error: str | None = None
    cut: str | None = None  # why the response was cut short by the harness, if it was
    # Answers waited out before this one: {"status", "retry_after", "waited"} (seconds).
    retries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.transport_error is None and self.cut is None

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
        parts = ["curl", "-sS", "-N", "-X", self.method, self.url]
        for name, value in self.request_headers:
            if name.lower() in ("content-length", "host", "accept-encoding", "user-agent"):
                continue
            if name.lower() == "authorization":
                parts += ["-H", "Authorization: Bearer $OPENAI_API_KEY"]
                continue
            parts += ["-H", f"{name}: {value}"]
        if self.request_body is not None:
            parts += ["--data-raw", self.request_body]
        line = " ".join(shlex.quote(p) for p in parts)
        return line.replace(shlex.quote("Authorization: Bearer $OPENAI_API_KEY"),
                            '"Authorization: Bearer $OPENAI_API_KEY"')

    def evidence(self) -> dict[str, Any]:
        """The redacted record kept in results.json."""
        body = self.body
        truncated = len(body) > EVIDENCE_BODY_LIMIT
        return {
            "id": self.id,
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
                "chunk_times": [[round(t, 4), n] for t, n in self.chunk_times[:2000]],
            },
            "started_at": self.started_at,
            "elapsed": round(self.elapsed, 4),
            "first_byte": None if self.first_byte is None else round(self.first_byte, 4),
            "transport_error": self.transport_error,
            "cut": self.cut,
            "retries": self.retries,
            "curl": self.curl(),
        }


class Client:
    """Sends requests to the target and records them; one per pytest worker."""

    def __init__(self, config: Config, prefix: str = "x") -> None:
        if config.base_url is None:
            raise ValueError("the client needs a concrete base URL")
        self.config = config
        self.redactor = Redactor(config.secrets())
        self.exchanges: list[Exchange] = []
        self._ids = itertools.count(1)
        self._prefix = prefix
        timeout = config.timeout
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            follow_redirects=False,
            # identity: the framing checks want the bytes as sent, and chunk times as they arrive.
            headers={
                "User-Agent": f"llm-gateway-conformance/{__version__}",
                "Accept-Encoding": "identity",
            },
        )

    def close(self) -> None:
        self._http.close()

    def url(self, path: str) -> str:
        return f"{self.config.base_url}/{path.lstrip('/')}"

    def default_headers(self, auth: bool | str = True) -> dict[str, str]:
        headers = dict(self.config.headers)
        key = auth if isinstance(auth, str) else (self.config.api_key if auth else None)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def post(self, path: str, body: Any, **kwargs: Any) -> Exchange:
        """POST a JSON body (or raw text when `body` is a str, e.g. to send invalid JSON)."""
        raw = body if isinstance(body, str) else json.dumps(body)
        return self.request("POST", path, content=raw, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Exchange:
        return self.request("GET", path, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        content: str | None = None,
        auth: bool | str = True,
        headers: Mapping[str, str] | None = None,
    ) -> Exchange:
        all_headers = self.default_headers(auth)
        if content is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        exchange_id = f"{self._prefix}{next(self._ids):04d}"
        retries: list[dict[str, Any]] = []
        waited = 0.0
        while True:
            exchange = Exchange(
                id=exchange_id,
                method=method,
                url=self.redactor.text(self.url(path)),
                request_headers=self.redactor.headers(all_headers.items()),
                request_body=None if content is None else self.redactor.text(content),
                started_at=time.time(),
                retries=retries,
            )
            self._send(exchange, method, self.url(path), all_headers, content)
            wait = _retry_wait(exchange)
            if wait is None or len(retries) >= RETRY_LIMIT or waited + wait > RETRY_WAIT_LIMIT:
                break
            retries.append({"status": exchange.status,
                            "retry_after": exchange.header("retry-after"), "waited": wait})
            time.sleep(wait)
            waited += wait
        self.exchanges.append(exchange)
        return exchange

    def _send(
        self,
        exchange: Exchange,
        method: str,
        url: str,
        headers: dict[str, str],
        content: str | None,
    ) -> None:
        start = time.monotonic()
        parser = SSEParser()
        body = bytearray()
        try:
            with self._http.stream(method, url, headers=headers, content=content) as response:
                exchange.status = response.status_code
                exchange.response_headers = self.redactor.headers(response.headers.multi_items())
                sse = exchange.is_sse
                for chunk in _body_chunks(response):
                    now = time.monotonic() - start
                    if exchange.first_byte is None:
                        exchange.first_byte = now
                    exchange.chunk_times.append((now, len(chunk)))
                    body += chunk
                    if sse:
                        parser.feed(chunk, now)
                    exchange.cut = self._limit_reached(len(body), now)
                    if exchange.cut:
                        break
        except httpx.TimeoutException as exc:
            exchange.cut = f"no data for {self.config.timeout:g}s ({type(exc).__name__})"
        except httpx.HTTPError as exc:
            exchange.transport_error = f"{type(exc).__name__}: {exc}"
        finally:
            exchange.elapsed = time.monotonic() - start
        if exchange.status is None and exchange.cut:
            exchange.transport_error, exchange.cut = exchange.cut, None
        exchange.body = self.redactor.text(body.decode("utf-8", errors="replace"))
        if exchange.is_sse:
            parser.close(exchange.elapsed)
            exchange.events = parser.events
            exchange.deviations = parser.deviations

    def _limit_reached(self, size: int, elapsed: float) -> str | None:
        if size > self.config.max_bytes:
            return f"response exceeded {self.config.max_bytes} bytes; cut by the harness"
        if elapsed > self.config.timeout:
            return f"response still running after {self.config.timeout:g}s; cut by the harness"
        return None


def _retry_wait(exchange: Exchange) -> float | None:
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


def _body_chunks(response: httpx.Response) -> Iterator[bytes]:
    # Undoes a Content-Encoding a gateway applies despite `identity` (as clients do), and
    # nothing else: line endings, spacing and chunk boundaries stay as sent.
    for chunk in response.iter_bytes():
        if chunk:
            yield chunk

