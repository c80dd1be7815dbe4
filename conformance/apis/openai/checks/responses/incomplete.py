"""Responses: `max_output_tokens` and the `incomplete` status of a cut answer.

Whether the cap must cut an answer is never guessed from the answer itself (an answer of exactly
`max_output_tokens` tokens may be complete, or cut): the cut request asks the same question as
the plain request, whose larger cap leaves the answer whole. When that reference answer took
more output tokens than the cap, the capped answer was cut, whatever the model wrote; when it
fit, nothing was cut and these checks are inconclusive.

A model need not answer the capped request as it answered the plain one (sampling, a
non-deterministic backend): a capped answer reported `completed` after fewer output tokens than
the cap ended on its own before the cap could cut it, so it proves nothing either way and is
left out (as chat.limits judges an answer that "ended on its own before the cap"). An answer AT
the cap, reported `completed` although the same input needs more, was cut all the same.
"""

from __future__ import annotations

from typing import Any

from conformance.apis.openai import usage
from conformance.apis.openai.checks.responses import (
    CUT_OUTPUT_TOKENS,
    MAX_OUTPUT_TOKENS,
    OP_CREATE,
    SOURCE_DOCS,
    chat_named,
    judge,
    judge_rules,
    output_items,
    spec,
    stream_terminal,
    stream_usable,
)
from conformance.apis.openai.streams import ResponsesStream
from conformance.check import (
    Level,
    Problems,
    check,
    inconclusive,
    observe,
    record,
    require_observed,
)
from conformance.http import Exchange
from conformance.preconditions import require_object
from conformance.shapes import describe, member, object_member

SOURCE = (f"{SOURCE_DOCS} `max_output_tokens` (an upper bound for visible output and "
          "reasoning tokens) and `incomplete_details`; Open Responses (incomplete items)")
CUT_LABEL = "max_output_tokens cut"


def _answers(cut: Exchange, cut_stream: ResponsesStream,
             plain_stream: ResponsesStream) -> dict[str, dict[str, Any]]:
    """The capped answer, non-streamed and as the streamed terminal response."""
    answers = {"non-stream": require_object(cut)}
    terminal = stream_terminal(cut_stream, plain_stream)
    if terminal is not None:
        answers["stream terminal event"] = terminal
    return answers


def _output_tokens(answer: Any) -> Any:
    return member(object_member(answer, "usage"), "output_tokens")


def _reference(plain: Exchange) -> int | None:
    """Output tokens of the same input under the larger cap (None: not reported)."""
    body = plain.json_or_none() if plain.status == 200 else None
    tokens = _output_tokens(body)
    record(reference_output_tokens=tokens, reference_max_output_tokens=MAX_OUTPUT_TOKENS,
           max_output_tokens=CUT_OUTPUT_TOKENS)
    return tokens if usage.is_count(tokens) else None


def _exercised(reference: int | None) -> bool:
    """The cap must cut the answer: uncapped, the same input took more tokens than it."""
    return reference is not None and reference > CUT_OUTPUT_TOKENS


def _not_exercised(reference: int | None) -> str:
    if reference is None:
        return ("the plain answer to the same input reports no usage.output_tokens, so "
                f"whether max_output_tokens {CUT_OUTPUT_TOKENS} cut the answer is unknown")
    return (f"the same input answered with max_output_tokens {MAX_OUTPUT_TOKENS} took "
            f"{reference} output tokens, within the cap of {CUT_OUTPUT_TOKENS}: nothing was cut")


def _ended_on_its_own(answer: dict[str, Any]) -> bool:
    """Reported `completed` after fewer output tokens than the cap: the model stopped before the
    cap could cut (it answered the capped request differently from the plain one)."""
    tokens = _output_tokens(answer)
    return (answer.get("status") == "completed" and usage.is_count(tokens)
            and tokens < CUT_OUTPUT_TOKENS)


