"""Incremental delivery is judged over every stream of a run: a client stalled through one
stream's delivery, or a model too fast to time, never makes a correct gateway warn, and a
gateway that buffers or holds the stream warns."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance import check as check_model
from conformance.check import Inconclusive, ShouldViolation
from conformance.delivery import (
    BURST_DELTAS_PER_READ,
    HELD,
    INCREMENTAL,
    MIN_LEAD_SECONDS,
    TOO_FAST,
    Delivery,
    delivery,
    judge_delivery,
)
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


def written_apart(name: str, count: int, gap: float, tail: float) -> Delivery:
    """A fast model's stream: `count` deltas, each written (and read) alone, `gap` seconds apart;
    the last byte `tail` seconds after the last delta."""
    times = [1.0 + n * gap for n in range(count)]
    return streamed(name, times, last_byte=times[-1] + tail, reads=count + 3)


def held(name: str) -> Delivery:
    """Held to the end, then flushed in two blocks back to back (responses-stream-held)."""
    times = [3.0] * 13 + [3.0005] * 14
    return streamed(name, times, last_byte=3.001, reads=3)


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
                                                "lead_ms": 0.9, "shows": TOO_FAST}
    assert done.details["delivery"]["function call"]["lead_ms"] >= 250
    assert done.details["delivery"]["function call"]["shows"] == INCREMENTAL


def test_a_gateway_that_buffers_every_stream_warns() -> None:
    with pytest.raises(ShouldViolation, match="no stream was delivered incrementally") as raised:
        judge_delivery([buffered("text"), buffered("function call")], SUBJECT)
    assert raised.value.actual == [
        f"{label} stream: all 27 deltas arrived in one network read (the body came in 1 "
        "read(s)): buffered, then sent at once" for label in ("text", "function call")]


def test_streams_held_then_released_in_bursts_warn() -> None:
    """27 deltas in 2 reads, 1 ms before the last byte: the blocks of a relay that held them."""
    with pytest.raises(ShouldViolation) as raised:
        judge_delivery([held("text"), held("function call"), buffered("hosted tool")], SUBJECT)
    assert raised.value.actual[0] == (
        "text stream: 27 deltas over 2 reads, the first only 1.0 ms before the stream's last "
        "byte, 13.5 per read: held, then released in bursts")


def test_a_fast_model_writing_a_short_answer_is_not_a_warning() -> None:
    """The reviewer's relay: three deltas, each written alone 2 ms apart (500 tokens/s), on every
    stream: nothing tells it from a held stream released frame by frame, nor proves it one."""
    with pytest.raises(Inconclusive, match="not every one was shown held") as raised:
        judge_delivery([written_apart(label, 3, 0.002, 0.0087)
                        for label in ("plain", "include_usage", "stop")], SUBJECT)
    assert str(raised.value).count("too fast to tell") == 3
    assert "3 deltas over 3 reads, the first only 12.7 ms before" in str(raised.value)


def test_many_fast_deltas_read_one_by_one_are_not_a_warning() -> None:
    """Sibling: 27 deltas within 10 ms, one read each (a stalled client reads so too)."""
    with pytest.raises(Inconclusive, match="too fast to tell"):
        judge_delivery([written_apart("text", 27, 0.00035, 0.0008), stalled("function call")],
                       SUBJECT)


def test_a_held_stream_beside_one_too_fast_to_tell_is_inconclusive() -> None:
    with pytest.raises(Inconclusive) as raised:
        judge_delivery([held("text"), written_apart("function call", 5, 0.001, 0.001)], SUBJECT)
    assert "text stream: 27 deltas over 2 reads" in str(raised.value)
    assert "function call stream: 5 deltas over 5 reads" in str(raised.value)


def test_single_delta_streams_show_nothing_incremental() -> None:
    with pytest.raises(ShouldViolation) as raised:
        judge_delivery([streamed("text", [0.3], last_byte=0.5, reads=3)], SUBJECT)
    assert raised.value.actual == ["text stream: the whole output came in a single delta"]


def test_the_lead_threshold_is_inclusive() -> None:
    first = streamed("text", [0.1, 0.1 + MIN_LEAD_SECONDS], last_byte=0.1 + MIN_LEAD_SECONDS,
                     reads=2)
    early = streamed("text", [0.1, 0.1 + MIN_LEAD_SECONDS / 2],
                     last_byte=0.1 + MIN_LEAD_SECONDS / 2, reads=2)
    assert (first.shows, early.shows) == (INCREMENTAL, TOO_FAST)


def test_bursts_are_several_deltas_per_read_on_average() -> None:
    def within_a_moment(deltas: int) -> Delivery:  # over 2 reads, 1 ms before the last byte
        times = [0.5] * (deltas // 2) + [0.5005] * (deltas - deltas // 2)
        return streamed("text", times, last_byte=0.501, reads=2)

    assert within_a_moment(2 * BURST_DELTAS_PER_READ).shows == HELD
    assert within_a_moment(2 * BURST_DELTAS_PER_READ - 1).shows == TOO_FAST


def test_deltas_without_arrival_times_leave_nothing_to_time() -> None:
    with pytest.raises(Inconclusive, match="carry no arrival times"):
        judge_delivery([streamed("plain", [None, None], last_byte=None, reads=1)], SUBJECT)
    with pytest.raises(Inconclusive, match="no stream carried output deltas"):
        judge_delivery([streamed("plain", [], last_byte=0.2, reads=1)], SUBJECT)
