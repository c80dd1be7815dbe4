"""Chat Completions: the limits a request sets on its answer (token caps, `n`, `stop`).

Caps and stop strings are judged against the model's own answer to the plain request
(`chat_completion`, the reference), never against what a prompt asks the model to write: a tiny
model or a fixed-reply mock gets the same verdict as a model that obeys.
"""

from __future__ import annotations

from typing import Any

from conformance import plan, schemas, tokens
from conformance.apis.openai.checks.chat import (
    DOC,
    LIMIT,
    OP,
    PATH,
    answer_length,
    chat_body,
    choice_entries,
    choices_of,
    first_choice,
    message_of,
    not_a_message,
    reported_completion_tokens,
    stream_finish_reason,
)
from conformance.apis.openai.checks.chat.midstream import intact
from conformance.apis.openai.streams import ChatStream
from conformance.check import Level, Problems, check, expect, inconclusive, observe, record
from conformance.http import Exchange, Request, post
from conformance.preconditions import require_object
from conformance.shapes import member
from conformance.stop_words import LEAKED, STOPPED, StopPlan

REQUEST = schemas.pointer(DOC, "CreateChatCompletionRequest")
SOURCE = "OpenAI API reference, chat/create request parameters"


@plan.exchange
def capped_by_max_completion_tokens(model: str) -> Request:
    """The plain request with a cap far below its answer (`chat_completion` is the reference)."""
    return post(PATH, chat_body(model, max_completion_tokens=LIMIT))


@plan.exchange
def capped_by_max_tokens(model: str) -> Request:
    body = chat_body(model, max_tokens=LIMIT)
    del body["max_completion_tokens"]
    return post(PATH, body)


def _judge_cap(capped: Exchange, reference: Exchange, field: str,
               tokenizer: tokens.Tokenizer) -> None:
    """Never more than the cap; `length` when the reference shows the cap had to cut.

    Lengths are the larger of the reported `completion_tokens` and the content counted with the
    model's tokenizer (when it is known): a gateway that ignores the cap and under-reports usage
    (`completion_tokens: 0` for a whole sentence) is still judged, and still fails.
    """
    body = require_object(capped)
    choices = choices_of(body)
    expect(choices, "the completion has no choice objects",
           expected="choices: [{index, message, finish_reason}]", actual=body.get("choices"))
    encoding = tokenizer.encoding  # the run's (tokens.encoding_for): --tokenizer or the model
    problems = Problems()
    reported = reported_completion_tokens(body)
    if reported is not None:
        problems.expect(reported <= LIMIT, f"usage.completion_tokens = {reported} exceeds "
                        f"{field} = {LIMIT}")
    counted = _judge_by_local_count(choices, encoding, problems, field)
    if reported is None and counted is None:
        record(not_counted="usage.completion_tokens is missing and the model's tokenizer is "
               "unknown, so the answer's length was not checked")
    natural = _answer_length(reference, encoding)
    unexercised = _cut_not_exercised(natural, reported, counted)
    if unexercised is None:
        _judge_length(choices, natural, problems)
    record(cap=LIMIT, completion_tokens=reported, counted_completion_tokens=counted,
           tokenizer=encoding, uncapped_completion_tokens=natural,
           finish_reasons=[c.get("finish_reason") for c in choices])
    problems.raise_if_any(f"{field} is not honoured", expected={
        "completion_tokens": f"<= {LIMIT}", "finish_reason": "length"})
    if unexercised is not None:
        inconclusive(unexercised)
    observe("an answer cut by the token cap", len(choices))


def _judge_length(choices: list[dict[str, Any]], natural: int | None,
                  problems: Problems) -> None:
    for choice in choices:
        reason = choice.get("finish_reason")
        problems.expect(reason == "length", f"choice {choice.get('index')}: finish_reason is "
                        f"{reason!r} although the answer was cut at {LIMIT} tokens (the same "
                        f"request uncapped is {natural} tokens)")


def _answer_length(reference: Exchange, encoding: str | None) -> int | None:
    """Completion tokens of the plain request's answer (its cap is far above LIMIT): the larger
    of the reported and the locally counted length, so under-reported usage cannot hide it."""
    body = reference.json_or_none() if reference.status == 200 else None
    choice = first_choice(body)
    if choice is None:
        return None
    length = answer_length(body, encoding)
    if choice.get("finish_reason") == "length":
        return max(LIMIT + 1, length or 0)  # cut at its own, larger cap
    return length


