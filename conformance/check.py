"""The check model: metadata every check carries, the outcomes, and how a check reports a verdict.

A check is a pytest test function decorated with @check. Its body raises one of the exceptions
below (through the helpers) to say how the gateway fell short; returning normally is a pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import pytest


class Level(StrEnum):
    MUST = "MUST"
    SHOULD = "SHOULD"


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"  # a MUST requirement is violated
    WARN = "warn"  # a SHOULD requirement is violated: still conformant
    NOT_SUPPORTED = "not_supported"  # the gateway cleanly declines an optional feature
    ERROR = "error"  # transport or harness problem: never counted as a pass
    SKIPPED = "skipped"  # not run (deselected, or a precondition of the run is missing)


ENDPOINTS = {
    "chat": "POST /v1/chat/completions",
    "responses": "POST /v1/responses",
    "models": "GET /v1/models",
}
_ID = re.compile(r"^[a-z]+(\.[a-z0-9]+(-[a-z0-9]+)*){2,}$")


@dataclass(frozen=True)
class Check:
    id: str  # stable slug: <endpoint>.<family>.<name>
    level: Level
    feature: str  # what the gateway must offer for the check to apply ("core" for everyone)
    operation: str  # OpenAPI operationId
    spec: str  # pointer into openapi/, e.g. "openapi/chat.yaml#/components/schemas/Model"
    source: str  # where the requirement is stated: official docs, seed file
    requirement: str  # one sentence, from the docstring

    @property
    def endpoint(self) -> str:
        return ENDPOINTS[self.id.split(".", 1)[0]]

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
            "operation": self.operation,
            "spec": self.spec,
            "source": self.source,
            "requirement": self.requirement,
        }


REGISTRY: dict[str, Check] = {}
F = TypeVar("F", bound=Callable[..., Any])


def check(
    id: str,
    *,
    level: Level,
    feature: str = "core",
    operation: str,
    spec: str,
    source: str,
) -> Callable[[F], F]:
    """Declare a test function as a conformance check (its docstring is the requirement)."""

    def decorate(fn: F) -> F:
        if not _ID.match(id):
            raise ValueError(f"check id {id!r} is not a slug like 'chat.stream.done-sentinel'")
        if id in REGISTRY and REGISTRY[id].requirement != _requirement(fn):
            raise ValueError(f"duplicate check id {id!r}")
        meta = Check(id, level, feature, operation, spec, source, _requirement(fn))
        REGISTRY[id] = meta
        fn.conformance_check = meta  # type: ignore[attr-defined]
        return pytest.mark.conformance(id)(fn)

    return decorate


def _requirement(fn: Callable[..., Any]) -> str:
    doc = (fn.__doc__ or "").strip()
    if not doc:
        raise ValueError(f"check {fn.__name__} needs a docstring stating its requirement")
    return " ".join(doc.split())


# --- details a check records for the report (seeds, counts, what it sent) ---------------------

_DETAILS: dict[str, Any] = {}


def record(**details: Any) -> None:
    """Attach information to the running check's result (shown in the report, never a verdict)."""
    _DETAILS.update(details)


def take_details() -> dict[str, Any]:
    """The details recorded since the last call (the plugin calls this once per check)."""
    taken = dict(_DETAILS)
    _DETAILS.clear()
    return taken


# --- verdicts -------------------------------------------------------------------------------


class CheckFailed(AssertionError):
    """The requirement is violated: `fail` for a MUST check, `warn` for a SHOULD check."""

    def __init__(self, message: str, expected: Any = None, actual: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.actual = actual


class ShouldViolation(CheckFailed):
    """A SHOULD-level deviation found by a check of any level: always `warn`."""


class NotSupported(Exception):
    """The gateway cleanly declines the feature the check needs."""


class HarnessError(Exception):
    """The check could not judge: transport failure, a cut stream, a broken precondition."""


def fail(message: str, *, expected: Any = None, actual: Any = None) -> None:
    raise CheckFailed(message, expected, actual)


def expect(condition: object, message: str, *, expected: Any = None, actual: Any = None) -> None:
    if not condition:
        raise CheckFailed(message, expected, actual)


def expect_equal(actual: Any, expected: Any, what: str) -> None:
    if actual != expected:
        raise CheckFailed(f"{what}: expected {expected!r}, got {actual!r}", expected, actual)


def warn(message: str, *, expected: Any = None, actual: Any = None) -> None:
    raise ShouldViolation(message, expected, actual)


def not_supported(reason: str) -> None:
    raise NotSupported(reason)


def harness_error(reason: str) -> None:
    raise HarnessError(reason)


class Problems:
    """Collects every violation a check finds, then raises them together (never stop at one)."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def expect(self, condition: object, message: str) -> None:
        if not condition:
            self.add(message)

    def raise_if_any(self, summary: str, *, expected: Any = None) -> None:
        if self.items:
            shown = self.items[:20]
            more = f" (and {len(self.items) - 20} more)" if len(self.items) > 20 else ""
            raise CheckFailed(f"{summary}: {len(self.items)} problem(s){more}", expected, shown)
