"""openapi/messages.yaml: the Anthropic Messages contract (issue 11), checked on its own.

The document is not registered with the engine yet, so it is validated here through its own
registry, the way the engine validates the others (``urn:conformance:<file>``). The examples
of ``../shared/reference/anthropic`` (JSON in its .md files, SSE transcripts, ``examples`` in
its schemas) must validate; hand-written wrong payloads must not.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from spec_helpers import OPENAPI_DIR, describe, load_document, parse_sse
from test_documents import resolve_pointer, walk

NAME = "messages.yaml"
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "anthropic"
needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason="anthropic reference absent")

OPERATIONS = {("/messages", "post"): "createMessage",
              ("/messages/count_tokens", "post"): "countMessageTokens",
              ("/models", "get"): "listAnthropicModels"}
# The documented status -> error.type table (docs.claude.com /en/api/errors; errors.md).
ERROR_TYPES = {"400": "invalid_request_error", "401": "authentication_error",
               "403": "permission_error", "404": "not_found_error", "413": "request_too_large",
               "429": "rate_limit_error", "500": "api_error", "529": "overloaded_error"}
EVENTS = {"message_start", "content_block_start", "content_block_delta", "content_block_stop",
          "message_delta", "message_stop", "ping", "error"}
CLOSED_UNIONS = ("ContentBlockParam", "ContentBlock", "ContentBlockDelta", "Tool", "ToolChoice",
                 "ThinkingConfig", "TextCitation", "ImageSource", "DocumentSource",
                 "ToolResultContentBlock")


@functools.cache
def document() -> dict[str, Any]:
    return load_document(NAME)


@functools.cache
def validator(ref: str) -> Draft202012Validator:
    """Validator for a local `#/...` pointer of the document (a schema name is a shorthand)."""
    ref = ref if ref.startswith("#/") else f"#/components/schemas/{ref}"
    registry = Registry().with_resource(f"urn:conformance:{NAME}",
                                        DRAFT202012.create_resource(document()))
    return Draft202012Validator({"$ref": f"urn:conformance:{NAME}{ref}"}, registry=registry)


def problems(schema: str, instance: Any) -> list[str]:
    """'<path>: <message>' of every error, nested ones (if/then branches) included."""
    errs = list(validator(schema).iter_errors(instance))
    return [line.strip().removeprefix("at ") for line in describe(errs).splitlines()]


def assert_valid(schema: str, instance: Any) -> None:
    assert not problems(schema, instance), "\n".join(problems(schema, instance))


def stream_media() -> dict[str, Any]:
    return document()["paths"]["/messages"]["post"]["responses"]["200"]["content"][
        "text/event-stream"]


def dispatch(union: dict[str, Any]) -> dict[Any, str]:
    """`type` value -> `then` $ref of a discriminated allOf/if union."""
    table = {}
    for branch in union.get("allOf", []):
        condition = branch.get("if", {}).get("properties", {}).get("type", {})
        values = [condition["const"]] if "const" in condition else condition.get("enum", [])
        for value in values:
            table[value] = branch["then"].get("$ref", "inline")
    return table


# --------------------------------------------------------------------------- the document


def test_document_is_valid_openapi_31() -> None:
    assert document()["openapi"] == "3.1.0"
    validate(document())


def test_component_schemas_are_valid_json_schema_2020_12() -> None:
    for name, schema in document()["components"]["schemas"].items():
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as exc:  # pragma: no cover - message is the point
            pytest.fail(f"{name}: {exc}")


def test_every_ref_resolves_and_is_local() -> None:
    refs = [(where, node["$ref"]) for where, node in walk(document()) if "$ref" in node]
    assert refs
    for where, ref in refs:
        assert ref.startswith("#/components/"), f"{where}: {ref}"
        resolve_pointer(document(), ref)


def test_same_style_as_the_other_documents() -> None:
    """No OpenAPI 3.0 leftovers or oneOf, open objects, short lines (SOURCES.md §1)."""
    for where, node in walk(document()["components"]["schemas"], "#/components/schemas"):
        for banned in ("nullable", "oneOf", "discriminator", "example"):
            assert banned not in node, where
    for name, schema in document()["components"]["schemas"].items():
        assert schema.get("additionalProperties") is not False, name
    text = (OPENAPI_DIR / NAME).read_text(encoding="utf-8")
    assert max(len(line) for line in text.splitlines()) <= 160


def test_operations_headers_and_auth() -> None:
    doc = document()
    assert doc["security"] == [{"XApiKeyAuth": []}, {"BearerAuth": []}]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["XApiKeyAuth"] == {**schemes["XApiKeyAuth"], "type": "apiKey",
                                      "in": "header", "name": "x-api-key"}
    assert (schemes["BearerAuth"]["type"], schemes["BearerAuth"]["scheme"]) == ("http", "bearer")
    for (path, method), op_id in OPERATIONS.items():
        op = doc["paths"][path][method]
        assert op["operationId"] == op_id
        params = [resolve_pointer(doc, p["$ref"]) if "$ref" in p else p for p in op["parameters"]]
        version = next(p for p in params if p["name"] == "anthropic-version")
        assert (version["in"], version["required"]) == ("header", True), path
        assert "application/json" in op["responses"]["200"]["content"]


@pytest.mark.parametrize("status", sorted(ERROR_TYPES))
def test_each_error_status_pins_its_documented_type(status: str) -> None:
    doc = document()
    for path, method in OPERATIONS:
        response = resolve_pointer(doc, doc["paths"][path][method]["responses"][status]["$ref"])
        ref = response["content"]["application/json"]["schema"]["$ref"]
        envelope = {"type": "error", "error": {"type": ERROR_TYPES[status], "message": "m"}}
        assert_valid(ref, envelope)
        wrong = "api_error" if status != "500" else "invalid_request_error"
        assert problems(ref, {**envelope, "error": {"type": wrong, "message": "m"}}), status
        if status in ("429", "529"):
            assert "retry-after" in response["headers"]


def test_stream_extensions() -> None:
    media = stream_media()
    assert media["x-sse-framing"] == "named-events"
    assert media["x-sse-item-schema"] == {"$ref": "#/components/schemas/MessageStreamEvent"}
    # a Messages stream ends after message_stop when the connection closes: no [DONE]
    assert "x-sse-terminator" not in media and "x-sse-optional-terminator" not in media
    assert set(media["x-sse-events"]) == EVENTS


def test_every_sse_event_has_its_schema_and_branch() -> None:
    """Each x-sse-events entry names a schema whose `type` const is the event name, and the
    union dispatches that type to the same schema; the union lists them as known values."""
    events = stream_media()["x-sse-events"]
    union = document()["components"]["schemas"]["MessageStreamEvent"]
    for name, ref in events.items():
        schema = resolve_pointer(document(), ref["$ref"])
        assert schema["properties"]["type"] == {"const": name}, name
        assert "type" in schema["required"], name
    assert dispatch(union) == {name: ref["$ref"] for name, ref in events.items()}
    assert set(union["properties"]["type"]["x-known-values"]) == EVENTS


@pytest.mark.parametrize("name", CLOSED_UNIONS)
def test_known_types_match_union(name: str) -> None:
    node = document()["components"]["schemas"][name]
    prop = node["properties"]["type"]
    enum = prop.get("enum") or prop["anyOf"][0]["enum"]
    assert enum == node["x-known-types"]
    assert set(dispatch(node)) - {None} <= set(enum)


@pytest.mark.parametrize("name", ["ContentBlockParam", "ContentBlock", "ContentBlockDelta",
                                  "Tool", "TextCitation"])
def test_every_known_type_has_a_branch(name: str) -> None:
    node = document()["components"]["schemas"][name]
    assert set(node["x-known-types"]) <= set(dispatch(node)), name


# --------------------------------------------------------------------------- valid payloads

REQUEST = {"model": "claude-sonnet-4-5", "max_tokens": 64,
           "messages": [{"role": "user", "content": "Hi"}]}
MESSAGE = {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
           "content": [{"type": "text", "text": "Hello."}], "stop_reason": "end_turn",
           "stop_sequence": None, "usage": {"input_tokens": 9, "output_tokens": 3}}
TOOL_USE = {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Oslo"}}


def test_requests_in_every_documented_form() -> None:
    assert_valid("CreateMessageRequest", REQUEST)
    assert_valid("CreateMessageRequest", {
        **REQUEST,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "stop_sequences": ["END"], "temperature": 1.0, "top_k": 5, "top_p": 0.9,
        "metadata": {"user_id": "u-1"}, "stream": True,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "tools": [{"name": "get_weather", "input_schema": {"type": "object"}},
                  {"type": "web_search_20250305", "name": "web_search"}],
        "tool_choice": {"type": "tool", "name": "get_weather"},
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Weather?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                             "data": "iVBORw0KGgo="}}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "...", "signature": "sig"}, TOOL_USE]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "is_error": False,
                 "content": [{"type": "text", "text": "12 C"}]}]}]})
    for choice in ({"type": "auto"}, {"type": "any"}, {"type": "none"}):
        assert_valid("ToolChoice", choice)
    assert_valid("CountMessageTokensRequest", {"model": "claude-sonnet-4-5",
                                               "messages": REQUEST["messages"], "system": "Hi"})


def test_responses_of_every_operation() -> None:
    assert_valid("Message", MESSAGE)
    assert_valid("Message", {**MESSAGE, "content": [TOOL_USE], "stop_reason": "tool_use"})
    assert_valid("Message", {**MESSAGE, "stop_reason": "stop_sequence", "stop_sequence": "END"})
    assert_valid("MessageTokensCount", {"input_tokens": 14})
    assert_valid("ListModelsResponse", {
        "data": [{"type": "model", "id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5",
                  "created_at": "2025-09-29T00:00:00Z"}],
        "has_more": False, "first_id": "claude-sonnet-4-5", "last_id": "claude-sonnet-4-5"})


TOOL_STREAM = [
    {"type": "message_start", "message": {**MESSAGE, "content": [], "stop_reason": None,
                                          "usage": {"input_tokens": 40, "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0,
     "content_block": {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {}}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0,
     "delta": {"type": "input_json_delta", "partial_json": "{\"city\": \"Oslo\"}"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
     "usage": {"output_tokens": 17}},
    {"type": "message_stop"},
]


def test_a_tool_stream_validates_event_by_event() -> None:
    events = stream_media()["x-sse-events"]
    for event in TOOL_STREAM:
        assert_valid(events[event["type"]]["$ref"], event)
        assert_valid("MessageStreamEvent", event)


def test_an_unknown_event_type_passes_the_open_union() -> None:
    """The official docs tell clients to ignore unknown events (SOURCES.md §8, M-T08)."""
    assert_valid("MessageStreamEvent", {"type": "future_event", "anything": 1})


# --------------------------------------------------------------------------- invalid payloads


def _without(payload: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != key}


def _replace(payload: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    node = changed
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return changed


@pytest.mark.parametrize("schema,payload,where", [
    # the brief's three
    ("CreateMessageRequest", _without(REQUEST, "max_tokens"), "/"),
    ("Message", {**MESSAGE, "stop_reason": "stop"}, "/stop_reason"),
    ("CreateMessageRequest", _replace(REQUEST, ("messages", 0, "role"), "model"),
     "/messages/0/role"),
    # siblings: other OpenAI or Gemini vocabulary leaking through a translation
    ("Message", {**MESSAGE, "stop_reason": "length"}, "/stop_reason"),
    ("CreateMessageRequest", _replace(REQUEST, ("messages", 0, "role"), "tool"),
     "/messages/0/role"),
    ("ErrorResponse", {"error": {"message": "m", "type": "invalid_request_error",
                                 "param": None, "code": None}}, "/"),
    ("Message", {**MESSAGE, "content": [{**TOOL_USE, "input": "{\"city\": \"Oslo\"}"}],
                 "stop_reason": "tool_use"}, "/content/0/input"),
    ("Message", {**MESSAGE, "stop_reason": "stop_sequence"}, "/stop_sequence"),
    ("Message", {**MESSAGE, "stop_reason": None}, "/stop_reason"),
    ("Message", {**MESSAGE, "usage": {"prompt_tokens": 9, "completion_tokens": 3}}, "/usage"),
    ("MessageDeltaEvent", {"type": "message_delta", "usage": {"output_tokens": 3},
                           "delta": {"stop_reason": None, "stop_sequence": None}},
     "/delta/stop_reason"),
    ("MessageStartEvent", {"type": "message_start", "message": {**MESSAGE}}, "/message/content"),
    ("ContentBlockDeltaEvent", {"type": "content_block_delta", "index": 0,
                                "delta": {"type": "reasoning_delta", "text": "x"}}, "/delta/type"),
    ("CreateMessageRequest", {**REQUEST, "temperature": 1.5}, "/temperature"),
    ("CreateMessageRequest", {**REQUEST, "messages": []}, "/messages"),
    ("ToolChoice", {"type": "tool"}, "/"),
    ("ModelInfo", {"type": "model", "id": "m", "display_name": "M", "created_at": 1727568000},
     "/created_at"),
])
def test_wrong_payloads_are_rejected(schema: str, payload: Any, where: str) -> None:
    found = problems(schema, payload)
    assert any(p.startswith(f"{where}:") for p in found), found


# --------------------------------------------------------------------------- the reference


def reference_examples() -> list[Any]:
    """(file, kind, payload) for the JSON and SSE examples of ../shared/reference/anthropic."""
    if not REFERENCE.is_dir():
        return []
    found = []
    for md in sorted(REFERENCE.glob("*.md")):
        for tag, body in re.findall(r"```(\w*)\n(.*?)```", md.read_text(encoding="utf-8"), re.S):
            if "event:" in body and "data:" in body:
                found.append(pytest.param("sse", body, id=f"{md.name}:sse"))
            elif tag == "json":
                found.append(pytest.param("json", json.loads(body), id=f"{md.name}:json"))
    for path in sorted((REFERENCE / "schemas").glob("*.json")):
        for i, example in enumerate(json.loads(path.read_text()).get("examples", [])):
            found.append(pytest.param("json", example, id=f"{path.name}:{i}"))
    return found


def component_for(payload: dict[str, Any]) -> str:
    """Which component an example is an instance of, told by its shape."""
    if payload.get("type") == "message":
        return "Message"
    if payload.get("type") == "error":
        return "ErrorResponse"
    if set(payload) == {"input_tokens"}:
        return "MessageTokensCount"
    if "data" in payload and "has_more" in payload:
        return "ListModelsResponse"
    if "max_tokens" in payload:
        return "CreateMessageRequest"
    return "MessageStreamEvent"


@needs_reference
def test_the_reference_has_examples() -> None:
    kinds = [param.values[0] for param in reference_examples()]
    assert kinds.count("json") >= 2 and kinds.count("sse") >= 2, kinds


@pytest.mark.parametrize("kind,example", reference_examples())
def test_reference_examples_validate(kind: str, example: Any) -> None:
    if kind == "json":
        assert_valid(component_for(example), example)
        return
    events = stream_media()["x-sse-events"]
    for frame in parse_sse(example):
        payload = json.loads(frame["data"])
        assert frame["event"] == payload["type"]
        assert_valid(events[frame["event"]]["$ref"], payload)


def reference_schema(name: str) -> dict[str, Any]:
    return json.loads((REFERENCE / "schemas" / name).read_text(encoding="utf-8"))


@needs_reference
def test_enums_match_the_sdk_derived_reference() -> None:
    """Closed sets equal the reference's (SDK 0.121): a new value must be added here too."""
    schemas = document()["components"]["schemas"]
    message = reference_schema("message.schema.json")["$defs"]
    assert schemas["StopReason"]["enum"] == message["StopReason"]["enum"]
    assert set(schemas["ErrorObject"]["properties"]["type"]["x-known-values"]) == set(
        message["ErrorObject"]["properties"]["type"]["enum"])
    deltas = reference_schema("stream_event.schema.json")["$defs"]["ContentBlockDelta"]
    assert set(schemas["ContentBlockDelta"]["x-known-types"]) == {
        resolve_pointer({"$defs": reference_schema("stream_event.schema.json")["$defs"]},
                        branch["$ref"])["properties"]["type"]["const"]
        for branch in deltas["properties"]["delta"]["anyOf"]}


