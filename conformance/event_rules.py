"""The shared core of the streaming event-order engines, whatever the API family.

An engine judges one recorded stream: the parsed JSON payloads in arrival order (the raw data
string where an event is not JSON) and, when known, each event's SSE `event:` name. It reports
every violation of its family's rules, each naming the offending event by position with a few
lines of context, and a summary of what a client would have assembled from the stream.

A family's engine subclasses `EventValidator` with its rule table, its dispatch on event types
and its summary. This core judges three rules itself, on every event, so each family's table
defines their slugs at the level that family's clients need: `event-type-present`,
`sse-event-name-present` and `sse-event-name-matches-type`.

Defects that tend to repeat on every event (a missing SSE name, an untyped payload) are tallied
and reported once with a count: one root cause should give one line in a report, not thirty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from conformance.shapes import is_int

MUST = "MUST"
SHOULD = "SHOULD"

# Rule slug -> (level, the requirement in one sentence).
RuleTable = Mapping[str, tuple[str, str]]

EVENT_TYPE_PRESENT = "event-type-present"
SSE_NAME_PRESENT = "sse-event-name-present"
SSE_NAME_MATCHES = "sse-event-name-matches-type"
CORE_RULES = (EVENT_TYPE_PRESENT, SSE_NAME_PRESENT, SSE_NAME_MATCHES)


@dataclass(frozen=True)
class Violation:
    rule: str
    level: str
    index: int  # position of the event in the stream; len(stream) for "at the end"
    sequence_number: int | None  # the event's own number, where the API numbers its events
    message: str
    context: tuple[str, ...]


# ---------------------------------------------------------------------------------------------
# Small typed accessors: streams under test may carry anything, an engine must never crash.
# ---------------------------------------------------------------------------------------------


def as_int(value: Any) -> int | None:
    return value if is_int(value) else None


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def as_map(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def payload_type(event: Any) -> str | None:
    """The string `type` of an event payload, None when it has none."""
    payload = as_map(event)
    return as_str(payload.get("type")) if payload is not None else None


def type_label(payload: Mapping[str, Any]) -> str:
    """The payload's `type` for a context line, or the keys it has instead."""
    return as_str(payload.get("type")) or f"<no type, keys={sorted(payload)[:4]}>"


def non_object_line(index: int, event: Any) -> str:
    """The context line of a payload that is not a JSON object."""
    return f"#{index} <non-object payload: {clip(repr(event), 40)}>"


