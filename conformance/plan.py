"""The exchange plan: every request a run needs, declared by the checks, sent once, concurrently.

A check module declares what it needs to see as an *exchange*: a function that builds the
request(s) from the run's `model` and `config` and from the exchanges it follows up on::

    @exchange
    def chat_stop(model: str, chat_completion: Exchange) -> Request | None:
        '''The plain request again, stopped at a word of its own answer.'''

`@exchange` registers the builder and returns a session fixture of the same name whose value is
the builder's result with every Request in it (alone, or in a list, tuple or dict) replaced by
its recorded Exchange. Before the first check runs, the plugin hands `Recorder` the exchanges the
selected checks use, and it sends them: each distinct request once, at most `--concurrency` at a
time, a follow-up as soon as its parent is recorded. Checks then only judge recorded exchanges,
so a run's wall time is its longest chain of dependent requests, not their sum.

Bounds, so that no gateway can hang a run:
- until an endpoint (method and path) has answered one request completely, it gets one request
  at a time; after `BREAKER_LIMIT` failures in a row (no answer, a reset, garbage, a redirect,
  or, before that first complete answer, a cut), its remaining requests are not sent;
- a 429/503 with Retry-After is waited out (at most RETRY_LIMIT times, RETRY_WAIT_LIMIT seconds
  per request) and halves the concurrency, which grows back by one per complete answer;
- nothing starts after the run's deadline (`--max-time`), and what runs then is cut.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from conformance.check import HarnessError
from conformance.config import Config
from conformance.family import families, family, family_of_module
from conformance.http import (
    RETRY_LIMIT,
    RETRY_WAIT_LIMIT,
    Client,
    Exchange,
    Request,
    lost_connection,
    retry_wait,
)

BREAKER_LIMIT = 3
# A request is not started with less time than this before the run's deadline.
MIN_BUDGET = 1.0
# What a builder may ask for besides other exchanges, given the run's config and the name of
# the API family that declares the builder: `model` is that family's model under test.
PARAMETERS: dict[str, Callable[[Config, str], Any]] = {
    "model": lambda config, family: config.model_for(family),
    "config": lambda config, family: config,
}


@dataclass(frozen=True)
class Planned:
    """One declared exchange: its builder and what the builder needs."""

    name: str
    build: Callable[..., Any]
    params: tuple[str, ...]

    @property
    def parents(self) -> tuple[str, ...]:
        return tuple(p for p in self.params if p not in PARAMETERS)

    @property
    def family(self) -> str:
        """The API family whose package declares the builder (the first one for others)."""
        declared = family_of_module(self.build.__module__)
        return (declared or families()[0]).name


PLAN: dict[str, Planned] = {}


def exchange(build: Callable[..., Any] | None = None, *,
             read: Callable[[Any], Any] | None = None) -> Any:
    """Declare an exchange (see the module docstring); returns its session fixture.

    `@exchange(read=decode)`: the checks get `decode(recorded)` (a decoded stream, say) instead
    of the recording, unless nothing was sent (None); follow-ups still get the recording.
    """
    if build is None:
        return functools.partial(exchange, read=read)
    name = build.__name__
    PLAN[name] = Planned(name, build, tuple(inspect.signature(build).parameters))

    def recorded(recordings: Recordings) -> Any:
        value = recordings.value(name)
        return value if read is None or value is None else read(value)

    recorded.__doc__ = build.__doc__
    return pytest.fixture(scope="session", name=name)(recorded)


def closure(names: Iterable[str]) -> list[str]:
    """The planned exchanges among `names` and every one they follow up on, parents first."""
    order: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in order:
            return
        if name in path:
            raise HarnessError(f"exchanges depend on each other in a cycle: {path}",
                               cause="harness")
        planned = PLAN[name]
        for parent in planned.parents:
            if parent not in PLAN:
                raise HarnessError(f"exchange {name} asks for {parent!r}, which is neither an "
                                   "exchange nor one of " + ", ".join(PARAMETERS), cause="harness")
            visit(parent, (*path, name))
        order.append(name)

    for name in sorted(n for n in set(names) if n in PLAN):
        visit(name, ())
    return order


def longest_chain(names: Iterable[str]) -> int:
    """The most exchanges that must happen one after another (a run's latency floor)."""
    depth: dict[str, int] = {}
    for name in closure(names):
        depth[name] = 1 + max((depth[p] for p in PLAN[name].parents), default=0)
    return max(depth.values(), default=0)


@dataclass
class Recordings:
    """What each planned exchange recorded: its value, or the exception its builder raised."""

    values: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, BaseException] = field(default_factory=dict)
    exchanges: dict[str, Exchange] = field(default_factory=dict)  # every recorded exchange, by id

    def value(self, name: str) -> Any:
        if name in self.failures:
            raise self.failures[name]
        if name not in self.values:
            raise HarnessError(f"the exchange {name} was not recorded (it was not planned: a "
                               "check may only use exchanges it declares as fixtures)",
                               cause="harness")
        return self.values[name]


