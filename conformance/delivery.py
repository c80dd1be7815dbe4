"""Incremental delivery: whether streamed output reached the client as it was generated.

Judged from arrival times alone, for any API: the caller picks the events that carry generated
output (Chat content deltas, Responses text and argument deltas) and hands over their times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.check import inconclusive, observe, record, warn
from conformance.http import Exchange

# A stream shows incremental delivery when its output deltas reach the client over at least two
# network reads and the first of them arrives at least MIN_LEAD_SECONDS before the stream's last
# byte: the output was written in pieces, over time. 20 ms is more than scheduling puts between
# the reads of one burst on a loaded machine (a time slice, the interpreter's 5 ms thread switch)
# and less than a real model takes to write a few tokens.
MIN_LEAD_SECONDS = 0.02

# Within less than that, only how much each read carries tells a fast model from a relay that held
# the stream: all output in one read is buffered; several deltas per read on average are bursts (a
# relay flushing what it held in blocks: responses-stream-held, 4 KiB blocks, gives 13.5 per read);
# fewer are frames written one by one, too fast to tell apart from a held stream released frame by
# frame. A client's stall does not make bursts: over chunked framing each write reaches it as its
# own read however long it stalled (measured on 2 cores under 3 busy processes, 16 streams at once,
# the client blocked 0.3 s mid-stream: 1.0 delta per read on every stream). 4, not 2: a correct
# relay forwarding its upstream's reads as they come may pair up a fast model's deltas, while a
# held stream flushed in blocks of even 1 KiB packs about 5 into each.
BURST_DELTAS_PER_READ = 4

INCREMENTAL, HELD, TOO_FAST = "incremental", "held", "too fast to tell"

# Which streams: all of them. Arrival times are what the client saw, and a loaded machine bends
# them towards a warning one way only: a client that stalls (its event loop busy, its process
# descheduled) reads what piled up meanwhile back to back, so a stream written token by token can
# look too fast to tell, or held where the body is not chunked or a proxy re-chunks it (the
# piled-up frames then come in one read). The one way a stall moves a held stream is by falling
# between the reads of its blocks and spreading them: that hides a warning, it never makes one.
# A stall merges only the streams whose whole delivery (the first delta until the last byte) it
# spans, and a run's streams are delivered at different moments (requests go out in waves,
# follow-ups after their parents), each over its generation time. So the verdict covers every
# recorded stream of the API: a pass when any one of them was incremental, a warning only when
# every one was shown held, inconclusive otherwise (some too fast to tell). A gateway that buffers
# does so on every stream and warns however idle the machine; a correct one would need the client
# stalled through all of them, on bodies a stall can merge.


@dataclass(frozen=True)
class Delivery:
    """How one stream's output deltas reached the client."""

    stream: str  # which recorded stream, for the evidence
    times: tuple[float, ...]  # arrival of each output delta that carries a time, in order
    untimed: int  # output deltas without one (events parsed from a body not read as SSE)
    last_byte: float
    body_reads: int

    @property
    def deltas(self) -> int:
        return len(self.times)

    @property
    def reads(self) -> int:
        """The network reads that carried output deltas."""
        return len(set(self.times))

    @property
    def lead(self) -> float:
        """Seconds from the first output delta's arrival to the stream's last byte."""
        return self.last_byte - self.times[0] if self.times else 0.0

    @property
    def shows(self) -> str:
        """What the arrival times show (see above): INCREMENTAL, HELD or TOO_FAST."""
        if self.reads > 1 and self.lead >= MIN_LEAD_SECONDS:
            return INCREMENTAL
        if self.reads == 1 or self.deltas >= BURST_DELTAS_PER_READ * self.reads:
            return HELD
        return TOO_FAST

    def evidence(self) -> dict[str, Any]:
        return {"deltas": self.deltas, "reads": self.reads, "body_reads": self.body_reads,
                "lead_ms": round(self.lead * 1000, 1), "shows": self.shows}

    def problem(self) -> str:
        """Why this stream does not show incremental delivery."""
        where = f"{self.stream} stream"
        if self.deltas == 1:
            return f"{where}: the whole output came in a single delta"
        if self.reads == 1:
            return (f"{where}: all {self.deltas} deltas arrived in one network read (the body "
                    f"came in {self.body_reads} read(s)): buffered, then sent at once")
        timing = (f"{self.deltas} deltas over {self.reads} reads, the first only "
                  f"{self.lead * 1000:.1f} ms before the stream's last byte")
        if self.shows == HELD:
            return (f"{where}: {timing}, {self.deltas / self.reads:.1f} per read: held, then "
                    "released in bursts")
        return (f"{where}: {timing}, one read each or nearly: too fast to tell a fast model "
                "from a held stream released frame by frame")


def delivery(stream: str, exchange: Exchange, times: list[float | None]) -> Delivery:
    """The delivery of one recorded stream, from the arrival times of its output deltas."""
    last_byte = exchange.last_byte if exchange.last_byte is not None else exchange.elapsed
    timed = tuple(t for t in times if t is not None)
    return Delivery(stream, timed, len(times) - len(timed), last_byte, exchange.reads)


def judge_delivery(deliveries: list[Delivery], subject: str) -> None:
    """Pass when any stream was delivered incrementally, warn when every one was shown held,
    inconclusive otherwise (see above) or when no stream carried a timed output delta."""
    timed = [d for d in deliveries if d.times]
    if not timed:
        inconclusive(
            f"the {subject} carry no arrival times (the stream bodies were not declared SSE: "
            "see the stream content-type check), so there was no delivery to time"
            if any(d.untimed for d in deliveries) else
            f"no stream carried {subject}, so there was no delivery to time")
    observe(f"streams carrying {subject}", len(timed))
    record(delivery={d.stream: d.evidence() for d in timed},
           min_lead_ms=MIN_LEAD_SECONDS * 1000, burst_deltas_per_read=BURST_DELTAS_PER_READ)
    shown = {d.shows for d in timed}
    if INCREMENTAL in shown:
        return
    problems = [d.problem() for d in timed]
    if shown == {HELD}:
        warn(f"no stream was delivered incrementally ({len(timed)} judged)",
             expected=f"on at least one stream: {subject} over >= 2 network reads, the first "
                      f">= {MIN_LEAD_SECONDS * 1000:g} ms before the stream's last byte",
             actual=problems)
    inconclusive(f"no stream was delivered incrementally, but not every one was shown held: "
                 f"{'; '.join(problems)}")
