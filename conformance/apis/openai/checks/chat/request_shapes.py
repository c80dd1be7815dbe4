"""Chat Completions: request shapes that clients send and every gateway must accept.

Each shape is one small request (a few tokens); the answer must be a 200 with a valid
chat.completion. The assistant `content: null` + `tool_calls` shape is judged by
chat.tools.follow-up, the system role by every check that reads the shared completion.
"""

from __future__ import annotations

import re
from typing import Any

from conformance import plan, schemas
from conformance.apis.openai.checks.chat import (
    DOC,
    LIMIT,
    OP,
    PATH,
    RESPONSE_SCHEMA,
    chat_body,
    new_schema_problems,
    user_message,
)
from conformance.check import Cause, Level, check, fail, observe, warn
from conformance.http import Exchange, Request, post
from conformance.preconditions import error_message, require_response, running_endpoint

REQUEST = schemas.pointer(DOC, "CreateChatCompletionRequest")
MESSAGE = schemas.pointer(DOC, "ChatCompletionRequestMessage")
SOURCE = "OpenAI API reference, chat/create request body"
UNKNOWN_FIELD = "conformance_probe"
ANSWER = "the answer to a request of this shape"


def _small(model: str, **extra: Any) -> dict[str, Any]:
    return chat_body(model, max_completion_tokens=LIMIT, **extra)


SHAPES: dict[str, dict[str, Any]] = {
    "developer": {"messages": [
        {"role": "developer", "content": "You are a concise assistant."},
        user_message("Say hello."),
    ]},
    "content-parts": {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "Say hello"},
        {"type": "text", "text": " in French."},
    ]}]},
    "user-and-seed": {"user": "conformance-suite-user", "seed": 7},
    "unknown-field": {UNKNOWN_FIELD: {"origin": "llm-gateway-conformance", "ignore": True}},
}


def _shape(model: str, shape: str) -> Request:
    return post(PATH, _small(model, **SHAPES[shape]))


@plan.exchange
def developer_request(model: str) -> Request:
    return _shape(model, "developer")


@plan.exchange
def content_parts_request(model: str) -> Request:
    return _shape(model, "content-parts")


@plan.exchange
def user_and_seed_request(model: str) -> Request:
    return _shape(model, "user-and-seed")


@plan.exchange
def unknown_field_request(model: str) -> Request:
    return _shape(model, "unknown-field")


def _accepted(exchange: Exchange, shape: str, plain: Exchange) -> None:
    """HTTP 200 with a valid chat.completion, or a failure titled by what is wrong with the
    answer (a schema problem the plain completion shares is chat.response.schema's, not this
    shape's). The shape was accepted then: the answer's defect is the root cause, the same
    for every shape whose answer has it."""
    require_response(exchange)
    observe(ANSWER)
    if exchange.status != 200:
        fail(f"the gateway refused {shape}: HTTP {exchange.status}: {error_message(exchange)}",
             expected=200, actual=f"{exchange.status}: {exchange.body[:300]}")
    body = exchange.json_or_none()
    problems = new_schema_problems(body, plain) if isinstance(body, dict) \
        else [f"the body is not a JSON object: {exchange.body[:200]!r}"]
    if problems:
        first = _titled(problems[0])
        more = f" (and {len(problems) - 1} more schema problem(s))" if len(problems) > 1 else ""
        fail(f"{first}, in the answer to {shape}{more}",
             expected=f"valid {schemas.pointer(DOC, RESPONSE_SCHEMA)}", actual=problems,
             root_cause=Cause(f"{running_endpoint()} answers with {first}", exchange.id))


def _titled(problem: str) -> str:
    """A schema problem as a failure's title: `choices[0].message.tool_calls is null, not an
    array` rather than the validator's `...: None is not of type 'array'`."""
    where, _, what = problem.partition(": ")
    kind = re.fullmatch(r"None is not of type '(\w+)'", what)
    if kind is None:
        return problem
    return f"{where} is null, not {'an' if kind[1][0] in 'aeiou' else 'a'} {kind[1]}"


@check("chat.request.developer-role", level=Level.MUST, operation=OP, spec=MESSAGE,
       source=SOURCE + ": the developer message (replaces system for newer models)",
       observes=ANSWER,
       fix='Accept `role: "developer"` messages: pass them through, or map them to `system` for an '
           'upstream that does not know the role.')
def test_developer_role(developer_request: Exchange, chat_completion: Exchange) -> None:
    """A message with `role: "developer"` MUST be accepted (200 and a valid completion)."""
    _accepted(developer_request, "a developer message", chat_completion)


@check("chat.request.content-parts", level=Level.MUST, operation=OP,
       spec=schemas.pointer(DOC, "ChatCompletionRequestMessageContentPartText"), source=SOURCE,
       observes=ANSWER,
       fix="Accept a user message whose `content` is an array of `{\"type\": \"text\", \"text\": "
           "...}` parts as well as a string, e.g. joining the parts' text for an upstream that "
           "takes a string.")
def test_content_parts(content_parts_request: Exchange, chat_completion: Exchange) -> None:
    """A user `content` given as an array of text parts MUST be accepted (200 and a valid completion)."""
    _accepted(content_parts_request, "content as an array of text parts", chat_completion)


@check("chat.request.user-and-seed", level=Level.MUST, operation=OP,
       spec=f"{REQUEST}/properties/seed",
       source=SOURCE + " (`user` and `seed` are deprecated, still accepted and widely sent)",
       observes=ANSWER,
       fix="Accept the `user` and `seed` request fields: forward them, or drop them before calling "
           "an upstream that rejects them.")
def test_user_and_seed(user_and_seed_request: Exchange, chat_completion: Exchange) -> None:
    """The `user` and `seed` parameters MUST be accepted (200 and a valid completion)."""
    _accepted(user_and_seed_request, "the `user` and `seed` parameters", chat_completion)


@check("chat.request.unknown-fields", level=Level.MUST, operation=OP, spec=REQUEST,
       source="openapi/SOURCES.md §1: no top-level schema forbids extra keys", observes=ANSWER,
       fix="Ignore top-level request fields you do not recognise (or refuse them with HTTP 400 "
           "naming the field in `error.param`), and never let them crash the handler.")
def test_unknown_fields(unknown_field_request: Exchange, chat_completion: Exchange) -> None:
    """An unknown top-level field MUST be either ignored or refused with a clean 400 whose error names the field, never a 5xx (refusing it is a SHOULD deviation: it should be ignored)."""
    exchange = unknown_field_request
    require_response(exchange)
    observe(ANSWER)
    status = exchange.status or 0
    if status == 200:
        _accepted(exchange, f"an unknown field {UNKNOWN_FIELD!r}", chat_completion)
        return
    error = exchange.json_or_none()
    error = error.get("error") if isinstance(error, dict) else None
    named = isinstance(error, dict) and UNKNOWN_FIELD in f"{error.get('param')} " \
        f"{error.get('message')}"
    if status == 400 and named:
        warn(f"the unknown field {UNKNOWN_FIELD!r} was refused with 400; it SHOULD be ignored "
             "(clients and SDKs add provider-specific fields)", expected=200,
             actual=f"400: {error_message(exchange)}")
    fail(f"an unknown field {UNKNOWN_FIELD!r} got HTTP {status}"
         + ("" if status >= 500 else " without an error envelope that names the field"),
         expected=f"200 (ignored), or 400 naming {UNKNOWN_FIELD!r}",
         actual=f"{status}: {exchange.body[:300]}")
