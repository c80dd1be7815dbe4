"""Responses, non-streamed: the Response object, its output items and content parts."""

from __future__ import annotations

from typing import Any

from conformance import schemas
from conformance.apis.openai.checks.responses import (
    DOC,
    OP_CREATE,
    SEED_CHAT_BODY,
    SOURCE_DOCS,
    content_parts,
    message_text,
    output_entries,
    output_items,
    spec,
)
from conformance.check import Level, Problems, check, expect, fail, inconclusive, observe
from conformance.http import Exchange
from conformance.preconditions import require_object
from conformance.shapes import describe

SOURCE = f"{SOURCE_DOCS} (the response object); {SEED_CHAT_BODY}"
STATUSES = ("completed", "failed", "in_progress", "cancelled", "queued", "incomplete")
# Items whose schema requires a status; others (reasoning, ...) may omit it.
ITEMS_WITH_STATUS = ("message", "function_call", "web_search_call", "file_search_call")


@check("responses.response.schema", level=Level.MUST, observes="the non-streamed Response body",
       operation=OP_CREATE, spec=spec("Response"), source=SOURCE,
       fix="Check unstreamed responses against the `Response` schema and correct each field it "
           "reports (types and required keys of the response and of its output items).")
def test_schema(responses_plain: Exchange) -> None:
    """A non-streamed response MUST be a JSON body valid against the Response schema."""
    body = require_object(responses_plain)
    observe("Response bodies")
    problems = schemas.errors(DOC, "Response", body)
    expect(not problems, f"the body does not match the Response schema{_chat_hint(body)}",
           expected=f"valid {spec('Response')}", actual=problems)


@check("responses.response.strict-schema", level=Level.SHOULD,
       observes="the non-streamed Response body", operation=OP_CREATE,
       spec=spec("ResponseStrict"), source=SOURCE_DOCS + " (fields the official schema requires)",
       fix="Include `error`, `incomplete_details`, `instructions`, `tools`, `parallel_tool_calls`, "
           "`metadata`, `tool_choice`, `temperature` and `top_p` in every Response, null (or the "
           "request's value) when not applicable.")
def test_strict_schema(responses_plain: Exchange) -> None:
    """A non-streamed response SHOULD carry every field the official schema requires (`error`, `incomplete_details`, `instructions`, `tools`, `parallel_tool_calls`, `metadata`, `tool_choice`, `temperature`, `top_p`), null where not applicable."""
    body = require_object(responses_plain)
    observe("Response bodies")
    problems = schemas.errors(DOC, "ResponseStrict", body)
    expect(not problems, "the body lacks fields the official Response schema requires "
           "(SDKs that validate strictly reject it)",
           expected=f"valid {spec('ResponseStrict')}", actual=problems)


@check("responses.response.object", level=Level.MUST, observes="the non-streamed Response body",
       operation=OP_CREATE, spec=f"{spec('Response')}/properties/object", source=SOURCE,
       fix='Return a Response object (`object: "response"`, `id`, `created_at`, `model`, `status`, '
           '`output`), converting an upstream Chat Completions answer instead of passing it '
           'through.')
def test_object(responses_plain: Exchange) -> None:
    """The body MUST be a Response: `object: "response"`, a string `id`, a numeric `created_at`, the `model`, a documented `status` and an `output` array; a `chat.completion` body is not a Response."""
    body = require_object(responses_plain)
    observe("Response bodies")
    if body.get("object") == "chat.completion" or "choices" in body:
        fail("the gateway answered POST /v1/responses with a Chat Completions body "
             "(object 'chat.completion', choices[].message): it proxied the request to "
             "/chat/completions without translating the answer, so Responses clients find no "
             "`output` items",
             expected={"object": "response", "output": "[...items...]"},
             actual={k: body.get(k) for k in ("object", "id", "choices") if k in body})
    problems = Problems()
    problems.expect(body.get("object") == "response",
                    f"object is {body.get('object')!r}, expected 'response'")
    problems.expect(isinstance(body.get("id"), str) and body["id"],
                    f"id is {body.get('id')!r}, expected a non-empty string")
    created = body.get("created_at")
    problems.expect(isinstance(created, (int, float)) and not isinstance(created, bool),
                    f"created_at is {created!r}, expected Unix seconds (a number)")
    problems.expect(isinstance(body.get("model"), str) and body["model"],
                    f"model is {body.get('model')!r}, expected the model id")
    problems.expect(body.get("status") in STATUSES,
                    f"status is {body.get('status')!r}, expected one of {list(STATUSES)}")
    problems.expect(isinstance(body.get("output"), list),
                    f"output is {type(body.get('output')).__name__}, expected an array of items")
    problems.raise_if_any("the body is not a Response object")


@check("responses.response.output-items", level=Level.MUST,
       observes="output items of the non-streamed Response", operation=OP_CREATE,
       spec=spec("OutputItem"), source=SOURCE_DOCS + " (output items)",
       fix='When translating the upstream answer, wrap its text in a `message` item with `role: '
           '"assistant"`, and mint an `id` (`msg_…`, `fc_…`) and a `status` for every item that '
           'comes without them.')
