"""The exchange plan: each request sent once, concurrently within bounds, never hung."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter

import httpx
import pytest

from conformance import plan
from conformance.check import HarnessError
from conformance.config import build_config
from conformance.http import Exchange, Request, get, post
from tests.unit.wire import respond, respond_json

KEY = "sk-unit-test-key-0123456789"


@pytest.fixture(autouse=True)
def empty_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan, "PLAN", {})


def record(handler, names, concurrency: int = 4, max_time: float = 600.0, probe=None):
    config = dataclasses.replace(build_config(base_url="http://gateway.test/v1", api_key=KEY,
                                              environ={}), concurrency=concurrency)
    recorder = plan.Recorder(config, lambda exchange: None, time.monotonic() + max_time,
                             httpx.MockTransport(handler))
    recorder.record(names, probe)
    return recorder


def ok(request: httpx.Request) -> httpx.Response:
    return respond_json(200, {"path": request.url.path, "body": request.content.decode()})


def test_a_request_planned_twice_is_sent_once_and_shared() -> None:
    sent = Counter()

    def handler(request: httpx.Request) -> httpx.Response:
        sent[request.url.path] += 1
        return ok(request)

    plan.PLAN["first"] = plan.Planned("first", lambda model: post("/chat", {"model": model}),
                                      ("model",))
    plan.PLAN["second"] = plan.Planned("second", lambda model: {"again": post(
        "/chat", {"model": model}), "other": get("/models")}, ("model",))
    recorder = record(handler, ["first", "second"])
    values = recorder.recordings.values
    assert sent == {"/v1/chat": 1, "/v1/models": 1}
    assert values["first"] is values["second"]["again"]
    assert values["first"].id == "first" and values["second"]["other"].id == "second.other"


def test_a_declared_exchange_is_planned_with_what_it_asks_for() -> None:
    def chat_stop(model: str, chat_completion: Exchange) -> Request:
        """A follow-up."""
        return post("/chat", {})

    fixture = plan.exchange(chat_stop)
    assert plan.PLAN["chat_stop"].params == ("model", "chat_completion")
    assert plan.PLAN["chat_stop"].parents == ("chat_completion",)
    assert fixture is not chat_stop  # a session fixture reading the recording
    with pytest.raises(HarnessError, match="neither an exchange"):
        plan.closure(["chat_stop"])


def test_a_follow_up_is_built_from_its_recorded_parent() -> None:
    def follow_up(parent: Exchange) -> Request:
        return post("/follow", {"after": parent.json()["path"]})

    plan.PLAN["parent"] = plan.Planned("parent", lambda: post("/first", {}), ())
    plan.PLAN["child"] = plan.Planned("child", follow_up, ("parent",))
    recorder = record(ok, ["child"])  # the parent comes with it
    assert plan.longest_chain(["child"]) == 2
    child = recorder.recordings.values["child"]
    assert child.json()["body"] == '{"after": "/v1/first"}'


class Overlap:
    """A handler that counts how many requests it holds at once (`peak`), then answers."""

    def __init__(self, answer) -> None:
        self.answer, self.in_flight, self.peak = answer, 0, 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0.01)  # every request that may start meanwhile does
        self.in_flight -= 1
        return self.answer(request)


def test_requests_run_concurrently_within_the_bound() -> None:
    plan.PLAN["many"] = plan.Planned("many", lambda: [post("/chat", {"n": n})
                                                      for n in range(12)], ())
    for bound in (1, 3):
        handler = Overlap(ok)
        record(handler, ["many"], concurrency=bound)
        assert handler.peak == bound


def test_an_endpoint_that_never_answered_gets_one_request_at_a_time() -> None:
    def no_answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer")

    plan.PLAN["many"] = plan.Planned("many", lambda: [post("/chat", {"n": n})
                                                      for n in range(10)], ())
    handler = Overlap(no_answer)
    record(handler, ["many"], concurrency=8)
    assert handler.peak == 1


def test_the_breaker_stops_sending_to_an_endpoint_that_stopped_answering() -> None:
    sent = Counter()

    def handler(request: httpx.Request) -> httpx.Response:
        sent[request.url.path] += 1
        if request.url.path == "/v1/chat":
            raise httpx.RemoteProtocolError("garbage")
        return ok(request)

    plan.PLAN["chat"] = plan.Planned("chat", lambda: [post("/chat", {"n": n})
                                                      for n in range(10)], ())
    plan.PLAN["models"] = plan.Planned("models", lambda: get("/models"), ())
    recorder = record(handler, ["chat", "models"])
    # each failure is tried once more on a fresh connection (a lost connection may be stale)
    assert sent == {"/v1/chat": 2 * plan.BREAKER_LIMIT, "/v1/models": 1}
    unsent = [e for e in recorder.recordings.values["chat"] if e.not_sent == "stopped"]
    assert len(unsent) == 10 - plan.BREAKER_LIMIT
    assert "stopped answering" in (unsent[0].transport_error or "")
    assert "garbage" in (unsent[0].transport_error or "")
    assert recorder.recordings.values["models"].status == 200


def test_after_a_complete_answer_a_cut_stream_is_the_checks_to_judge() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if b"stream" in request.content:
            return respond(200, b"x" * 5000)  # cut for size below
        return ok(request)

    plan.PLAN["plain"] = plan.Planned("plain", lambda: post("/chat", {}), ())
    plan.PLAN["streams"] = plan.Planned("streams", lambda plain: [
        post("/chat", {"stream": n}) for n in range(6)], ("plain",))
    config = dataclasses.replace(build_config(base_url="http://gateway.test/v1", environ={}),
                                 max_bytes=100)
    recorder = plan.Recorder(config, lambda e: None, time.monotonic() + 600,
                             httpx.MockTransport(handler))
    recorder.record(["streams"])
    streams = recorder.recordings.values["streams"]
    assert all(e.not_sent is None and e.cut for e in streams)


def test_nothing_is_sent_after_the_run_deadline() -> None:
    plan.PLAN["late"] = plan.Planned("late", lambda: [get("/models"), post("/chat", {})], ())
    recorder = record(ok, ["late"], max_time=-1)
    assert recorder.sent == 0
    assert all("--max-time" in (e.transport_error or "") and e.not_sent == "deadline"
               for e in recorder.recordings.values["late"])


def rate_limited(retry_after: str | None):
    headers = {} if retry_after is None else {"retry_after": retry_after}
    return lambda: respond_json(429, {"error": {"message": "slow down", "type": "requests"}},
                                **headers)


def answers(*makers):
    """A handler that answers with each maker's response in turn (the last one again when
    they run out)."""
    queue = list(makers)
    return lambda request: (queue.pop(0) if len(queue) > 1 else queue[0])()


@pytest.mark.parametrize("retry_after", ["0", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_a_rate_limit_with_retry_after_is_waited_out_and_recorded(retry_after: str) -> None:
    plan.PLAN["one"] = plan.Planned("one", lambda: get("/models"), ())
    recorder = record(answers(rate_limited(retry_after), rate_limited(retry_after),
                              lambda: respond_json(200, {"ok": True})), ["one"])
    exchange = recorder.recordings.values["one"]
    assert exchange.status == 200 and recorder.sent == 3
    assert [r["status"] for r in exchange.retries] == [429, 429]
    assert exchange.evidence()["retries"] == exchange.retries


def test_retries_are_bounded_in_count_and_wait() -> None:
    plan.PLAN["one"] = plan.Planned("one", lambda: get("/models"), ())
    exhausted = record(answers(rate_limited("0")), ["one"]).recordings.values["one"]
    assert exhausted.status == 429 and len(exhausted.retries) == 3
    too_long = record(answers(rate_limited("3600")), ["one"]).recordings.values["one"]
    assert too_long.status == 429 and too_long.retries == []
    unasked = record(answers(rate_limited(None), lambda: respond(200)),
                     ["one"]).recordings.values["one"]
    assert unasked.status == 429 and unasked.retries == []


def test_a_builder_that_raises_is_a_harness_error_for_it_and_its_follow_ups() -> None:
    def broken() -> Request:
        raise KeyError("oops")

    plan.PLAN["broken"] = plan.Planned("broken", broken, ())
    plan.PLAN["after"] = plan.Planned("after", lambda broken: get("/models"), ("broken",))
    recordings = record(ok, ["after"]).recordings
    for name in ("broken", "after"):
        with pytest.raises(HarnessError, match="KeyError"):
            recordings.value(name)


def test_no_connection_at_all_stops_every_endpoint_at_its_first_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    plan.PLAN["many"] = plan.Planned("many", lambda: [post("/chat", {"n": n})
                                                      for n in range(10)], ())
    recorder = record(handler, ["many"], probe=get("/models"))
    assert recorder.sent <= 2  # the probe, and perhaps the first request to the other endpoint
    assert plan.no_connection(recorder.recordings.exchanges["probe"])
    unsent = [e for e in recorder.recordings.values["many"] if e.not_sent]
    assert len(unsent) >= 9 and "no connection" in (unsent[0].transport_error or "")


def test_a_slow_answer_is_not_a_missing_connection() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow model list")

    recorder = record(handler, [], probe=get("/models"))
    assert not plan.no_connection(recorder.recordings.exchanges["probe"])


def test_a_connection_lost_before_any_answer_is_tried_once_more_on_a_fresh_one() -> None:
    attempts = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request.url.path)
        if len(attempts) == 1:  # the pooled connection the server had closed after a 500
            raise httpx.ReadError("connection reset by peer")
        return respond_json(400, {"error": {"message": "bad", "type": "invalid_request_error"}})

    plan.PLAN["one"] = plan.Planned("one", lambda: post("/chat", {}), ())
    recorder = record(handler, ["one"])
    exchange = recorder.recordings.values["one"]
    assert exchange.status == 400 and recorder.sent == 2
    assert exchange.retries == [{"status": None, "retry_after": None, "waited": 0.0,
                                 "transport_error": "ReadError: connection reset by peer"}]


def test_a_connection_lost_twice_is_the_exchange_s_transport_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("garbage")

    plan.PLAN["one"] = plan.Planned("one", lambda: post("/chat", {}), ())
    recorder = record(handler, ["one"])
    exchange = recorder.recordings.values["one"]
    assert "garbage" in (exchange.transport_error or "") and len(exchange.retries) == 1
