"""Incremental delivery is judged over every stream of a run: a client stalled through one
stream's delivery never makes a correct gateway warn, and a gateway that buffers warns."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance import check as check_model
from conformance.check import Inconclusive, ShouldViolation
from conformance.delivery import MIN_LEAD_SECONDS, Delivery, delivery, judge_delivery
from conformance.http import Exchange

SUBJECT = "output deltas"


def streamed(name: str, times: list[float | None], *, last_byte: float | None,
             reads: int) -> Delivery:
    """The delivery of a hand-built stream whose output deltas arrived at `times`."""
    exchange = Exchange(name, "POST", "http://gateway.test/v1/responses", [], "{}", status=200,
                        elapsed=(last_byte or 0.0) + 0.001, last_byte=last_byte, reads=reads)
    return delivery(name, exchange, times)


def paced(name: str, start: float = 0.1) -> Delivery:
    """The first delta, the reference gateway's pause after it, then the rest one by one."""
    times = [start] + [start + 0.25 + n * 0.0002 for n in range(1, 27)]
    return streamed(name, times, last_byte=times[-1] + 0.0001, reads=30)


def stalled(name: str) -> Delivery:
    """What a client stalled through the delivery reads: 27 deltas in 27 reads, within 1 ms
    (chunked framing hands each written frame over as its own read)."""
    times = [2.0 + n * 0.00003 for n in range(27)]
    return streamed(name, times, last_byte=times[-1] + 0.0001, reads=30)


def buffered(name: str) -> Delivery:
    """The whole stream in one write: every delta in one read."""
    return streamed(name, [0.4] * 27, last_byte=0.4, reads=1)


@pytest.fixture(autouse=True)
def running() -> Iterator[None]:
    check_model.begin(None)
    yield
    check_model.finish()


def test_one_stalled_stream_among_incremental_ones_does_not_warn() -> None:
    judge_delivery([stalled("text"), paced("function call"), paced("max_output_tokens cut")],
                   SUBJECT)
    done = check_model.finish()
    assert done.observed == {f"streams carrying {SUBJECT}": 3}
    assert done.details["delivery"]["text"] == {"deltas": 27, "reads": 27, "body_reads": 30,
                                                "lead_ms": 0.9}
    assert done.details["delivery"]["function call"]["lead_ms"] >= 250


def test_a_gateway_that_buffers_every_stream_warns() -> None:
    with pytest.raises(ShouldViolation, match="no stream was delivered incrementally") as raised:
        judge_delivery([buffered("text"), buffered("function call")], SUBJECT)
    assert raised.value.actual == [
        f"{label} stream: all 27 deltas arrived in one network read (the body came in 1 "
        "read(s)): buffered, then sent at once" for label in ("text", "function call")]


def test_streams_held_then_released_in_many_reads_warn() -> None:
    """Several writes back to back: many reads, but all within a moment of the last byte."""
    with pytest.raises(ShouldViolation) as raised:
        judge_delivery([stalled("text"), stalled("function call")], SUBJECT)
    assert all("held, then released at once" in line for line in raised.value.actual)


def test_single_delta_streams_show_nothing_incremental() -> None:
    with pytest.raises(ShouldViolation) as raised:
        judge_delivery([streamed("text", [0.3], last_byte=0.5, reads=3)], SUBJECT)
    assert raised.value.actual == ["text stream: the whole output came in a single delta"]


def test_the_lead_threshold_is_inclusive() -> None:
    first = streamed("text", [0.1, 0.1 + MIN_LEAD_SECONDS], last_byte=0.1 + MIN_LEAD_SECONDS,
                     reads=2)
    early = streamed("text", [0.1, 0.1 + MIN_LEAD_SECONDS / 2],
                     last_byte=0.1 + MIN_LEAD_SECONDS / 2, reads=2)
    assert (first.incremental, early.incremental) == (True, False)


def test_deltas_without_arrival_times_leave_nothing_to_time() -> None:
    with pytest.raises(Inconclusive, match="carry no arrival times"):
        judge_delivery([streamed("plain", [None, None], last_byte=None, reads=1)], SUBJECT)
    with pytest.raises(Inconclusive, match="no stream carried output deltas"):
        judge_delivery([streamed("plain", [], last_byte=0.2, reads=1)], SUBJECT)
