"""Responses: reasoning items, reasoning token accounting and `reasoning.effort`.

The checks use the configured model. A model that does not reason has no reasoning items and
must report no reasoning tokens; OpenAI refuses `reasoning.effort` for such a model with a 400,
which is the clean answer these checks expect from it.
"""

from __future__ import annotations

from typing import Any

from conformance import plan, schemas
from conformance.apis.openai.checks.responses import (
    DOC,
    OP_CREATE,
    PATH,
    REASONING_EFFORT,
    SOURCE_DOCS,
    output_items,
    output_problem,
    responses_body,
    spec,
    stream_terminal,
)
from conformance.apis.openai.streams import ResponsesStream
from conformance.check import Level, Problems, check, expect, inconclusive, observe, record
from conformance.http import Exchange, Request, post
from conformance.preconditions import error_message, require_object, require_success
from conformance.shapes import member, object_member

SOURCE = f"{SOURCE_DOCS} `reasoning`; reasoning models guide (reasoning items, reasoning tokens)"


def _answers(plain: Exchange, stream: ResponsesStream) -> dict[str, dict[str, Any]]:
    """The plain answer, non-streamed and streamed (the stream part only when it answered)."""
    answers = {"non-stream": require_object(plain)}
    terminal = stream_terminal(stream, stream)
    if terminal is not None:
        answers["stream terminal event"] = terminal
    return answers


@check("responses.reasoning.tokens", level=Level.MUST, feature="reasoning",
       observes="answers whose reasoning items and reasoning_tokens were compared",
       operation=OP_CREATE, spec=spec("ReasoningItem"), source=SOURCE,
       fix="Report the upstream's `output_tokens_details.reasoning_tokens`: above 0 and within "
           "`output_tokens` when the output holds reasoning items, 0 when it holds none.")
def test_tokens(responses_plain: Exchange, responses_text_stream: ResponsesStream) -> None:
    """Reasoning items MUST be valid and agree with the usage: with reasoning items, `output_tokens_details.reasoning_tokens` is > 0 and <= `output_tokens`; without any, it is 0 (the model did not reason)."""
    problems = Problems()
    observed = {}
    for where, answer in _answers(responses_plain, responses_text_stream).items():
        if output_problem(answer):
            continue  # unreadable items: judged by responses.response.object
        items = output_items(answer, "reasoning")
        reasoning = _reasoning_tokens(answer.get("usage"))
        output = member(object_member(answer, "usage"), "output_tokens")
        observed[where] = {"reasoning_items": len(items), "reasoning_tokens": reasoning,
                           "output_tokens": output}
        observe("answers")
        for problem in _consistency(items, reasoning, output):
            problems.add(f"{where}: {problem}")
        for item in items:
            problems.items += [f"{where}: reasoning item {item.get('id')!r}: {e}"
                               for e in schemas.errors(DOC, "ReasoningItem", item)]
    record(observed=observed)
    if not observed:
        inconclusive("no answer has a readable output array, so its reasoning items cannot be "
                     "read (see responses.response.object)")
    problems.raise_if_any("reasoning items and reasoning_tokens disagree",
                          expected="reasoning items <=> 0 < reasoning_tokens <= output_tokens")


def _reasoning_tokens(found: Any) -> Any:
    details = found.get("output_tokens_details") if isinstance(found, dict) else None
    return details.get("reasoning_tokens", 0) if isinstance(details, dict) else 0


def _consistency(items: list[dict[str, Any]], reasoning: Any, output: Any) -> list[str]:
    if not isinstance(reasoning, int) or isinstance(reasoning, bool):
        return [f"output_tokens_details.reasoning_tokens is {reasoning!r}, not an integer"]
    if items and reasoning <= 0:
        return [f"{len(items)} reasoning item(s) in the output, but reasoning_tokens is "
                f"{reasoning}: the reasoning was not counted"]
    if items and isinstance(output, int) and reasoning > output:
        return [f"reasoning_tokens {reasoning} > output_tokens {output} (reasoning is part "
                "of the output)"]
    if not items and reasoning > 0:
        return [f"reasoning_tokens is {reasoning} but the output has no reasoning item: "
                "tokens are billed as reasoning that the model did not produce"]
    return []


@plan.exchange
def effort_answer(model: str) -> Request:
    return post(PATH, responses_body(model, reasoning={"effort": REASONING_EFFORT}))


@check("responses.reasoning.effort", level=Level.MUST, feature="reasoning",
       observes="the reasoning.effort echoed by an answer that accepted it", operation=OP_CREATE,
       spec=f"{spec('CreateResponseRequest')}/properties/reasoning", source=SOURCE,
       fix="Forward `reasoning.effort` to a reasoning model and echo it in "
           "`response.reasoning.effort`, or refuse it with a 4xx error envelope for a model that "
           "cannot reason.")
def test_effort(effort_answer: Exchange) -> None:
    """`reasoning.effort` MUST be either honoured (a 200 echoing it in `response.reasoning.effort`) or refused with a 4xx error envelope, as OpenAI refuses it for models that do not reason; never silently ignored or answered with a 5xx."""
    if effort_answer.status != 200 and effort_answer.ok:
        record(reasoning="refused", status=effort_answer.status,
               message=error_message(effort_answer))
    # A clean 4xx (the error envelope) is `not_supported`; any other refusal fails.
    require_success(effort_answer)
    body = require_object(effort_answer)
    echoed = body.get("reasoning")
    effort = echoed.get("effort") if isinstance(echoed, dict) else None
    record(reasoning="accepted", echoed=echoed)
    observe("reasoning echoes")
    expect(effort == REASONING_EFFORT, f"reasoning.effort {REASONING_EFFORT!r} was accepted "
           f"but the response reports reasoning {echoed!r}: the setting was ignored",
           expected={"effort": REASONING_EFFORT}, actual=echoed)