def _cut_not_exercised(natural: int | None, reported: int | None,
                       counted: int | None) -> str | None:
    """Why the cap cannot be shown to cut (None: it had to cut this answer)."""
    if natural is None:
        return ("the plain request's answer reports no length and its text cannot be counted, "
                "so whether the cap had to cut cannot be told")
    if natural <= LIMIT:
        return (f"the same request uncapped is answered in {natural} tokens, within the cap "
                f"of {LIMIT}: there was nothing to cut, and a gateway ignoring the cap would "
                "give the same answer")
    lengths = [n for n in (reported, counted) if n is not None]
    if lengths and max(lengths) < LIMIT:
        return (f"the capped answer ended on its own after {max(lengths)} tokens, before the "
                "cap (the model answered differently from the uncapped request)")
    return None


def _judge_by_local_count(choices: list[dict[str, Any]], encoding: str | None,
                          problems: Problems, field: str) -> int | None:
    """Each choice's content counted with the model's tokenizer; their total (None: unknown)."""
    if encoding is None:
        return None
    total = 0
    for choice in choices:
        content = member(message_of(choice), "content")
        counted = tokens.count_text(content if isinstance(content, str) else "", encoding)
        total += counted
        # +1: re-encoding a cut text can merge differently at the cut, never by more than that.
        problems.expect(counted <= LIMIT + 1, f"choice {choice.get('index')}: the content is "
                        f"{counted} tokens by local count ({encoding}), over {field} = {LIMIT}")
    return total


# The plain request is the reference: when its answer fits within the cap, nothing was cut and a
# gateway ignoring the cap answers the same, so the check is inconclusive (its observation is an
# answer the cap had to cut); an answer over the cap fails either way.
@check("chat.limits.max-completion-tokens", level=Level.MUST, operation=OP,
       observes="an answer the cap had to cut (the same request uncapped is longer)",
       spec=f"{REQUEST}/properties/max_completion_tokens", source=SOURCE,
       fix='Forward `max_completion_tokens` to the upstream as its output cap, and answer '
           '`finish_reason: "length"` when the cap ended the answer.')
def test_max_completion_tokens(capped_by_max_completion_tokens: Exchange,
                               chat_completion: Exchange, tokenizer: tokens.Tokenizer) -> None:
    """With `max_completion_tokens`, `completion_tokens` MUST NOT exceed the cap, and an answer the cap cut MUST end with `finish_reason: "length"`."""
    _judge_cap(capped_by_max_completion_tokens, chat_completion, "max_completion_tokens",
               tokenizer)


# A feature of its own: OpenAI itself refuses `max_tokens` for reasoning models (400, "use
# max_completion_tokens instead"), so a clean refusal is `not_supported`, not a failure. Judged
# against the plain request's answer, as chat.limits.max-completion-tokens is.
@check("chat.limits.max-tokens", level=Level.MUST, feature="max-tokens", operation=OP,
       observes="an answer the cap had to cut (the same request uncapped is longer)",
       spec=f"{REQUEST}/properties/max_tokens",
       source=SOURCE + " (`max_tokens` is deprecated, still accepted for non-reasoning models "
       "and sent by many clients)",
       fix='Treat `max_tokens` as an alias of `max_completion_tokens`: forward it as the output '
           'cap and answer `finish_reason: "length"` when it cut the answer, or refuse it with a '
           '4xx envelope.')
def test_max_tokens(capped_by_max_tokens: Exchange, chat_completion: Exchange,
                    tokenizer: tokens.Tokenizer) -> None:
    """The deprecated `max_tokens`, when accepted, MUST be honoured like `max_completion_tokens`: no more completion tokens than the cap, and `finish_reason: "length"` when it cut the answer."""
    _judge_cap(capped_by_max_tokens, chat_completion, "max_tokens", tokenizer)


@check("chat.limits.n", level=Level.MUST, feature="n", operation=OP,
       observes="the answer to a request for n = 2 choices", spec=f"{REQUEST}/properties/n", source=SOURCE,
       fix="Forward `n` and return that many choices indexed 0 … n-1, each with its own `message`; "
           "if you cannot, refuse `n` > 1 with a 4xx error envelope instead of returning one "
           "choice.")
