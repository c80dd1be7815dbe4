"""Every check's metadata is complete and says what its body does."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

import pytest

from conformance.check import Level, check
from conformance.family import load_checks
from conformance.features import FEATURES

CHECKS = load_checks()
KEYWORD = re.compile(r"\b(MUST|SHOULD)\b")
# The end of a sentence: a full stop (or ;) before a capital, a code span or the end.
SENTENCE_END = re.compile(r"[.;!?](?=\s+[A-Z`]|$)")
# Above this likeness to the requirement, a fix only says the requirement again.
RESTATED = 0.75


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


def restates(fix: str, requirement: str) -> bool:
    """A fix that says the requirement again (reworded or not) tells the vendor nothing new."""
    return SequenceMatcher(None, fix.lower(), requirement.lower()).ratio() >= RESTATED


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_every_check_says_how_to_fix_it(check_id: str) -> None:
    """An instruction to the vendor in one or two sentences, not the requirement once more."""
    check = CHECKS[check_id]
    assert check.fix.strip(), f"{check_id} does not say how to fix it"
    assert not KEYWORD.search(check.fix), f"{check_id}: a fix is an instruction: {check.fix}"
    assert len(SENTENCE_END.findall(check.fix)) <= 2, f"{check_id}: too long: {check.fix}"
    assert not restates(check.fix, check.requirement), f"{check_id} restates: {check.fix}"


def test_a_reworded_requirement_is_not_a_fix() -> None:
    requirement = "A streamed completion MUST be sent with `Content-Type: text/event-stream`."
    assert restates("Streamed completions must be sent with `Content-Type: "
                    "text/event-stream`.", requirement)
    assert restates("Make sure a streamed completion is sent with a `Content-Type: "
                    "text/event-stream` header.", requirement)
    assert not restates(CHECKS["chat.stream.content-type"].fix, requirement)


def test_a_check_without_a_fix_is_refused() -> None:
    declare = check("chat.stream.example", level=Level.MUST, observes="a stream",
                    operation="createChatCompletion", spec="openapi/chat.yaml#/", source="unit",
                    fix=" ")
    with pytest.raises(ValueError, match="how to fix"):
        declare(lambda: None)
