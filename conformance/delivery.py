"""Incremental delivery: whether streamed output reached the client as it was generated.

Judged from arrival times alone, for any API: the caller picks the events that carry generated
output (Chat content deltas, Responses text and argument deltas) and hands over their times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.check import inconclusive, observe, record, warn
from conformance.http import Exchange

# A stream is incremental when its output deltas reach the client over at least two network
# reads and the first of them arrives at least MIN_LEAD_SECONDS before the stream's last byte.
# Several reads, because the output must have been written in pieces; the lead, because pieces
# written back to back (a relay releasing what it held) arrive within a moment. 20 ms is more
# than scheduling puts between the reads of one burst on a loaded machine (a time slice, the
# interpreter's 5 ms thread switch) and less than a real model takes to write a few tokens.
MIN_LEAD_SECONDS = 0.02

# Which streams: all of them. Arrival times are what the client saw, and a loaded machine bends
# them one way only: a client that stalls (its event loop busy, its process descheduled) reads
# what piled up meanwhile at once, so a stream written token by token can look buffered; no stall
# spreads a buffered stream over time. A stall merges only the streams whose whole delivery (the
# first delta until the last byte) it spans, and a run's streams are delivered at different
# moments (requests go out in waves, follow-ups after their parents), each over its generation
# time. So the verdict covers every recorded stream of the API: incremental when any one of them
# was, a warning only when none was. A gateway that buffers does so on every stream and warns
# however idle the machine; a correct one would need the client stalled through all of them.


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
    def incremental(self) -> bool:
        return self.reads > 1 and self.lead >= MIN_LEAD_SECONDS

    def evidence(self) -> dict[str, Any]:
        return {"deltas": self.deltas, "reads": self.reads, "body_reads": self.body_reads,
                "lead_ms": round(self.lead * 1000, 1)}

    def problem(self) -> str:
        """Why this stream does not show incremental delivery."""
        where = f"{self.stream} stream"
        if self.deltas == 1:
            return f"{where}: the whole output came in a single delta"
        if self.reads == 1:
            return (f"{where}: all {self.deltas} deltas arrived in one network read (the body "
                    f"came in {self.body_reads} read(s)): buffered, then sent at once")
        return (f"{where}: {self.deltas} deltas over {self.reads} reads, but the first arrived "
                f"only {self.lead * 1000:.1f} ms before the stream's last byte: held, then "
                "released at once")


def delivery(stream: str, exchange: Exchange, times: list[float | None]) -> Delivery:
    """The delivery of one recorded stream, from the arrival times of its output deltas."""
    last_byte = exchange.last_byte if exchange.last_byte is not None else exchange.elapsed
    timed = tuple(t for t in times if t is not None)
    return Delivery(stream, timed, len(times) - len(timed), last_byte, exchange.reads)


def judge_delivery(deliveries: list[Delivery], subject: str) -> None:
    """Pass when any stream was delivered incrementally, warn when none was (see above);
    inconclusive when no stream carried a timed output delta."""
    timed = [d for d in deliveries if d.times]
    if not timed:
        inconclusive(
            f"the {subject} carry no arrival times (the stream bodies were not declared SSE: "
            "see the stream content-type check), so there was no delivery to time"
            if any(d.untimed for d in deliveries) else
            f"no stream carried {subject}, so there was no delivery to time")
    observe(f"streams carrying {subject}", len(timed))
    record(delivery={d.stream: d.evidence() for d in timed},
           min_lead_ms=MIN_LEAD_SECONDS * 1000)
    if not any(d.incremental for d in timed):
        warn(f"no stream was delivered incrementally ({len(timed)} judged)",
             expected=f"on at least one stream: {subject} over >= 2 network reads, the first "
                      f">= {MIN_LEAD_SECONDS * 1000:g} ms before the stream's last byte",
             actual=[d.problem() for d in timed])
