"""Unit tests for the family-agnostic core of the event-order engines.

The engines on top of it are tested through their own rules (test_event_order.py for
Responses, test_messages_event_order.py for Messages); this file covers what only the core does.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.event_rules import (
    CORE_RULES,
    MUST,
    SHOULD,
    EventValidator,
    check_rule_table,
)

CORE_TABLE = {slug: (MUST, "A core rule.") for slug in CORE_RULES}
ONE_RULE = {"only-rule": (MUST, "One rule.")}


class _Types(EventValidator[list[str]]):
    """A minimal family: it accepts every typed event and sums up their types."""

    rules = CORE_TABLE | {"never-two": (SHOULD, "No type comes twice in a row.")}

    def __init__(self, events: list[Any], sse_names: list[str | None] | None) -> None:
        super().__init__(events, sse_names)
        self.types: list[str] = []

    def dispatch(self, index: int, event: Any, event_type: str) -> None:
        if self.types and self.types[-1] == event_type:
            self.report("never-two", index, f"{self.name(index)} repeats.", key=event_type)
        self.types.append(event_type)

    def summary(self) -> list[str]:
        return self.types


def test_check_rule_table_names_each_problem() -> None:
    table = {"event-type-present": ("MAY", "No full stop"), "Bad Slug": (MUST, "Fine.")}
    assert check_rule_table(table, CORE_RULES) == [
        "no rule 'sse-event-name-present'",
        "no rule 'sse-event-name-matches-type'",
        "'event-type-present' has level 'MAY'",
        "'event-type-present' does not end in a full stop",
        "'Bad Slug' is not a lower-case slug",
    ]


def test_a_family_without_the_core_rules_is_refused_at_definition() -> None:
    with pytest.raises(TypeError, match="no rule 'event-type-present'"):

        class _Broken(EventValidator[None]):
            rules = ONE_RULE


def test_run_dispatches_typed_events_and_tallies_the_rest() -> None:
    events = [{"type": "a"}, {"type": "a"}, {"type": "a"}, "junk", {"no": "type"}]
    names = ["a", "a", None, None, None]
    violations, summary = _Types(events, names).run()
    assert summary == ["a", "a", "a"]
    assert [(v.rule, v.index) for v in violations] == [
        ("never-two", 1),
        ("sse-event-name-present", 2),
        ("event-type-present", 3),
    ]
    assert violations[-1].message.endswith("(2 events affected in total)")
    assert violations[0].context[0] == "#0 a"
    assert violations[-1].context[-1] == "#4 <no type, keys=['no']>"