def test_n(chat_two_choices: Exchange) -> None:
    """`n: 2` MUST return two choices, indexed 0 and 1, each with a `message` object (a clean 4xx means `n` is not supported)."""
    body = require_object(chat_two_choices)
    observe("an n = 2 completion")
    choices = choices_of(body)
    indices = sorted(c.get("index") for c in choices if isinstance(c.get("index"), int))
    problems = Problems()
    problems.expect(len(choices) == 2, f"{len(choices)} choice(s) returned for n = 2")
    problems.expect(indices == [0, 1], f"choice indices are {indices}, expected [0, 1]")
    for choice in choices:
        problems.expect(isinstance(choice.get("message"), dict),
                        f"choice {choice.get('index')} has no message object")
    problems.raise_if_any("n = 2 is not honoured", expected="two choices, indices 0 and 1")


# The stop string is a word from the middle of the plain request's answer, sent with the same
# request (see stop.py): an answer still showing it ignored `stop`, whatever the model; an
# answer equal to the plain one cut before it must say "stop"; an answer that went elsewhere
# without reaching it (a non-deterministic model) shows nothing: inconclusive.
@check("chat.limits.stop", level=Level.MUST, operation=OP, spec=f"{REQUEST}/properties/stop",
       observes="an answer that reached the stop string (the plain answer cut before it)",
       source=SOURCE + ": 'The returned text will not contain the stop sequence'",
       fix='Forward `stop` to the upstream (or cut at the first match yourself), leave the stop '
           'sequence out of `content`, and answer `finish_reason: "stop"` when it ended the '
           'answer, streamed and not.')
def test_stop(stop_plan: StopPlan | None, chat_stop: Exchange | None,
              chat_stop_stream: ChatStream | None, chat_completion: Exchange) -> None:
    """With `stop`, the content MUST NOT contain the stop sequence, and an answer that ended at it MUST say `finish_reason: "stop"`, streamed or not."""
    require_object(chat_completion)  # the reference: without it, there is nothing to stop at
    if stop_plan is None or chat_stop is None or chat_stop_stream is None:
        inconclusive("the plain request's answer has no word to use as a stop string")
    body = require_object(chat_stop)
    choices = choice_entries(body)
    expect(choices, "the completion has no choices", actual=body)
    problems = Problems()
    halves = {"non-streamed": _stopped_answer(choices[0], problems)}
    if intact(chat_stop_stream):  # a refused, cut or failed stream is the stream checks' call
        halves["streamed"] = (chat_stop_stream.text(), stream_finish_reason(chat_stop_stream))
    judged = [where for where, (content, reason) in halves.items()
              if _judge_stop(content, reason, stop_plan, where, problems)]
    record(stop=[stop_plan.stop], reference=stop_plan.reference, expected=stop_plan.prefix,
           answers={where: content for where, (content, _) in halves.items()}, judged=judged)
    problems.raise_if_any("the stop sequence is not honoured", expected=(
        f"content {stop_plan.prefix!r} (cut before {stop_plan.stop!r}), finish_reason 'stop'"))
    if not judged:
        inconclusive(f"the answers never reached the stop string {stop_plan.stop!r}: the model "
                     "answered differently from the plain request, so `stop` was not exercised")
    observe("an answer cut at its stop string", len(judged))


def _stopped_answer(choice: Any, problems: Problems) -> tuple[Any, Any]:
    """(content, finish_reason) of the non-streamed answer (a malformed choice is a problem)."""
    problem = not_a_message(0, choice)
    if problem:
        problems.add(f"non-streamed: {problem}")
        return None, None
    return choice["message"].get("content"), choice.get("finish_reason")


def _judge_stop(content: Any, finish_reason: Any, plan: StopPlan, where: str,
                problems: Problems) -> bool:
    """Judge one answer; False when it shows nothing about `stop` (it went elsewhere)."""
    outcome = plan.outcome(content)
    if outcome == LEAKED:
        problems.add(plan.leak(content, where))
    elif outcome == STOPPED:
        problems.expect(finish_reason == "stop", f"{where}: the answer ended at the stop "
                        f"sequence but finish_reason is {finish_reason!r}, expected 'stop'")
    return outcome is not None