def clip(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def divergence(first: Any, second: Any, window: int = 16) -> str:
    """Where two texts part ways, since clipped previews of long texts often look identical."""
    if not (isinstance(first, str) and isinstance(second, str)):
        return ""
    at = next((i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b),
              min(len(first), len(second)))
    start = max(0, at - window)
    return (f" (they differ from character {at}: {first[start:at + window]!r} vs "
            f"{second[start:at + window]!r}; lengths {len(first)} vs {len(second)})")


def check_rule_table(rules: RuleTable, required: Sequence[str]) -> list[str]:
    """What is wrong with a rule table: missing slugs, unknown levels, malformed entries."""
    problems = [f"no rule {slug!r}" for slug in required if slug not in rules]
    for slug, (level, sentence) in rules.items():
        if level not in (MUST, SHOULD):
            problems.append(f"{slug!r} has level {level!r}")
        if slug != slug.lower() or " " in slug:
            problems.append(f"{slug!r} is not a lower-case slug")
        if not sentence.endswith("."):
            problems.append(f"{slug!r} does not end in a full stop")
    return problems


# ---------------------------------------------------------------------------------------------
# The validator machinery
# ---------------------------------------------------------------------------------------------


@dataclass
class _Tally:
    index: int
    message: str
    count: int = 1


SummaryT = TypeVar("SummaryT")


class EventValidator(Generic[SummaryT]):
    """One pass over one stream: `run()` returns the violations (by position) and a summary.

    Subclasses set `rules` and `tallied_rules` and implement `dispatch` and `summary`; they
    may judge the stream as a whole in `start` and `finish`, and replace `visit` when every
    event needs more than the core's checks (a sequence number, say).
    """

    rules: ClassVar[RuleTable]
    tallied_rules: ClassVar[tuple[str, ...]] = CORE_RULES

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A table defect would otherwise show only mid-run, or as a muddled report.
        problems = check_rule_table(cls.rules, (*CORE_RULES, *cls.tallied_rules))
        if problems:
            raise TypeError(f"{cls.__name__}.rules: {'; '.join(problems)}")

    def __init__(self, events: Sequence[Any], sse_names: Sequence[str | None] | None) -> None:
        self.events = list(events)
        self.sse_names = list(sse_names) if sse_names is not None else None
        self.violations: list[Violation] = []
        self.reported: set[tuple[Any, ...]] = set()
        self.tallies: dict[str, _Tally] = {}

    # -- naming and reporting ---------------------------------------------------------------------

    def sequence_number(self, event: Any) -> int | None:
        """The event's own number, for families whose events carry one."""
        return None

    def name(self, index: int) -> str:
        if index >= len(self.events):
            return "the end of the stream"
        return f"event #{index} ({payload_type(self.events[index]) or 'untyped'})"

    def describe(self, index: int, event: Any) -> str:
        """One line of context for an event; families add the fields their readers need."""
        payload = as_map(event)
        if payload is None:
            return non_object_line(index, event)
        return f"#{index} {type_label(payload)}"

    def context(self, index: int) -> tuple[str, ...]:
        start, stop = max(0, index - 2), min(len(self.events), index + 3)
        return tuple(self.describe(i, self.events[i]) for i in range(start, stop))

    def report(self, rule: str, index: int, message: str, key: Any = None) -> None:
        """Record a violation; with `key`, only the first one per (rule, key) counts."""
        if key is not None:
            if (rule, key) in self.reported:
                return
            self.reported.add((rule, key))
        seq = self.sequence_number(self.events[index]) if index < len(self.events) else None
        level = self.rules[rule][0]
        self.violations.append(Violation(rule, level, index, seq, message, self.context(index)))

    def tally(self, rule: str, index: int, message: str) -> None:
        """Count a uniform defect; `finish` reports it once, at its first event."""
        if rule in self.tallies:
            self.tallies[rule].count += 1
        else:
            self.tallies[rule] = _Tally(index, message)

    def flush_tallies(self) -> None:
        for rule in self.tallied_rules:
            tally = self.tallies.get(rule)
            if tally is None:
                continue
            suffix = f" ({tally.count} events affected in total)" if tally.count > 1 else ""
            self.report(rule, tally.index, tally.message + suffix)

    # -- the pass ---------------------------------------------------------------------------------

    def run(self) -> tuple[list[Violation], SummaryT]:
        self.start()
        for index, event in enumerate(self.events):
            self.visit(index, event)
        self.finish()
        self.violations.sort(key=lambda v: v.index)
        return self.violations, self.summary()

    def start(self) -> None:
        """Judge the stream's opening before the events are visited one by one."""

    def visit(self, index: int, event: Any) -> None:
        event_type = self.typed(index, event)
        if event_type is not None:
            self.check_sse_name(index, event_type)
            self.dispatch(index, event, event_type)

    def dispatch(self, index: int, event: Mapping[str, Any], event_type: str) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Judge what the end of the stream shows; subclasses call this last."""
        self.flush_tallies()

    def summary(self) -> SummaryT:
        raise NotImplementedError

    # -- the core's rules -------------------------------------------------------------------------

    def typed(self, index: int, event: Any) -> str | None:
        """The event's `type`; an event without one goes to `on_untyped` and is not dispatched."""
        event_type = payload_type(event)
        if event_type is None:
            self.on_untyped(index, event)
        return event_type

    def on_untyped(self, index: int, event: Any) -> None:
        self.tally(
            EVENT_TYPE_PRESENT,
            index,
            f"Event #{index} has no string `type`; every stream payload must be a "
            "typed event object.",
        )

    def check_sse_name(self, index: int, event_type: str) -> None:
        if self.sse_names is None:
            return
        name = self.sse_names[index] if index < len(self.sse_names) else None
        if name is None:
            self.tally(
                SSE_NAME_PRESENT,
                index,
                f"{self.name(index)} arrived without an SSE `event:` line.",
            )
        elif name != event_type:
            self.tally(
                SSE_NAME_MATCHES,
                index,
                f"{self.name(index)} arrived with SSE `event: {name}`, which differs from "
                "its JSON `type`.",
            )
