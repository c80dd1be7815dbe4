"""The check model: metadata every check carries, the outcomes, and how a check reports a verdict.

A check is a pytest test function decorated with @check. Its body raises one of the exceptions
below (through the helpers) to say how the gateway fell short; returning normally is a pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NoReturn, TypeVar

import pytest

from conformance.features import FEATURES


class Level(StrEnum):
    MUST = "MUST"
    SHOULD = "SHOULD"


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"  # a MUST requirement is violated
    WARN = "warn"  # a SHOULD requirement is violated: still conformant
    NOT_SUPPORTED = "not_supported"  # the gateway cleanly declines an optional feature
    INCONCLUSIVE = "inconclusive"  # the subject of the check was not observed: nothing to judge
    ERROR = "error"  # transport or harness problem: never counted as a pass
    SKIPPED = "skipped"  # not applicable to this run (e.g. no API key to test auth with)
    NOT_RUN = "not_run"  # the run ended (interrupted) before the check ran


_ID = re.compile(r"^[a-z]+(\.[a-z0-9]+(-[a-z0-9]+)*){2,}$")


@dataclass(frozen=True)
class Check:
    id: str  # stable slug: <endpoint>.<family>.<name>
    level: Level
    feature: str  # what the gateway must offer (conformance.features: core or optional)
    observes: str  # what the exchange must show for a verdict; without it: inconclusive
    operation: str  # OpenAPI operationId
    spec: str  # pointer into openapi/, e.g. "openapi/chat.yaml#/components/schemas/Model"
    source: str  # where the requirement is stated: official docs, seed file
    requirement: str  # one sentence, from the docstring
    fix: str = ""  # what the vendor changes to meet it, in one or two imperative sentences

    @property
    def endpoint(self) -> str:
        """`METHOD /v1/path` of the endpoint the id starts with (its family declares it)."""
        from conformance.family import endpoints  # the families import this module
        return endpoints()[self.id.split(".", 1)[0]].title

    @property
    def family(self) -> str:
        return self.id.split(".")[1]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "family": self.family,
            "level": str(self.level),
            "feature": self.feature,
            "observes": self.observes,
            "operation": self.operation,
            "spec": self.spec,
            "source": self.source,
            "requirement": self.requirement,
            "fix": self.fix,
        }


REGISTRY: dict[str, Check] = {}
# (module, function name) -> check id: how a pytest node id is traced back to its check.
FUNCTIONS: dict[tuple[str, str], str] = {}
F = TypeVar("F", bound=Callable[..., Any])


def check(
    id: str,
    *,
    level: Level,
    feature: str = "core",
    observes: str,
    operation: str,
    spec: str,
    source: str,
    fix: str,
) -> Callable[[F], F]:
    """Declare a test function as a conformance check (its docstring is the requirement).

    `observes` names the subject the check judges ("a streamed function call"): a check that
    returns without having called `observe()` on it ends `inconclusive`, never `pass`.
    `fix` tells the gateway vendor what to change when the check fails ("Send `data: [DONE]`
    as the last event of every chat stream."): the reports show it beside the verdict.
    """

    def decorate(fn: F) -> F:
        if not _ID.match(id):
            raise ValueError(f"check id {id!r} is not a slug like 'chat.stream.done-sentinel'")
        if id in REGISTRY and REGISTRY[id].requirement != _requirement(fn):
            raise ValueError(f"duplicate check id {id!r}")
        if feature not in FEATURES:
            raise ValueError(f"check {id!r}: unknown feature {feature!r} (see features.py)")
        if not observes.strip():
            raise ValueError(f"check {id!r} must say what it observes")
        if not fix.strip():
            raise ValueError(f"check {id!r} must tell the vendor how to fix it")
        meta = Check(id, level, feature, observes, operation, spec, source, _requirement(fn),
                     fix.strip())
        REGISTRY[id] = meta
        FUNCTIONS[(fn.__module__, fn.__name__)] = id
        fn.conformance_check = meta  # type: ignore[attr-defined]
        return pytest.mark.conformance(id)(fn)

    return decorate


def _requirement(fn: Callable[..., Any]) -> str:
    doc = (fn.__doc__ or "").strip()
    if not doc:
        raise ValueError(f"check {fn.__name__} needs a docstring stating its requirement")
    return " ".join(doc.split())


# --- the running check: what it observed and recorded ----------------------------------------


@dataclass
class Running:
    """State of the check being run (one at a time per process)."""

    check: Check | None = None
    observed: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    # ids of the exchanges the check named as showing a defect it found (`shows=`), in order
    shown: list[str] = field(default_factory=list)


_RUNNING = Running()


def begin(meta: Check | None) -> None:
    """Start a check: nothing observed or recorded by an earlier check leaks into it."""
    global _RUNNING
    _RUNNING = Running(meta)


def finish() -> Running:
    """End the running check and hand over what it observed and recorded."""
    global _RUNNING
    done, _RUNNING = _RUNNING, Running()
    return done


def current() -> Check | None:
    """The metadata of the running check (None outside a check, e.g. in a unit test)."""
    return _RUNNING.check


def record(**details: Any) -> None:
    """Attach information to the running check's result (shown in the report, never a verdict)."""
    _RUNNING.details.update(details)


def observe(subject: str, count: int = 1) -> int:
    """Note that the check saw `count` instances of `subject` it is about to judge.

    A check passes only after observing its subject at least once; returns `count`.
    """
    if count > 0:
        _RUNNING.observed[subject] = _RUNNING.observed.get(subject, 0) + count
    return count


def _shows(exchange: Any) -> None:
    """Note the exchange (or decoded stream) that shows a defect the check found: the report
    lists it first among the check's exchanges."""
    if exchange is not None:
        exchange_id = getattr(exchange, "exchange", exchange).id
        if exchange_id not in _RUNNING.shown:
            _RUNNING.shown.append(exchange_id)


# --- verdicts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cause:
    """One defect of an exchange that every check reading it runs into (the gateway ignored
    `stream: true`, refused a valid request): the report groups the checks it failed or left
    unjudged under it, so that a vendor fixes one thing, not twenty.

    `text` names the defect in the same words for every check it affects (it is the group's
    key); `exchange` is the id of the exchange that shows it.
    """

    text: str
    exchange: str

    def as_dict(self) -> dict[str, str]:
        return {"text": self.text, "exchange": self.exchange}


class CheckFailed(AssertionError):
    """The requirement is violated: `fail` for a MUST check, `warn` for a SHOULD check."""

    def __init__(self, message: str, expected: Any = None, actual: Any = None,
                 root_cause: Cause | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.actual = actual
        self.root_cause = root_cause


class ShouldViolation(CheckFailed):
    """A SHOULD-level deviation found by a check of any level: always `warn`."""


class NotSupported(Exception):
    """The gateway cleanly declines the feature the check needs."""


class Inconclusive(Exception):
    """The exchange holds nothing to judge (the model wrote no stop string, no tool call, ...)."""

    def __init__(self, reason: str, root_cause: Cause | None = None) -> None:
        super().__init__(reason)
        self.root_cause = root_cause


class HarnessError(Exception):
    """The check could not judge: transport failure, a cut stream, a broken precondition.

    `cause` groups errors for the run's one-line summary: "auth", "rate-limit", "unreachable",
    "transport", or "harness".
    """

    def __init__(self, message: str, cause: str = "transport") -> None:
        super().__init__(message)
        self.cause = cause


def fail(message: str, *, expected: Any = None, actual: Any = None,
         root_cause: Cause | None = None, shows: Any = None) -> None:
    """The requirement is violated; `shows` names the exchange (or stream) that shows it, when
    the check read several (the default order: conformance.plugin `_evidence`)."""
    _shows(shows)
    raise CheckFailed(message, expected, actual, root_cause)


def expect(condition: object, message: str, *, expected: Any = None, actual: Any = None,
           root_cause: Cause | None = None, shows: Any = None) -> None:
    if not condition:
        fail(message, expected=expected, actual=actual, root_cause=root_cause, shows=shows)


def expect_equal(actual: Any, expected: Any, what: str) -> None:
    if actual != expected:
        raise CheckFailed(f"{what}: expected {expected!r}, got {actual!r}", expected, actual)


def warn(message: str, *, expected: Any = None, actual: Any = None, shows: Any = None) -> None:
    _shows(shows)
    raise ShouldViolation(message, expected, actual)


def not_supported(reason: str) -> None:
    raise NotSupported(reason)


def harness_error(reason: str) -> None:
    raise HarnessError(reason)


def inconclusive(reason: str, *, root_cause: Cause | None = None) -> NoReturn:
    """End the check `inconclusive`: the exchange gave nothing to judge (say what was missing,
    and, when it is a defect other checks of the exchange meet too, its `root_cause`)."""
    raise Inconclusive(reason, root_cause)


def require_observed(count: int, subject: str, reason: str) -> int:
    """Observe `count` instances of `subject`; none at all ends the check inconclusive."""
    if count <= 0:
        raise Inconclusive(reason)
    return observe(subject, count)


class Problems:
    """Collects every violation a check finds, then raises them together (never stop at one)."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str, *, shows: Any = None) -> None:
        _shows(shows)
        self.items.append(message)

    def expect(self, condition: object, message: str, *, shows: Any = None) -> None:
        if not condition:
            self.add(message, shows=shows)

    def raise_if_any(self, summary: str, *, expected: Any = None,
                     root_cause: Cause | None = None) -> None:
        if self.items:
            shown = self.items[:20]
            more = f" (and {len(self.items) - 20} more)" if len(self.items) > 20 else ""
            raise CheckFailed(f"{summary}: {len(self.items)} problem(s){more}", expected, shown,
                              root_cause)
