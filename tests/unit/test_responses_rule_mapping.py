"""Every rule of the Responses event-order engine is judged by exactly one check."""

from __future__ import annotations

from collections import Counter

from conformance.apis.openai.checks.responses import RULE_CHECKS, RULE_SUBJECTS
from conformance.check import Level
from conformance.cli import load_checks
from conformance.event_order import MUST, RULES


def test_every_rule_belongs_to_exactly_one_check() -> None:
    owners = Counter(rule for rules in RULE_CHECKS.values() for rule in rules)
    assert sorted(set(RULES) - set(owners)) == [], "rules no check judges"
    assert {rule: n for rule, n in owners.items() if n > 1} == {}, "rules judged twice"
    assert sorted(set(owners) - set(RULES)) == [], "mapped slugs the engine does not know"


def test_rule_checks_are_registered_checks() -> None:
    checks = load_checks()
    assert sorted(set(RULE_CHECKS) - set(checks)) == []


def test_should_checks_own_no_must_rule() -> None:
    """A SHOULD check can only warn, so a MUST rule under it would never fail a run."""
    checks = load_checks()
    misplaced = {check_id: sorted(r for r in rules if RULES[r][0] == MUST)
                 for check_id, rules in RULE_CHECKS.items()
                 if checks[check_id].level == Level.SHOULD}
    assert {k: v for k, v in misplaced.items() if v} == {}


def test_every_rule_group_names_its_subject() -> None:
    """A rule group passes only on streams that hold what its rules are about."""
    assert sorted(RULE_SUBJECTS) == sorted(RULE_CHECKS)
