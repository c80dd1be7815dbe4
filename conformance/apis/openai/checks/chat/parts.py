"""One check, several exchanges: each part is judged when its exchange allows it.

A check that reads a non-streamed and a streamed exchange (a named tool call and a `required`
tool stream, say) judges both: a part that cannot be judged (a refused stream, a cut one, a
transport error) never hides a defect found in another part. The check fails on every defect
found; only when nothing failed does it end as its unjudged part says (warn, not_supported,
error, inconclusive, in that order).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from conformance.check import (
    CheckFailed,
    HarnessError,
    Inconclusive,
    NotSupported,
    Problems,
    ShouldViolation,
)

T = TypeVar("T")
# What a part may end with besides a failure, most telling first.
_DEFERRED = (ShouldViolation, NotSupported, HarnessError, Inconclusive)


class Parts:
    """The parts of one check: `judge` each, add defects to `problems`, then `finish`."""

    def __init__(self) -> None:
        self.problems = Problems()
        self.failures: list[CheckFailed] = []
        self.deferred: list[Exception] = []

    def judge(self, what: str, read: Callable[[], T]) -> T | None:
        """`read()`'s value, or None when the part cannot be judged or fails at once.

        A failure becomes one of the check's problems (named by `what`); any other ending is
        held until `finish`.
        """
        try:
            return read()
        except ShouldViolation as exc:
            self.deferred.append(exc)
        except CheckFailed as exc:
            self.failures.append(exc)
            self.problems.add(f"{what}: {exc.message}")
        except _DEFERRED as exc:
            self.deferred.append(_named(exc, what))
        return None

    def finish(self, summary: str, *, expected: Any = None) -> None:
        """Fail with every problem found; else end as the most telling unjudged part."""
        if len(self.failures) == 1 and len(self.problems.items) == 1:
            raise self.failures[0]  # one defect: its own expected and actual
        self.problems.raise_if_any(summary, expected=expected)
        for kind in _DEFERRED:
            found = [exc for exc in self.deferred if isinstance(exc, kind)]
            if found:
                raise found[0]


def _named(exc: Exception, what: str) -> Exception:
    """The exception again, its message saying which part it concerns."""
    if isinstance(exc, HarnessError):
        return HarnessError(f"{what}: {exc}", cause=exc.cause)
    if isinstance(exc, Inconclusive):  # its root cause still groups it in the report
        return Inconclusive(f"{what}: {exc}", exc.root_cause)
    return type(exc)(f"{what}: {exc}")
