"""The logprobs rules on hand-built entries: what no fault of the reference gateway shows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance import check as check_model
from conformance.apis.openai.checks.chat.logprobs import (
    Tokens,
    entry_problems,
    judge,
)
from conformance.apis.openai.checks.chat.usage import answer_tokens
from conformance.check import CheckFailed, Problems, ShouldViolation


def entry(token: str, logprob: float = -0.5, raw: list[int] | None = None,
          top: int = 2) -> dict:
    alternative = {"token": token, "logprob": logprob, "bytes": list(token.encode())}
    return {"token": token, "logprob": logprob,
            "bytes": list(token.encode()) if raw is None else raw,
            "top_logprobs": [alternative] * top}


@pytest.fixture(autouse=True)
def running() -> Iterator[None]:
    yield
    check_model.finish()


def test_a_well_formed_entry_has_no_problem() -> None:
    assert entry_problems(entry(" café")) == []


@pytest.mark.parametrize(("bad", "found"), [
    (entry(" the", logprob=0.3), "0.3"),  # a probability above 1
    (entry(" the", raw=list(b" a")), "not the UTF-8 of token"),
    (entry(" the", raw=[32, 300]), "300"),
    (entry(" the", top=3), "more than the 2 requested"),
    ({"token": " the", "logprob": -1.0, "bytes": None}, "top_logprobs"),
])
def test_a_misshapen_entry_is_named(bad: dict, found: str) -> None:
    assert any(found in problem for problem in entry_problems(bad))


def test_bytes_of_part_of_a_character_need_not_match_their_stand_in_token() -> None:
    # "é" is 0xC3 0xA9: a token holding only its first byte cannot be a string of its own.
    assert entry_problems(entry("\\xc3", raw=[0xC3])) == []


def test_the_tokens_must_spell_the_text_and_match_the_usage_count() -> None:
    halves = [entry("\\xc3", raw=[0xC3]), entry("\\xa9", raw=[0xA9])]
    judge({"choices[0]": Tokens("é", [("e", e) for e in halves])}, 2, "usage", Problems())
    with pytest.raises(CheckFailed) as raised:
        judge({"choices[0]": Tokens("é!", [("e", e) for e in halves])}, 3, "usage", Problems())
    assert len(raised.value.actual) == 2  # the text and the count


def test_fewer_alternatives_everywhere_reads_as_top_logprobs_ignored() -> None:
    with pytest.raises(ShouldViolation):
        judge({"choice 0": Tokens("a", [("e", entry("a", top=0))])}, 1, "usage", Problems())
    judge({"choice 0": Tokens("ab", [("e", entry("a", top=1)), ("e", entry("b"))])}, 2, "usage",
          Problems())


def test_reasoning_tokens_carry_no_logprobs() -> None:
    assert answer_tokens({"completion_tokens": 30,
                          "completion_tokens_details": {"reasoning_tokens": 12}}) == 18
    assert answer_tokens({"completion_tokens": "30"}) is None
