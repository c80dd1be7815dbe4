"""Responses: `max_output_tokens` and the `incomplete` status of a cut answer."""

from __future__ import annotations

import pytest

from conformance.check import Level, Problems, check, expect
from conformance.checks.responses import (
    CUT_OUTPUT_TOKENS,
    OP_CREATE,
    SOURCE_DOCS,
    JudgedStream,
    judge_rules,
    output_items,
    require_stream_answer,
    spec,
)
from conformance.http import Exchange
from conformance.preconditions import require_object
from conformance.shapes import describe, member, object_member
from conformance.streams import ResponsesStream

SOURCE = (f"{SOURCE_DOCS} `max_output_tokens` (an upper bound for visible output and "
          "reasoning tokens) and `incomplete_details`; Open Responses (incomplete items)")


def _answers(cut: Exchange, cut_stream: ResponsesStream) -> dict[str, dict]:
    """The cut answer, non-streamed and as the streamed terminal response."""
    answers = {"non-stream": require_object(cut)}
    require_stream_answer(cut_stream)
    if cut_stream.terminal_response is not None:
        answers["stream terminal event"] = cut_stream.terminal_response
    return answers


def _require_cut(answers: dict[str, dict]) -> None:
    """The requirement is about cut answers: an answer that fit cannot be judged."""
    statuses = {where: a.get("status") for where, a in answers.items()}
    output_tokens = member(object_member(answers["non-stream"], "usage"), "output_tokens")
    within = not isinstance(output_tokens, (int, float)) or output_tokens <= CUT_OUTPUT_TOKENS
    if all(s == "completed" for s in statuses.values()) and within:
        pytest.skip(f"the answer fit in {CUT_OUTPUT_TOKENS} output tokens, so no cut answer "
                    "could be observed")


@check("responses.incomplete.max-output-tokens", level=Level.MUST, operation=OP_CREATE,
       spec=f"{spec('CreateResponseRequest')}/properties/max_output_tokens", source=SOURCE)
def test_max_output_tokens(responses_cut: Exchange,
                           responses_cut_stream: ResponsesStream) -> None:
    """With `max_output_tokens` set, `usage.output_tokens` (visible plus reasoning tokens) MUST NOT exceed it, streamed or not."""
    problems = Problems()
    for where, answer in _answers(responses_cut, responses_cut_stream).items():
        usage = answer.get("usage")
        output = member(usage, "output_tokens")
        if not isinstance(usage, dict):
            problems.add(f"{where}: usage is {describe(usage)}; the limit cannot be verified "
                         "without usage.output_tokens")
        elif not isinstance(output, int):
            problems.add(f"{where}: usage.output_tokens is {output!r}; the limit cannot be "
                         "verified without it")
        elif output > CUT_OUTPUT_TOKENS:
            problems.add(f"{where}: output_tokens {output} > max_output_tokens "
                         f"{CUT_OUTPUT_TOKENS} (status {answer.get('status')!r})")
    problems.raise_if_any("max_output_tokens was not honoured",
                          expected=f"output_tokens <= {CUT_OUTPUT_TOKENS}")


@check("responses.incomplete.details", level=Level.MUST, operation=OP_CREATE,
       spec=f"{spec('Response')}/properties/incomplete_details", source=SOURCE)
def test_details(responses_cut: Exchange, responses_cut_stream: ResponsesStream,
                 judged_streams: list[JudgedStream]) -> None:
    """An answer cut by `max_output_tokens` MUST have `status: "incomplete"` and `incomplete_details.reason: "max_output_tokens"`, streamed (`response.incomplete`) or not."""
    answers = _answers(responses_cut, responses_cut_stream)
    _require_cut(answers)
    problems = Problems()
    for where, answer in answers.items():
        problems.expect(answer.get("status") == "incomplete",
                        f"{where}: status is {answer.get('status')!r}, expected 'incomplete'")
        details = answer.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        problems.expect(reason == "max_output_tokens",
                        f"{where}: incomplete_details is {details!r}, expected "
                        "{'reason': 'max_output_tokens'}")
    terminal = responses_cut_stream.terminal or {}
    problems.expect(terminal.get("type") in (None, "response.incomplete"),
                    f"stream: the terminal event is {terminal.get('type')!r}, expected "
                    "'response.incomplete'")
    problems.raise_if_any("the cut answer is not reported as incomplete",
                          expected={"status": "incomplete",
                                    "incomplete_details": {"reason": "max_output_tokens"}})
    judge_rules(judged_streams, "responses.incomplete.details",
                "a response.incomplete event lacks incomplete_details.reason")


@check("responses.incomplete.item-status", level=Level.MUST, operation=OP_CREATE,
       spec=f"{spec('OutputMessage')}/properties/status", source=SOURCE)
def test_item_status(responses_cut: Exchange, responses_cut_stream: ResponsesStream) -> None:
    """The message item of an answer cut by `max_output_tokens` MUST have `status: "incomplete"`, not `completed`."""
    answers = _answers(responses_cut, responses_cut_stream)
    _require_cut(answers)
    problems = Problems()
    for where, answer in answers.items():
        items = output_items(answer, "message") + output_items(answer, "function_call")
        if not items:
            continue  # a cut during reasoning leaves no message; nothing to judge here
        last = items[-1]
        problems.expect(last.get("status") == "incomplete",
                        f"{where}: the last {last.get('type')} item {last.get('id')!r} has "
                        f"status {last.get('status')!r}, expected 'incomplete' (its text was "
                        "cut by max_output_tokens)")
    expect(any(output_items(a, "message") or output_items(a, "function_call")
               for a in answers.values()),
           "the cut answer has no message item at all", actual=answers["non-stream"].get("output"))
    problems.raise_if_any("the cut answer's item is not marked incomplete",
                          expected={"status": "incomplete"})
