"""The fault record, kept apart from the registry so endpoint modules can declare their own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fault:
    """One way to break the contract. A run against it changes the outcome of exactly
    `trips` and `collateral` (the suite's tests assert that set, both ways)."""

    name: str
    description: str
    trips: tuple[str, ...]  # conformance check ids this fault must make fail
    # The outcome the tripped checks get when it is not their level's default (fail for a MUST
    # check, warn for a SHOULD check): "warn" for a tolerated deviation inside a MUST check,
    # "error" when the harness must cut the exchange.
    outcome: str | None = None
    # Other checks whose outcome the fault changes too, each with the reason it must:
    # check id -> why (e.g. "the stream it breaks is the one this check also reads").
    collateral: Mapping[str, str] = field(default_factory=dict)


def same_reason(endpoint: str, why: str, *checks: str) -> dict[str, str]:
    """Collateral: one reason for several checks of one endpoint (ids given without
    `endpoint.`, e.g. `same_reason("messages", why, "stream.event-name")`)."""
    return {f"{endpoint}.{check}": why for check in checks}
