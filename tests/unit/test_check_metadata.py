"""Every check's metadata is complete and says what its body does."""

from __future__ import annotations

import re

import pytest

from conformance.check import Level
from conformance.family import load_checks
from conformance.features import FEATURES

CHECKS = load_checks()
KEYWORD = re.compile(r"\b(MUST|SHOULD)\b")


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_the_requirement_keyword_matches_the_level(check_id: str) -> None:
    """The first RFC 2119 keyword of the requirement sentence is the check's level."""
    check = CHECKS[check_id]
    first = KEYWORD.search(check.requirement)
    assert first is not None, f"{check_id}: no MUST/SHOULD in {check.requirement!r}"
    assert first.group(1) == check.level, f"{check_id} is {check.level}: {check.requirement}"


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_every_check_says_what_it_observes(check_id: str) -> None:
    check = CHECKS[check_id]
    assert check.observes.strip(), f"{check_id} does not say what it must observe"
    assert check.feature in FEATURES


def test_levels_are_rfc_2119_levels() -> None:
    assert {c.level for c in CHECKS.values()} <= set(Level)
