"""Responses: the input forms a client may send (string, messages, input_text parts)."""

from __future__ import annotations

from conformance import plan, schemas
from conformance.apis.openai.checks.responses import (
    DOC,
    OP_CREATE,
    PATH,
    QUESTION,
    responses_body,
    spec,
)
from conformance.check import Level, Problems, check, observe
from conformance.http import Exchange, Request, post
from conformance.preconditions import error_message, require_response

SOURCE = "OpenAI API reference, responses/create `input` and `instructions`; text inputs guide"


@plan.exchange
def input_forms(model: str, responses_plain: Exchange) -> dict[str, Request]:
    """The same question in each documented input form (the string form is the shared one)."""
    messages = [
        {"role": "user", "content": "Hello."},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": QUESTION},
    ]
    parts = [{"type": "message", "role": "user",
              "content": [{"type": "input_text", "text": QUESTION}]}]
    return {
        "input as a string": responses_plain,
        "input as role/content messages, with instructions": post(PATH, responses_body(
            model, input=messages, instructions="Answer like a patient teacher.")),
        "content as input_text parts": post(PATH, responses_body(model, input=parts)),
    }


@check("responses.input.forms", level=Level.MUST, observes="answers to each input form",
       operation=OP_CREATE, spec=f"{spec('CreateResponseRequest')}/properties/input", source=SOURCE,
       fix="Accept `input` as a string, as a list of `{role, content}` messages beside "
           "`instructions`, and with `input_text` content parts, normalising every form before "
           "calling the upstream.")
def test_forms(input_forms: dict[str, Exchange]) -> None:
    """Each documented input form MUST be accepted with a 200 and a valid Response: `input` as a string, as a list of role/content messages (with `instructions`), and content as `input_text` parts."""
    problems = Problems()
    for form, exchange in input_forms.items():
        require_response(exchange)
        observe("input forms")
        if exchange.status != 200:
            problems.add(f"{form}: HTTP {exchange.status}: {error_message(exchange)}")
            continue
        body = exchange.json_or_none()
        errors = schemas.errors(DOC, "Response", body) if isinstance(body, dict) else [
            f"the body is not a JSON object: {exchange.body[:200]!r}"]
        problems.items += [f"{form}: {error}" for error in errors]
    problems.raise_if_any("a documented input form was not accepted",
                          expected="HTTP 200 with a valid Response for every form")
