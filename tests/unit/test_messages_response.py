"""The Messages stop-reason and empty-content judgements on hand-built answers: what usage
proves, never what the text says."""

from __future__ import annotations

from conformance.apis.anthropic.checks.response import _judge_content, _judge_stop_reason
from conformance.check import Problems


def _answer(stop_reason: str, output_tokens: int, text: str = "An API gateway",
            stop_sequence: str | None = None) -> dict:
    content = [{"type": "text", "text": text}] if text is not None else []
    return {"content": content, "stop_reason": stop_reason, "stop_sequence": stop_sequence,
            "usage": {"input_tokens": 9, "output_tokens": output_tokens}}


def _stop_reason_problems(answer: dict, cap: int) -> tuple[bool, list[str]]:
    problems = Problems()
    reached = _judge_stop_reason(answer, cap, "answer", problems)
    return reached, problems.items


def test_an_answer_that_reached_the_cap_must_say_max_tokens() -> None:
    assert _stop_reason_problems(_answer("max_tokens", 5), 5) == (True, [])
    reached, problems = _stop_reason_problems(_answer("end_turn", 5), 5)
    assert reached and "reached max_tokens 5" in problems[0]


def test_a_cut_claimed_below_the_cap_is_a_problem_too() -> None:
    reached, problems = _stop_reason_problems(_answer("max_tokens", 3), 5)
    assert not reached and "below max_tokens 5" in problems[0]


def test_a_natural_end_needs_no_stop_sequence_and_a_documented_reason() -> None:
    assert _stop_reason_problems(_answer("end_turn", 3), 64) == (False, [])
    assert _stop_reason_problems(_answer("refusal", 3), 64) == (False, [])
    _, problems = _stop_reason_problems(_answer("end_turn", 3, stop_sequence="gateway"), 64)
    assert "stop_sequence is" in problems[0]
    _, problems = _stop_reason_problems(_answer("length", 5), 5)
    assert "is not one of" in problems[0]


def _content_problems(answer: dict, twin: dict | None) -> tuple[bool, list[str]]:
    problems = Problems()
    judged = _judge_content(answer, twin, "answer", problems)
    return judged, problems.items


def test_empty_content_fails_only_with_proof_the_model_wrote() -> None:
    written = _answer("end_turn", 12)
    lost = _answer("end_turn", 12, text=None)  # LiteLLM#27492: content [] with output billed
    judged, problems = _content_problems(lost, written)
    assert judged and "other mode delivered" in problems[0]
    judged, problems = _content_problems(_answer("max_tokens", 5, text=""), None)  # sibling
    assert judged and "cut at max_tokens" in problems[0]
    # An empty reply the model may really have written costs tokens too: nothing to judge.
    assert _content_problems(lost, None) == (False, [])
    assert _content_problems(written, None) == (True, [])