@dataclass
class _Endpoint:
    """What the engine knows about one endpoint (method and path) of the target."""

    name: str
    answered: bool = False  # one request got a complete answer: no more one at a time
    in_flight: int = 0
    failures: int = 0  # in a row
    last_failure: str = ""

    @property
    def open(self) -> bool:
        return self.failures >= BREAKER_LIMIT


class Recorder:
    """Sends a plan's exchanges (see the module docstring); one per run."""

    def __init__(self, config: Config, on_exchange: Callable[[Exchange], None],
                 deadline: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        """`deadline`: time.monotonic() after which nothing is sent; `on_exchange` is told of
        every exchange as it is recorded (the journal); `transport` replaces the network."""
        self.config = config
        self._transport = transport
        self.on_exchange = on_exchange
        self.deadline = deadline
        self.recordings = Recordings()
        self.sent = 0
        self._endpoints: dict[str, _Endpoint] = {}
        self._limit = config.concurrency
        self._active = 0
        self._no_connection = False
        self._changed: asyncio.Condition | None = None
        self._client: Client | None = None
        self._requests: dict[Request, asyncio.Task[Exchange]] = {}

    @property
    def planned(self) -> int:
        """Distinct requests planned (each one is sent once, retries aside, or not at all)."""
        return len(self._requests)

    def record(self, names: Iterable[str], probe: Request | None = None) -> Exchange | None:
        """Send the planned exchanges among `names`, and with them `probe` (the reachability
        probe, returned: `no_connection` tells whether the target was there at all)."""
        return asyncio.run(self._record(closure(names), probe))

    async def _record(self, order: list[str], probe: Request | None) -> Exchange | None:
        self._changed = asyncio.Condition()
        # Built before anything is sent: drawing generated cases is seconds of CPU work.
        built = {name: self._build(name) for name in order if not PLAN[name].parents}
        async with Client(self.config, self._transport) as client:
            self._client = client
            # a probe names no family: it is the first family's (and deduped with its request)
            first = self._once(self.config.family_of(probe).tagged(probe), "probe") \
                if probe else None
            tasks: dict[str, asyncio.Task[None]] = {}
            # Requests queue in task order: heads of the longest chains first, so that their
            # follow-ups are not left for the last wave.
            for name in sorted(order, key=_heights(order).__getitem__, reverse=True):
                tasks[name] = asyncio.create_task(self._node(name, tasks, built))
            await asyncio.gather(*tasks.values())
            return await first if first else None

    async def _node(self, name: str, tasks: dict[str, asyncio.Task[None]],
                    built: dict[str, Any]) -> None:
        planned = PLAN[name]
        for parent in planned.parents:
            await tasks[parent]
        if name not in built:
            built[name] = self._build(name)
        shape = built[name]
        if isinstance(shape, BaseException):
            self.recordings.failures[name] = shape
            return
        try:
            sending = [(request, self._once(request, exchange_id))
                       for exchange_id, request in _requests_in(shape, name)]
            recorded = {request: await task for request, task in sending}
        except Exception as exc:  # a bug of ours must not end the run
            self.recordings.failures[name] = HarnessError(
                f"harness error while recording {name}: {type(exc).__name__}: {exc}",
                cause="harness")
            return
        self.recordings.values[name] = _map_requests(shape, recorded.__getitem__)

    def _once(self, request: Request, exchange_id: str) -> asyncio.Task[Exchange]:
        """The one task that sends `request` in this run (the first id it was planned under)."""
        if request not in self._requests:
            self._requests[request] = asyncio.create_task(self._request(request, exchange_id))
        return self._requests[request]

    def _build(self, name: str) -> Any:
        """The builder's result, or the error to hand each check that uses it.

        Builders only build: one that raises is a bug of ours, never a verdict on the gateway
        (a follow-up with nothing to follow returns None, and its checks say why)."""
        planned = PLAN[name]
        failed = next((self.recordings.failures[p] for p in planned.parents
                       if p in self.recordings.failures), None)
        if failed is not None:
            return failed  # a follow-up of nothing: its checks get the parent's verdict
        arguments = {p: PARAMETERS[p](self.config, planned.family) if p in PARAMETERS
                     else self.recordings.values[p] for p in planned.params}
        try:
            return _map_requests(planned.build(**arguments), family(planned.family).tagged)
        except Exception as exc:
            return HarnessError(f"harness error while building {name}: {type(exc).__name__}: "
                                f"{exc}", cause="harness")

    async def _request(self, request: Request, exchange_id: str) -> Exchange:
        """Send one request within every bound; the retries it took are in its evidence."""
        assert self._client is not None
        endpoint = self._endpoints.setdefault(request.endpoint, _Endpoint(request.endpoint))
        retries: list[dict[str, Any]] = []
        waited = 0.0
        while True:
            async with self._slot(endpoint) as refusal:
                if refusal:
                    exchange = self._client.unsent(request, exchange_id, *refusal)
                    break
                exchange = await self._attempt(request, exchange_id, retries)
                # learnt before the slot is freed: the waiters it wakes see the new state
                wait = self._learn(endpoint, exchange)
            if (wait is None or len(retries) >= RETRY_LIMIT or waited + wait > RETRY_WAIT_LIMIT
                    or time.monotonic() + wait > self.deadline):
                break
            retries.append({"status": exchange.status,
                            "retry_after": exchange.header("retry-after"), "waited": wait})
            await asyncio.sleep(wait)
            waited += wait
        exchange.retries = retries
        self.recordings.exchanges[exchange.id] = exchange
        self.on_exchange(exchange)
        return exchange

    async def _attempt(self, request: Request, exchange_id: str,
                       retries: list[dict[str, Any]]) -> Exchange:
        """Send; a connection lost before any answer is tried once more on a fresh connection
        (a server may close a kept-alive connection after an error answer: that is not this
        request's fault), the first attempt kept in `retries`."""
        assert self._client is not None
        exchange = await self._client.send(request, exchange_id, self.deadline - time.monotonic())
        self.sent += 1
        if lost_connection(exchange):
            retries.append({"status": None, "retry_after": None, "waited": 0.0,
                            "transport_error": exchange.transport_error})
            exchange = await self._client.send(request, exchange_id,
                                               self.deadline - time.monotonic(), fresh=True)
            self.sent += 1
        return exchange

    @asynccontextmanager
    async def _slot(self, endpoint: _Endpoint) -> AsyncIterator[tuple[str, str] | None]:
        """Wait for a free slot; yields why the request is not to be sent (cause, reason), or
        None."""
        assert self._changed is not None
        async with self._changed:
            await self._changed.wait_for(lambda: self._refusal(endpoint) is not None
                                         or self._may_send(endpoint))
            refusal = self._refusal(endpoint)
            if refusal is None:
                self._active += 1
                endpoint.in_flight += 1
        try:
            yield refusal
        finally:
            if refusal is None:
                async with self._changed:
                    self._active -= 1
                    endpoint.in_flight -= 1
                    self._changed.notify_all()

    def _may_send(self, endpoint: _Endpoint) -> bool:
        return self._active < self._limit and (endpoint.answered or endpoint.in_flight == 0)

    def _refusal(self, endpoint: _Endpoint) -> tuple[str, str] | None:
        if endpoint.open:
            return "stopped", (f"not sent: the gateway stopped answering {endpoint.name} "
                               f"({endpoint.failures} failures in a row; the last: "
                               f"{endpoint.last_failure})")
        if time.monotonic() >= self.deadline - MIN_BUDGET:
            return "deadline", "not sent: the run's --max-time was reached first"
        if self._no_connection:
            return "stopped", "not sent: no connection could be made to the target"
        return None

    def _learn(self, endpoint: _Endpoint, exchange: Exchange) -> float | None:
        """Update the endpoint's breaker and the concurrency; returns the wait a 429/503 asks."""
        if no_connection(exchange) and not any(e.answered for e in self._endpoints.values()):
            self._no_connection = True  # nothing there: no request waits its connect timeout
        if exchange.ok:
            endpoint.answered, endpoint.failures = True, 0
            self._limit = min(self.config.concurrency, self._limit + 1)
        elif exchange.transport_error or not endpoint.answered:
            # after a complete answer, a cut (a stream that never closes) is the checks' to judge
            endpoint.failures += 1
            endpoint.last_failure = exchange.transport_error or exchange.cut or ""
        wait = retry_wait(exchange)
        if wait is not None:
            self._limit = max(1, self._limit // 2)  # the gateway asked for less
        return wait


def _heights(order: list[str]) -> dict[str, int]:
    """For each exchange (parents first in `order`), how many follow it at most."""
    heights = dict.fromkeys(order, 0)
    for name in reversed(order):
        for parent in PLAN[name].parents:
            heights[parent] = max(heights[parent], heights[name] + 1)
    return heights


def no_connection(exchange: Exchange) -> bool:
    """No connection could be made at all (httpx's names for it)."""
    reason = exchange.transport_error or ""
    return exchange.not_sent is None and reason.startswith(("ConnectError", "ConnectTimeout",
                                                "UnsupportedProtocol"))


def _requests_in(shape: Any, path: str) -> Iterator[tuple[str, Request]]:
    """Every Request in a builder's result, with a stable id from where it sits."""
    if isinstance(shape, Request):
        yield path, shape
    elif isinstance(shape, dict):
        for key, value in shape.items():
            yield from _requests_in(value, f"{path}.{_slug(key)}")
    elif isinstance(shape, (list, tuple)):
        for index, value in enumerate(shape):
            yield from _requests_in(value, f"{path}.{index}")


def _map_requests(shape: Any, change: Callable[[Request], Any]) -> Any:
    """A builder's result with each Request in it replaced by `change(request)`."""
    if isinstance(shape, Request):
        return change(shape)
    if isinstance(shape, dict):
        return {key: _map_requests(value, change) for key, value in shape.items()}
    if isinstance(shape, (list, tuple)):
        return type(shape)(_map_requests(value, change) for value in shape)
    return shape


def _slug(key: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(key)).strip("-") or "x"
