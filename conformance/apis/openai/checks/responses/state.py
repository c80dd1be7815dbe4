"""Responses: stored responses, retrieval and `previous_response_id` conversations."""

from __future__ import annotations

from typing import Any

from conformance import plan
from conformance.apis.openai.checks.responses import (
    OP_CREATE,
    OP_GET,
    PATH,
    SOURCE_DOCS,
    chat_named,
    responses_body,
    spec,
)
from conformance.check import (
    Level,
    NotSupported,
    Problems,
    check,
    expect,
    inconclusive,
    observe,
    record,
)
from conformance.http import Exchange, Request, get, post
from conformance.preconditions import require_object, require_response
from conformance.shapes import member, object_member

SOURCE = (f"{SOURCE_DOCS} `store`, `previous_response_id`; responses/get; conversation state "
          "guide")
FOLLOW_UP = "Now say the same thing in at most five words."


def _stored(plain: Exchange) -> dict[str, Any]:
    """The first turn, which the gateway must have stored (`store` defaults to true)."""
    body = require_object(plain)
    if body.get("object") != "response":  # judged by responses.response.object
        inconclusive(f"the first turn is not a Response (object {body.get('object')!r}), so "
                     "it cannot be retrieved or continued (see responses.response.object)")
    if body.get("store") is False:
        raise NotSupported("the gateway answered with store: false: it does not keep responses, "
                           "so retrieval and previous_response_id cannot be used")
    expect(isinstance(body.get("id"), str) and body["id"], "the first response has no id",
           actual=body.get("id"))
    return body


def _stored_id(plain: Exchange) -> str | None:
    """The first turn's id, if it has one to follow up on (`_stored` judges the rest)."""
    body = plain.json_or_none()
    found = body.get("id") if isinstance(body, dict) else None
    return found if isinstance(found, str) and found else None


@plan.exchange
def retrieved(responses_plain: Exchange) -> Request | None:
    first = _stored_id(responses_plain)
    return None if first is None else get(f"{PATH}/{first}")


@check("responses.state.retrieve", level=Level.MUST, feature="state",
       observes="the stored response, retrieved by its id", operation=OP_GET, spec="openapi/responses.yaml#/paths/~1responses~1{response_id}/get", source=SOURCE,
       fix="Persist each response created without `store: false` under its `id` (in storage shared "
           "by all your instances), and return that stored object from `GET /v1/responses/{id}`.")
def test_retrieve(responses_plain: Exchange, retrieved: Exchange | None) -> None:
    """A stored response (`store` defaults to true) MUST be returned by `GET /v1/responses/{id}` with the same id, output and usage."""
    first = _stored(responses_plain)
    assert retrieved is not None  # sent whenever the first turn has an id (`_stored` holds)
    require_response(retrieved)
    if first.get("store") is True:
        # The gateway said it kept the response: losing it is a failure, not a missing feature.
        expect(retrieved.status == 200, f"the response was created with store: true, but GET "
               f"{PATH}/{first['id']} answers HTTP {retrieved.status}",
               expected=200, actual=f"{retrieved.status}: {retrieved.body[:300]}")
    body = require_object(retrieved)
    observe("retrieved responses")
    problems = Problems()
    for key in ("id", "status", "output", "usage"):
        problems.expect(body.get(key) == first.get(key),
                        f"{key} differs: created {str(first.get(key))[:150]}, retrieved "
                        f"{str(body.get(key))[:150]}")
    problems.raise_if_any("the retrieved response differs from the created one",
                          expected="the response as created")


@plan.exchange
def second_turn(model: str, responses_plain: Exchange) -> Request | None:
    first = _stored_id(responses_plain)
    return None if first is None else post(PATH, responses_body(
        model, input=FOLLOW_UP, previous_response_id=first))


@check("responses.state.previous-response", level=Level.MUST, feature="state",
       observes="a second turn's previous_response_id echo and input_tokens", operation=OP_CREATE,
       spec=f"{spec('CreateResponseRequest')}/properties/previous_response_id", source=SOURCE,
       fix="Store each response's input and output, prepend that conversation to the new input of "
           "a turn with `previous_response_id` before calling the model, and echo the id back.")
def test_previous_response(responses_plain: Exchange, second_turn: Exchange | None) -> None:
    """A turn with `previous_response_id` MUST echo it and include the first turn as context: its `input_tokens` MUST exceed the first turn's `input_tokens` plus its visible output (`output_tokens - reasoning_tokens`), since that text is re-read."""
    first = _stored(responses_plain)
    assert second_turn is not None  # sent whenever the first turn has an id (`_stored` holds)
    body = require_object(second_turn)
    observe("second turns")
    problems = Problems()
    problems.expect(body.get("previous_response_id") == first["id"],
                    f"previous_response_id is echoed as {body.get('previous_response_id')!r}, "
                    f"expected {first['id']!r}")
    if chat_named(first.get("usage")) or chat_named(body.get("usage")):
        inconclusive("usage uses the Chat names, so input_tokens cannot be read (see "
                     "responses.usage.field-names)")
    context = _visible_tokens(first.get("usage"))
    second = member(object_member(body, "usage"), "input_tokens")
    record(first_turn_context_tokens=context, second_turn_input_tokens=second)
    if context is None or not isinstance(second, int):
        problems.add("usage.input_tokens / output_tokens missing: the context cannot be "
                     "verified")
    else:
        problems.expect(second > context,
                        f"the second turn reports input_tokens {second}, not more than the "
                        f"first turn's input + visible output ({context}): the first turn was "
                        "not sent to the model")
    problems.raise_if_any("previous_response_id did not continue the conversation",
                          expected=f"previous_response_id {first['id']!r}, input_tokens > "
                                   f"{context}")


def _visible_tokens(found: Any) -> int | None:
    """Input plus visible output of a turn: what the next turn re-reads as context."""
    if not isinstance(found, dict):
        return None
    inp, out = found.get("input_tokens"), found.get("output_tokens")
    if not (isinstance(inp, int) and isinstance(out, int)):
        return None
    details = found.get("output_tokens_details")
    reasoning = details.get("reasoning_tokens", 0) if isinstance(details, dict) else 0
    return inp + out - (reasoning if isinstance(reasoning, int) else 0)
