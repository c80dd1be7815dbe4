"""Every rule of each family's event-order engine is judged by exactly one check."""

from __future__ import annotations

from collections import Counter

import pytest

from conformance.apis.anthropic.checks import BOOK as MESSAGES
from conformance.apis.openai.checks.responses import BOOK as RESPONSES
from conformance.check import Level
from conformance.event_rules import MUST
from conformance.family import load_checks
from conformance.stream_rules import RuleBook

BOOKS = pytest.mark.parametrize("book", [RESPONSES, MESSAGES], ids=["responses", "messages"])


@BOOKS
def test_every_rule_belongs_to_exactly_one_check(book: RuleBook) -> None:
    owners = Counter(rule for rules in book.checks.values() for rule in rules)
    assert sorted(set(book.rules) - set(owners)) == [], "rules no check judges"
    assert {rule: n for rule, n in owners.items() if n > 1} == {}, "rules judged twice"
    assert sorted(set(owners) - set(book.rules)) == [], "mapped slugs the engine does not know"


@BOOKS
def test_rule_checks_are_registered_checks(book: RuleBook) -> None:
    assert sorted(set(book.checks) - set(load_checks())) == []


@BOOKS
def test_should_checks_own_no_must_rule(book: RuleBook) -> None:
    """A SHOULD check can only warn, so a MUST rule under it would never fail a run."""
    checks = load_checks()
    misplaced = {check_id: sorted(r for r in rules if book.rules[r][0] == MUST)
                 for check_id, rules in book.checks.items()
                 if check_id in checks and checks[check_id].level == Level.SHOULD}
    assert {k: v for k, v in misplaced.items() if v} == {}


@BOOKS
def test_every_rule_group_names_its_subject(book: RuleBook) -> None:
    """A rule group passes only on streams that hold what its rules are about."""
    assert sorted(book.subjects) == sorted(book.checks)
