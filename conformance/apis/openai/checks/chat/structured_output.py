"""Chat Completions: structured output (`response_format` json_schema and json_object)."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator

from conformance import plan, schemas
from conformance.apis.openai.checks.chat import (
    DOC,
    OP,
    PATH,
    chat_body,
    choice_entries,
    not_a_message,
    user_message,
)
from conformance.check import Level, check, expect, fail, inconclusive, observe, record
from conformance.http import Exchange, Request, post
from conformance.preconditions import require_object

FEATURE = "structured-output"
SPEC = schemas.pointer(DOC, "ChatResponseFormat")
SOURCE = "OpenAI API reference, chat/create `response_format`; structured outputs guide"
MAX_TOKENS = 100
CITY_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "country": {"type": "string"},
        "population": {"type": "integer"},
    },
    "required": ["city", "country", "population"],
    "additionalProperties": False,
}
SCHEMA_PROMPT = "Name the capital of France, its country and its approximate population."
# OpenAI refuses json_object unless the conversation mentions JSON.
OBJECT_PROMPT = 'Reply in JSON: an object whose key "capital" holds the capital of France.'


@plan.exchange
def json_schema_completion(model: str) -> Request:
    response_format = {"type": "json_schema", "json_schema": {
        "name": "capital_city", "schema": CITY_SCHEMA, "strict": True}}
    return post(PATH, chat_body(model, messages=[user_message(SCHEMA_PROMPT)],
                                       response_format=response_format,
                                       max_completion_tokens=MAX_TOKENS))


@plan.exchange
def json_object_completion(model: str) -> Request:
    return post(PATH, chat_body(model, messages=[user_message(OBJECT_PROMPT)],
                                       response_format={"type": "json_object"},
                                       max_completion_tokens=MAX_TOKENS))


def _json_content(exchange: Exchange) -> Any:
    """The first choice's content parsed as JSON (a failure says what came instead)."""
    body = require_object(exchange)
    choices = choice_entries(body)
    expect(choices, "the completion has no choices", actual=body)
    choice = choices[0]
    problem = not_a_message(0, choice)
    expect(not problem, str(problem), expected="message: {content: '<JSON>'}", actual=choice)
    content = choice["message"].get("content")
    record(content=content)
    expect(isinstance(content, str), "the structured answer has no text content",
           expected="a JSON document in message.content", actual=content)
    if choice.get("finish_reason") == "length":
        _judge_cut(content)
    observe("a structured answer")
    try:
        return json.loads(content)
    except ValueError as exc:
        fail(f"message.content is not JSON ({exc})", expected="a JSON document",
             actual=content[:500])


def _judge_cut(content: str) -> None:
    """An answer cut by the token cap: prose fails at once, a cut JSON object cannot be judged.

    The server constrains decoding to JSON, so even a cut answer must begin as an object.
    """
    if content.strip() and not content.lstrip().startswith("{"):
        fail("message.content does not even begin as a JSON object (it was cut at "
             f"{MAX_TOKENS} tokens)", expected="a JSON object", actual=content[:500])
    inconclusive(f"the answer was cut at {MAX_TOKENS} tokens before its JSON ended, so it "
                 "cannot be judged")


@check("chat.structured.json-schema", level=Level.MUST, feature=FEATURE, operation=OP,
       observes="a complete answer under a strict json_schema", spec=SPEC, source=SOURCE,
       fix="Forward `response_format` with its `json_schema` and `strict: true` to an upstream "
           "that enforces it (or refuse it with a 4xx envelope), and return its JSON unaltered.")
def test_json_schema(json_schema_completion: Exchange) -> None:
    """With `response_format: {type: "json_schema", strict: true}`, the content MUST be JSON valid against the given schema."""
    value = _json_content(json_schema_completion)
    errors = [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
              for e in Draft202012Validator(CITY_SCHEMA).iter_errors(value)]
    expect(not errors, "the content does not match the requested JSON schema",
           expected=CITY_SCHEMA, actual={"errors": errors[:10], "content": value})


@check("chat.structured.json-object", level=Level.MUST, feature=FEATURE, operation=OP,
       observes="a complete answer in JSON mode", spec=SPEC, source=SOURCE + " (JSON mode)",
       fix='Forward `response_format: {"type": "json_object"}` to the upstream (JSON mode), and do '
           'not wrap the JSON it returns in Markdown fences or extra text.')
def test_json_object(json_object_completion: Exchange) -> None:
    """With `response_format: {type: "json_object"}` (and a prompt that mentions JSON), the content MUST be one JSON object."""
    value = _json_content(json_object_completion)
    expect(isinstance(value, dict), f"the content is JSON but a {type(value).__name__}, not an "
           "object", expected="{...}", actual=value)
