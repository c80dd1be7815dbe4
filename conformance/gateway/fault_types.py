"""The fault record, kept apart from the registry so endpoint modules can declare their own."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    trips: tuple[str, ...]  # conformance check ids this fault must make fail
    # The outcome the tripped checks get when it is not their level's default (fail for a MUST
    # check, warn for a SHOULD check): "warn" for a tolerated deviation inside a MUST check,
    # "error" when the harness must cut the exchange.
    outcome: str | None = None
