"""Responses: reasoning items, reasoning token accounting and `reasoning.effort`.

The checks use the configured model. A model that does not reason has no reasoning items and
must report no reasoning tokens; OpenAI refuses `reasoning.effort` for such a model with a 400,
which is the clean answer these checks expect from it.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance import schemas
from conformance.check import Level, NotSupported, Problems, check, expect, fail, record
from conformance.checks.responses import (
    DOC,
    OP_CREATE,
    PATH,
    SOURCE_DOCS,
    output_items,
    output_problem,
    require_stream_answer,
    responses_body,
    spec,
)
from conformance.http import Client, Exchange
from conformance.preconditions import error_message, require_object, require_response
from conformance.shapes import member, object_member
from conformance.streams import ResponsesStream

SOURCE = f"{SOURCE_DOCS} `reasoning`; reasoning models guide (reasoning items, reasoning tokens)"
EFFORT = "low"


def _answers(plain: Exchange, stream: ResponsesStream) -> dict[str, dict[str, Any]]:
    answers = {"non-stream": require_object(plain)}
    require_stream_answer(stream)
    if stream.terminal_response is not None:
        answers["stream terminal event"] = stream.terminal_response
    return answers


@check("responses.reasoning.tokens", level=Level.MUST, feature="reasoning", operation=OP_CREATE,
       spec=spec("ReasoningItem"), source=SOURCE)
def test_tokens(responses_plain: Exchange, responses_text_stream: ResponsesStream) -> None:
    """Reasoning items MUST be valid and agree with the usage: with reasoning items, `output_tokens_details.reasoning_tokens` is > 0 and <= `output_tokens`; without any, it is 0 (the model did not reason)."""
    problems = Problems()
    observed = {}
    for where, answer in _answers(responses_plain, responses_text_stream).items():
        if output_problem(answer):
            problems.add(f"{where}: {output_problem(answer)}, so its reasoning items cannot "
                         "be read")
            continue
        items = output_items(answer, "reasoning")
        reasoning = _reasoning_tokens(answer.get("usage"))
        output = member(object_member(answer, "usage"), "output_tokens")
        observed[where] = {"reasoning_items": len(items), "reasoning_tokens": reasoning,
                           "output_tokens": output}
        for problem in _consistency(items, reasoning, output):
            problems.add(f"{where}: {problem}")
        for item in items:
            problems.items += [f"{where}: reasoning item {item.get('id')!r}: {e}"
                               for e in schemas.errors(DOC, "ReasoningItem", item)]
    record(observed=observed)
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


@pytest.fixture(scope="session")
def effort_answer(client: Client, model: str) -> Exchange:
    return client.post(PATH, responses_body(model, reasoning={"effort": EFFORT}))


@check("responses.reasoning.effort", level=Level.MUST, feature="reasoning", operation=OP_CREATE,
       spec=f"{spec('CreateResponseRequest')}/properties/reasoning", source=SOURCE)
def test_effort(effort_answer: Exchange) -> None:
    """`reasoning.effort` MUST be either honoured (a 200 echoing it in `response.reasoning.effort`) or refused with a 4xx error envelope, as OpenAI refuses it for models that do not reason; never silently ignored or answered with a 5xx."""
    require_response(effort_answer)
    status = effort_answer.status or 0
    if status != 200:
        body = effort_answer.json_or_none()
        envelope = isinstance(body, dict) and isinstance(body.get("error"), dict)
        if 400 <= status < 500 and envelope:
            record(reasoning="refused", status=status, message=error_message(effort_answer))
            raise NotSupported(f"the model does not take reasoning.effort: HTTP {status} "
                               f"{error_message(effort_answer)}")
        fail(f"reasoning.effort got HTTP {status}"
             + ("" if envelope else " without the error envelope"),
             expected="200 echoing the effort, or a 4xx {'error': {...}}",
             actual=effort_answer.body[:300])
    body = require_object(effort_answer)
    echoed = body.get("reasoning")
    effort = echoed.get("effort") if isinstance(echoed, dict) else None
    record(reasoning="accepted", echoed=echoed)
    expect(effort == EFFORT, f"reasoning.effort {EFFORT!r} was accepted but the response "
           f"reports reasoning {echoed!r}: the setting was ignored",
           expected={"effort": EFFORT}, actual=echoed)
