"""The stop-sequence experiment shared by the Chat and Messages checks."""

from __future__ import annotations

from conformance.stop_words import LEAKED, STOPPED, plan_stop

REFERENCE = "An API gateway routes requests between clients and backend services."


def test_the_stop_word_is_a_word_near_the_middle_found_after_the_start() -> None:
    plan = plan_stop(REFERENCE)
    assert plan is not None and plan.stop == "between"
    assert plan.prefix == "An API gateway routes requests "


def test_no_text_or_no_later_word_gives_no_plan() -> None:
    assert plan_stop(None) is None
    assert plan_stop("") is None
    assert plan_stop("Hi") is None  # no word of three letters


def test_an_answer_shows_a_leak_a_stop_or_nothing() -> None:
    plan = plan_stop(REFERENCE)
    assert plan is not None
    assert plan.outcome("An API gateway routes requests") == STOPPED  # trailing space aside
    assert plan.outcome(REFERENCE) == LEAKED
    assert plan.outcome("An API gateway routes requests between") == LEAKED  # row 14's leak
    assert plan.outcome("Something else entirely.") is None
    assert plan.outcome(None) is None
    assert "offset 31" in plan.leak(REFERENCE, "streamed")