@needs_reference
@pytest.mark.parametrize("ours,file,theirs", [
    ("CreateMessageRequest", "message_create_request.schema.json", None),
    ("MessageBase", "message.schema.json", "Message"),
    ("Usage", "message.schema.json", "Usage"),
    ("ErrorResponse", "error_response.schema.json", None),
    ("ListModelsResponse", "model_list.schema.json", None),
    ("ModelInfo", "model_list.schema.json", "ModelInfo"),
    ("MessageTokensCount", "count_tokens_response.schema.json", None),
    ("MessageDeltaUsage", "stream_event.schema.json", None),
])
def test_required_keys_cover_the_reference(ours: str, file: str, theirs: str | None) -> None:
    reference = reference_schema(file)
    if ours == "MessageDeltaUsage":
        reference = reference["$defs"]["MessageDelta"]["properties"]["usage"]
    elif theirs:
        reference = reference["$defs"][theirs]
    mine = set(document()["components"]["schemas"][ours]["required"])
    assert set(reference["required"]) <= mine, sorted(set(reference["required"]) - mine)


# --------------------------------------------------------------------------- the official types

SOURCES_MD = OPENAPI_DIR / "SOURCES.md"
# Keys the official types require, for our plain-object components: the properties without `?`
# in anthropic-sdk-typescript 0.120.0 (bfa9197f); one typed `X | null` must still be present.
# (MidConversationSystemBlockParam: anthropic-sdk-python 0.121.0, 009b0353.)
OFFICIAL_REQUIRED = {
    "CreateMessageRequest": {"model", "max_tokens", "messages"},
    "CountMessageTokensRequest": {"model", "messages"},
    "MessageParam": {"role", "content"},
    "TextBlockParam": {"type", "text"},
    "ImageBlockParam": {"type", "source"},
    "DocumentBlockParam": {"type", "source"},
    "SearchResultBlockParam": {"type", "content", "source", "title"},
    "ToolResultBlockParam": {"type", "tool_use_id"},
    "MidConversationSystemBlockParam": {"type", "content"},
    "CustomTool": {"name", "input_schema"},
    "CacheControlEphemeral": {"type"},
    "MessageBase": {"id", "type", "role", "content", "model", "stop_reason", "stop_sequence",
                    "usage", "container", "stop_details"},
    "TextBlock": {"type", "text", "citations"},
    "ThinkingBlock": {"type", "thinking", "signature"},
    "RedactedThinkingBlock": {"type", "data"},
    "ToolUseBlock": {"type", "id", "name", "input", "caller"},
    "ServerToolUseBlock": {"type", "id", "name", "input", "caller"},
    "ServerToolResultBlock": {"type", "tool_use_id", "content", "caller"},
    "ContainerUploadBlock": {"type", "file_id"},
    "Usage": {"input_tokens", "output_tokens", "cache_creation_input_tokens",
              "cache_read_input_tokens", "cache_creation", "inference_geo",
              "output_tokens_details", "server_tool_use", "service_tier"},
    "MessageDeltaUsage": {"output_tokens", "input_tokens", "cache_creation_input_tokens",
                          "cache_read_input_tokens", "output_tokens_details", "server_tool_use"},
    "MessageDelta": {"stop_reason", "stop_sequence", "container", "stop_details"},
    "CacheCreation": {"ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"},
    "ServerToolUsage": {"web_search_requests", "web_fetch_requests"},
    "OutputTokensDetails": {"thinking_tokens"},
    "RefusalStopDetails": {"type", "category", "explanation"},
    "Container": {"id", "expires_at", "skills"},
    "MessageTokensCount": {"input_tokens"},
    "MessageStartEvent": {"type", "message"},
    "ContentBlockStartEvent": {"type", "index", "content_block"},
    "ContentBlockDeltaEvent": {"type", "index", "delta"},
    "ContentBlockStopEvent": {"type", "index"},
    "MessageDeltaEvent": {"type", "delta", "usage"},
    "MessageStopEvent": {"type"},
    "ErrorResponse": {"type", "error", "request_id"},
    "ErrorObject": {"type", "message"},
    "ListModelsResponse": {"data", "has_more", "first_id", "last_id"},
    "ModelInfo": {"type", "id", "display_name", "created_at", "capabilities", "max_input_tokens",
                  "max_tokens"},
}
# Where we deliberately require less, each with its SOURCES.md row (§8).
LENIENCIES = {
    "MessageBase": {"container": "M-T01", "stop_details": "M-T01"},
    "TextBlock": {"citations": "M-T05"},
    "ToolUseBlock": {"caller": "M-T06"},
    "ServerToolUseBlock": {"caller": "M-T06"},
    "ServerToolResultBlock": {"caller": "M-T06"},
    "Usage": {key: "M-T02" for key in ("cache_creation_input_tokens", "cache_read_input_tokens",
                                       "cache_creation", "inference_geo",
                                       "output_tokens_details", "server_tool_use",
                                       "service_tier")},
    "MessageDeltaUsage": {key: "M-T03" for key in ("input_tokens", "cache_creation_input_tokens",
                                                   "cache_read_input_tokens",
                                                   "output_tokens_details", "server_tool_use")},
    "MessageDelta": {"container": "M-T04", "stop_details": "M-T04"},
    "ServerToolUsage": {"web_fetch_requests": "M-T09"},
    "ModelInfo": {key: "M-T09" for key in ("capabilities", "max_input_tokens", "max_tokens")},
    "ErrorResponse": {"request_id": "M-T07"},
}


@pytest.mark.parametrize("name", sorted(OFFICIAL_REQUIRED))
def test_at_least_as_strict_as_the_official_types(name: str) -> None:
    ours = set(document()["components"]["schemas"][name]["required"])
    assert OFFICIAL_REQUIRED[name] - ours == set(LENIENCIES.get(name, {})), name


def test_every_leniency_names_a_sources_row() -> None:
    text = SOURCES_MD.read_text(encoding="utf-8")
    anchors = {anchor for rows in LENIENCIES.values() for anchor in rows.values()}
    assert not {anchor for anchor in anchors if f"| {anchor} |" not in text}
