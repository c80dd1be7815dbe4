"""Responses: structured output (`text.format` with a strict JSON schema)."""

from __future__ import annotations

import json

from jsonschema import Draft202012Validator

from conformance import plan
from conformance.apis.openai.checks.responses import (
    OP_CREATE,
    PATH,
    SOURCE_DOCS,
    content_parts,
    message_text,
    output_items,
    require_output,
    responses_body,
    spec,
)
from conformance.check import Level, check, expect, fail, inconclusive, observe
from conformance.http import Exchange, Request, post
from conformance.preconditions import require_object

CITY_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
    "required": ["city", "country"],
    "additionalProperties": False,
}


@plan.exchange
def structured_answer(model: str) -> Request:
    text = {"format": {"type": "json_schema", "name": "capital", "schema": CITY_SCHEMA,
                       "strict": True}}
    return post(PATH, responses_body(model, input="What is the capital of France?",
                                            text=text))


@check("responses.structured.json-schema", level=Level.MUST, feature="structured-output",
       observes="the output text of a strict json_schema answer", operation=OP_CREATE,
       spec=f"{spec('TextFormat')}", source=f"{SOURCE_DOCS} `text.format`; structured outputs "
       "guide",
       fix="Forward `text.format` with its schema and `strict: true` to an upstream that enforces "
           "it (or refuse it with a 4xx envelope), and return the JSON text unaltered.")
def test_json_schema(structured_answer: Exchange) -> None:
    """With `text.format` `{type: "json_schema", strict: true}`, the output text MUST be JSON valid against the schema."""
    body = require_object(structured_answer)
    require_output(body)
    text = message_text(body)
    if not _has_text_part(body) and not _refused(body):  # responses.response.output-text-part
        inconclusive("the answer has no output_text part whose text could be read (see "
                     "responses.response.output-text-part)")
    # Strict json_schema is enforced by the server's decoding, not asked of the model: any
    # text it produced is JSON of the schema, or a prefix of it when the answer was cut.
    if body.get("status") != "completed" or (not text and _refused(body)):
        if text and not text.lstrip().startswith("{"):
            fail("the structured answer does not even start as a JSON object",
                 expected=CITY_SCHEMA, actual=text[:300])
        inconclusive(f"the structured answer ended with status {body.get('status')!r}"
                     + (" with a refusal" if _refused(body) else "")
                     + ", so there is no complete JSON to validate")
    observe("structured output texts")
    try:
        value = json.loads(text)
    except ValueError as exc:
        fail(f"the output text is not JSON ({exc})", expected=CITY_SCHEMA, actual=text[:300])
    errors = [e.message for e in Draft202012Validator(CITY_SCHEMA).iter_errors(value)]
    expect(not errors, "the output JSON does not match the requested schema",
           expected=CITY_SCHEMA, actual={"output": value, "errors": errors})


def _has_text_part(body: dict) -> bool:
    return any(part.get("type") == "output_text" for item in output_items(body, "message")
               for part in content_parts(item))


def _refused(body: dict) -> bool:
    """The model declined (a `refusal` content part): the schema does not apply to that."""
    return any(part.get("type") == "refusal" for item in output_items(body, "message")
               for part in content_parts(item))