def test_output_items(responses_plain: Exchange) -> None:
    """Every output item MUST carry `type` and `id` (and `status` where its schema has one), and the answer MUST be a `message` item with `role: "assistant"`."""
    body = require_object(responses_plain)
    items = body.get("output")
    expect(isinstance(items, list) and items, "the response has no output items",
           expected="output: [{type: 'message', ...}]", actual=items)
    observe("output items", len(items))
    problems = Problems()
    for position, item in enumerate(items):
        for problem in _item_problems(item):
            problems.add(f"output[{position}] ({_label(item)}): {problem}")
    messages = output_items(body, "message")
    problems.expect(messages, f"no `message` item among output types "
                    f"{[_label(i) for i in items]}")
    problems.raise_if_any("output items are malformed")


def _item_problems(item: Any) -> list[str]:
    if not isinstance(item, dict):
        return [f"is {type(item).__name__}, not an object"]
    found = []
    if not isinstance(item.get("type"), str):
        found.append("has no string `type`")
    if not (isinstance(item.get("id"), str) and item["id"]):
        found.append(f"id is {item.get('id')!r}, expected a non-empty string")
    if item.get("type") in ITEMS_WITH_STATUS and item.get("status") not in (
            "in_progress", "completed", "incomplete", "searching", "failed"):
        found.append(f"status is {item.get('status')!r}, expected completed/incomplete/...")
    if item.get("type") == "message" and item.get("role") != "assistant":
        found.append(f"role is {item.get('role')!r}, expected 'assistant'")
    if item.get("type") == "message" and not isinstance(item.get("content"), list):
        found.append(f"content is {type(item.get('content')).__name__}, expected an array")
    return found


def _label(item: Any) -> str:
    return str(item.get("type")) if isinstance(item, dict) else type(item).__name__


@check("responses.response.output-text-part", level=Level.MUST,
       observes="content parts of the message items", operation=OP_CREATE,
       spec=spec("OutputTextContent"), source=SOURCE_DOCS + " (output_text content)",
       fix="Emit message text as `{\"type\": \"output_text\", \"text\": ..., \"annotations\": []}` "
           "parts, not as Chat's `{\"type\": \"text\"}`.")
def test_output_text_part(responses_plain: Exchange) -> None:
    """A message's text content parts MUST have `type: "output_text"` (never Chat's `text`) with a `text` string and an `annotations` array."""
    body = require_object(responses_plain)
    messages = output_items(body, "message")
    if not messages:  # responses.response.output-items requires the message item
        inconclusive("the response has no message item whose parts could be inspected "
                     f"(output: {[_label(i) for i in output_entries(body)]})")
    problems = Problems()
    for message in messages:
        content = message.get("content")
        if content is None:
            continue  # no content at all: responses.response.output-items judges it
        if not isinstance(content, list):
            problems.add(f"message {message.get('id')!r} content is {describe(content)}, "
                         "expected an array of parts")
            continue
        observe("content parts", len(content))
        for c, part in enumerate(content):
            problems.items += _part_problems(f"message {message.get('id')!r} content[{c}]", part)
    problems.raise_if_any("message content parts are not output_text parts",
                          expected={"type": "output_text", "text": "...", "annotations": []})


def _part_problems(where: str, part: Any) -> list[str]:
    if not isinstance(part, dict):
        return [f"{where} is {describe(part)}, not an object"]
    kind = part.get("type")
    if kind == "refusal":
        return []
    found = []
    if kind != "output_text":
        found.append(f"{where} has type {kind!r}, expected 'output_text'"
                     + (" ('text' is the Chat/input part name)" if kind == "text" else ""))
    if not isinstance(part.get("text"), str):
        found.append(f"{where} has no `text` string")
    if not isinstance(part.get("annotations"), list):
        found.append(f"{where} annotations is {part.get('annotations')!r}, expected an array "
                     "(empty when there are none)")
    return found


@check("responses.response.output-text", level=Level.SHOULD,
       observes="the output_text convenience field", operation=OP_CREATE,
       spec=f"{spec('Response')}/properties/output_text", source=SOURCE_DOCS + "; openai-python "
       "`Response.output_text` joins the output_text parts",
       fix="Compute `output_text` as the concatenation of the `text` of every `output_text` part "
           "of the message items, or leave the field out.")
def test_output_text(responses_plain: Exchange) -> None:
    """The `output_text` convenience field, when present, SHOULD equal the joined text of every output_text part of the message items."""
    body = require_object(responses_plain)
    if "output_text" not in body or body["output_text"] is None:
        # Optional (OpenAI's raw body has none; the SDKs compute it): nothing to compare.
        inconclusive("the body has no output_text field (optional: SDKs compute it)")
    joined = message_text(body)
    if not joined and not any(part.get("type") == "output_text"
                              for item in output_items(body, "message")
                              for part in content_parts(item)):
        inconclusive("the message items have no output_text part to compare output_text with "
                     "(see responses.response.output-text-part)")
    observe("output_text fields")
    expect(body["output_text"] == joined,
           "output_text differs from the text of the message items",
           expected=joined, actual=body["output_text"])


def _chat_hint(body: dict[str, Any]) -> str:
    if body.get("object") == "chat.completion":
        return " (it is a chat.completion body, see responses.response.object)"
    return ""
