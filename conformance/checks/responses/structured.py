"""Responses: structured output (`text.format` with a strict JSON schema)."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from conformance.check import Level, check, expect
from conformance.checks.responses import (
    OP_CREATE,
    PATH,
    SOURCE_DOCS,
    message_text,
    responses_body,
    spec,
)
from conformance.http import Client, Exchange
from conformance.preconditions import require_object

CITY_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
    "required": ["city", "country"],
    "additionalProperties": False,
}


@pytest.fixture(scope="session")
def structured_answer(client: Client, model: str) -> Exchange:
    text = {"format": {"type": "json_schema", "name": "capital", "schema": CITY_SCHEMA,
                       "strict": True}}
    return client.post(PATH, responses_body(model, input="What is the capital of France?",
                                            text=text))


@check("responses.structured.json-schema", level=Level.MUST, feature="structured-output",
       operation=OP_CREATE, spec=f"{spec('TextFormat')}",
       source=f"{SOURCE_DOCS} `text.format`; structured outputs guide")
def test_json_schema(structured_answer: Exchange) -> None:
    """With `text.format` `{type: "json_schema", strict: true}`, the output text MUST be JSON valid against the schema."""
    body = require_object(structured_answer, feature="structured-output")
    text = message_text(body)
    expect(body.get("status") == "completed", f"the structured answer ended with status "
           f"{body.get('status')!r}, so its JSON may be cut", expected="completed",
           actual=body.get("status"))
    try:
        value = json.loads(text)
    except ValueError as exc:
        expect(False, f"the output text is not JSON ({exc})", expected=CITY_SCHEMA,
               actual=text[:300])
        return
    errors = [e.message for e in Draft202012Validator(CITY_SCHEMA).iter_errors(value)]
    expect(not errors, "the output JSON does not match the requested schema",
           expected=CITY_SCHEMA, actual={"output": value, "errors": errors})