def _naturally_short(answers: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Output tokens of each answer that ended on its own before the cap (recorded)."""
    short = {where: _output_tokens(answer) for where, answer in answers.items()
             if _ended_on_its_own(answer)}
    if short:
        record(ended_before_the_cap=short)
    return short


def _cut_answers(answers: dict[str, dict[str, Any]], reference: int | None
                 ) -> dict[str, dict[str, Any]]:
    """The answers the cap cut: reported `incomplete`, or held to the cap on an input that
    needs more. An answer longer than the cap was not cut (responses.incomplete.max-output-tokens
    judges it), nor was one reported `completed` before reaching the cap (it ended on its own)."""
    short = _naturally_short(answers)

    def cut(where: str, answer: dict[str, Any]) -> bool:
        tokens = _output_tokens(answer)
        over = usage.is_count(tokens) and tokens > CUT_OUTPUT_TOKENS
        return answer.get("status") == "incomplete" or (
            _exercised(reference) and not over and where not in short)
    return {where: answer for where, answer in answers.items() if cut(where, answer)}


def _ended_early(answers: dict[str, dict[str, Any]], reference: int | None) -> str:
    short = ", ".join(f"{where} after {tokens}" for where, tokens in
                      _naturally_short(answers).items())
    return (f"the capped answer ended on its own before max_output_tokens {CUT_OUTPUT_TOKENS} "
            f"could cut it ({short} output tokens, status 'completed'; the same input took "
            f"{reference} without this cap): the model answered differently, nothing was cut")


def _none_cut(answers: dict[str, dict[str, Any]], reference: int | None) -> str:
    """Why no capped answer was cut."""
    if not _exercised(reference):
        return _not_exercised(reference)
    if _naturally_short(answers):
        return _ended_early(answers, reference)
    return ("the capped answer went past the cap instead of being cut (see "
            "responses.incomplete.max-output-tokens)")


@check("responses.incomplete.max-output-tokens", level=Level.MUST, operation=OP_CREATE,
       observes="answers capped by max_output_tokens on an input that needs more tokens",
       spec=f"{spec('CreateResponseRequest')}/properties/max_output_tokens", source=SOURCE,
       fix="Forward `max_output_tokens` to the upstream as the cap on visible plus reasoning "
           "tokens, for streamed and unstreamed requests.")
def test_max_output_tokens(responses_plain: Exchange, responses_cut: Exchange,
                           responses_cut_stream: ResponsesStream,
                           responses_text_stream: ResponsesStream) -> None:
    """With `max_output_tokens` set, `usage.output_tokens` (visible plus reasoning tokens) MUST NOT exceed it, streamed or not."""
    answers = _answers(responses_cut, responses_cut_stream, responses_text_stream)
    problems = Problems()
    for where, answer in answers.items():
        found = answer.get("usage")
        output = member(found, "output_tokens")
        if chat_named(found):  # judged by responses.usage.field-names
            continue
        if not isinstance(found, dict):
            problems.add(f"{where}: usage is {describe(found)}; the limit cannot be verified "
                         "without usage.output_tokens")
        elif not isinstance(output, int):
            problems.add(f"{where}: usage.output_tokens is {output!r}; the limit cannot be "
                         "verified without it")
        elif output > CUT_OUTPUT_TOKENS:
            problems.add(f"{where}: output_tokens {output} > max_output_tokens "
                         f"{CUT_OUTPUT_TOKENS} (status {answer.get('status')!r})")
    problems.raise_if_any("max_output_tokens was not honoured",
                          expected=f"output_tokens <= {CUT_OUTPUT_TOKENS}")
    # Within the cap proves nothing when the answer would have fit anyway, nor when the model
    # ended it on its own before the cap: a gateway ignoring the cap gives the same answer.
    reference = _reference(responses_plain)
    if not _exercised(reference):
        inconclusive(_not_exercised(reference))
    readable = {where: a for where, a in answers.items() if not chat_named(a.get("usage"))}
    if not readable:
        inconclusive("usage uses the Chat names, so output_tokens cannot be read (see "
                     "responses.usage.field-names)")
    held = {where: a for where, a in readable.items() if not _ended_on_its_own(a)}
    require_observed(len(held), "answers held to max_output_tokens",
                     _ended_early(readable, reference))


@check("responses.incomplete.details", level=Level.MUST, operation=OP_CREATE,
       observes="answers cut by max_output_tokens",
       spec=f"{spec('Response')}/properties/incomplete_details", source=SOURCE,
       fix="Map the upstream's length stop (`finish_reason: \"length\"`, `stop_reason: "
           "\"max_tokens\"`) onto `status: \"incomplete\"` with `incomplete_details.reason: "
           "\"max_output_tokens\"`, and close such a stream with `response.incomplete`.")
def test_details(responses_plain: Exchange, responses_cut: Exchange,
                 responses_cut_stream: ResponsesStream,
                 responses_text_stream: ResponsesStream) -> None:
    """An answer cut by `max_output_tokens` MUST have `status: "incomplete"` and `incomplete_details.reason: "max_output_tokens"`, streamed (`response.incomplete`) or not."""
    answers = _answers(responses_cut, responses_cut_stream, responses_text_stream)
    reference = _reference(responses_plain)
    cut = _cut_answers(answers, reference)
    problems = Problems()
    for where, answer in cut.items():
        # Streamed, the event type says it (below); its response.status must agree with the
        # type, which responses.stream.terminal-status judges.
        problems.expect(where != "non-stream" or answer.get("status") == "incomplete",
                        f"{where}: status is {answer.get('status')!r}, expected 'incomplete' "
                        f"(output_tokens {_output_tokens(answer)!r}; the same input took "
                        f"{reference} without this cap)")
        details = answer.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        problems.expect(reason == "max_output_tokens",
                        f"{where}: incomplete_details is {details!r}, expected "
                        "{'reason': 'max_output_tokens'}")
    terminal = responses_cut_stream.terminal or {}
    if "stream terminal event" in cut:
        problems.expect(terminal.get("type") == "response.incomplete",
                        f"stream: the terminal event is {terminal.get('type')!r}, expected "
                        "'response.incomplete' (output_tokens "
                        f"{_output_tokens(cut['stream terminal event'])!r}; the same input "
                        f"took {reference} without this cap)")
    problems.raise_if_any("the cut answer is not reported as incomplete",
                          expected={"status": "incomplete",
                                    "incomplete_details": {"reason": "max_output_tokens"}})
    if not cut:
        inconclusive(_none_cut(answers, reference))
    observe("answers cut by max_output_tokens", len(cut))
    if stream_usable(responses_cut_stream) and terminal.get("type") == "response.incomplete":
        judge_rules([judge(CUT_LABEL, responses_cut_stream)], "responses.incomplete.details",
                    "a response.incomplete event lacks incomplete_details.reason")


@check("responses.incomplete.item-status", level=Level.MUST, operation=OP_CREATE,
       observes="the last message or function_call item of answers cut by max_output_tokens",
       spec=f"{spec('OutputMessage')}/properties/status", source=SOURCE,
       fix='Mark the message item of a cut answer `status: "incomplete"`, in `output` and in its '
           '`response.output_item.done` event.')
def test_item_status(responses_plain: Exchange, responses_cut: Exchange,
                     responses_cut_stream: ResponsesStream,
                     responses_text_stream: ResponsesStream) -> None:
    """The message item of an answer cut by `max_output_tokens` MUST have `status: "incomplete"`, not `completed`."""
    answers = _answers(responses_cut, responses_cut_stream, responses_text_stream)
    reference = _reference(responses_plain)
    cut = _cut_answers(answers, reference)
    if not cut:
        inconclusive(_none_cut(answers, reference))
    problems = Problems()
    judged = 0
    for where, answer in cut.items():
        items = output_items(answer, "message") + output_items(answer, "function_call")
        if not items:
            continue  # a cut during reasoning leaves no message: nothing to judge there
        judged += 1
        last = items[-1]
        problems.expect(last.get("status") == "incomplete",
                        f"{where}: the last {last.get('type')} item {last.get('id')!r} has "
                        f"status {last.get('status')!r}, expected 'incomplete' (its text was "
                        "cut by max_output_tokens)")
    problems.raise_if_any("the cut answer's item is not marked incomplete",
                          expected={"status": "incomplete"})
    if not judged:
        inconclusive(f"no answer cut by max_output_tokens ({', '.join(cut)}) has a message or "
                     "function_call item: a cut during reasoning leaves none")
    observe("items of cut answers", judged)
