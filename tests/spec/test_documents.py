"""Structural checks of openapi/chat.yaml and openapi/responses.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from spec_helpers import DOCUMENTS, OPENAPI_DIR, load_document

REFERENCE = Path("/work/shared/reference/openai")

REQUIRED_COMPONENTS = {
    "chat.yaml": {
        "CreateChatCompletionRequest", "CreateChatCompletionResponse",
        "CreateChatCompletionStreamResponse", "CompletionUsage", "ErrorResponse",
        "ListModelsResponse", "Model", "ChatCompletionMessageToolCall",
        "ChatCompletionMessageToolCallChunk",
    },
    "responses.yaml": {
        "CreateResponseRequest", "Response", "ResponseUsage", "OutputItem",
        "ResponseStreamEvent", "ErrorResponse",
    },
}
OPERATIONS = {
    "chat.yaml": {("/chat/completions", "post"): "createChatCompletion",
                  ("/models", "get"): "listModels"},
    "responses.yaml": {("/responses", "post"): "createResponse",
                       ("/responses/{response_id}", "get"): "getResponse"},
}
ERROR_STATUSES = ("400", "401", "403", "404", "429", "500")
RESPONSE_EVENT_TYPES = {
    # lifecycle
    "response.created", "response.in_progress", "response.completed", "response.incomplete",
    "response.failed", "response.queued", "error",
    # items, parts, text, refusal
    "response.output_item.added", "response.output_item.done",
    "response.content_part.added", "response.content_part.done",
    "response.output_text.delta", "response.output_text.done",
    "response.output_text.annotation.added",
    "response.refusal.delta", "response.refusal.done",
    # tool-call arguments
    "response.function_call_arguments.delta", "response.function_call_arguments.done",
    "response.custom_tool_call_input.delta", "response.custom_tool_call_input.done",
    # reasoning
    "response.reasoning_text.delta", "response.reasoning_text.done",
    "response.reasoning_summary_part.added", "response.reasoning_summary_part.done",
    "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done",
    # hosted tools
    "response.web_search_call.in_progress", "response.web_search_call.searching",
    "response.web_search_call.completed",
    "response.file_search_call.in_progress", "response.file_search_call.searching",
    "response.file_search_call.completed",
    "response.code_interpreter_call.in_progress", "response.code_interpreter_call.interpreting",
    "response.code_interpreter_call.completed",
    "response.code_interpreter_call_code.delta", "response.code_interpreter_call_code.done",
    "response.image_generation_call.in_progress", "response.image_generation_call.generating",
    "response.image_generation_call.partial_image", "response.image_generation_call.completed",
    "response.mcp_call.in_progress", "response.mcp_call.completed", "response.mcp_call.failed",
    "response.mcp_call_arguments.delta", "response.mcp_call_arguments.done",
    "response.mcp_list_tools.in_progress", "response.mcp_list_tools.completed",
    "response.mcp_list_tools.failed",
    "response.shell_call_command.added", "response.shell_call_command.delta",
    "response.shell_call_command.done",
    "response.shell_call_output_content.delta", "response.shell_call_output_content.done",
    # audio
    "response.audio.delta", "response.audio.done",
    "response.audio.transcript.delta", "response.audio.transcript.done",
}


def walk(node: Any, path: str = "#") -> Any:
    """Yield (json-pointer, dict) for every mapping in the document."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from walk(value, f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}/{i}")


def resolve_pointer(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"non-local $ref {ref!r}"
    node: Any = doc
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def sse_media(doc: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return doc["paths"][path][method]["responses"]["200"]["content"]["text/event-stream"]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_document_is_valid_openapi_31(name: str) -> None:
    doc = load_document(name)
    assert doc["openapi"] == "3.1.0"
    validate(doc)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_info_versions(name: str) -> None:
    info = load_document(name)["info"]
    assert info["version"] == "2026.11.0"
    assert info["x-official-reference"] == "openai-openapi 2.3.0 (f85dbe22)"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_server_convention(name: str) -> None:
    servers = load_document(name)["servers"]
    assert servers[0]["url"] == "{baseUrl}"
    assert servers[0]["variables"]["baseUrl"]["default"] == "http://127.0.0.1:8000/v1"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_operations_and_error_responses(name: str) -> None:
    doc = load_document(name)
    for (path, method), op_id in OPERATIONS[name].items():
        op = doc["paths"][path][method]
        assert op["operationId"] == op_id
        assert "application/json" in op["responses"]["200"]["content"]
        for status in ERROR_STATUSES:
            if name == "chat.yaml" and path == "/models" and status == "400":
                continue  # a GET without parameters has no 400 case
            response = op["responses"][status]
            if "$ref" in response:
                response = resolve_pointer(doc, response["$ref"])
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (path, status)
            if status == "429":
                assert "Retry-After" in response["headers"]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_ref_resolves_and_is_local(name: str) -> None:
    doc = load_document(name)
    refs = [(where, node["$ref"]) for where, node in walk(doc) if "$ref" in node]
    assert refs
    for where, ref in refs:
        assert ref.startswith("#/components/"), f"{where}: {ref}"
        resolve_pointer(doc, ref)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_required_component_names(name: str) -> None:
    schemas = load_document(name)["components"]["schemas"]
    missing = REQUIRED_COMPONENTS[name] - set(schemas)
    assert not missing


@pytest.mark.parametrize("name", DOCUMENTS)
def test_component_schemas_are_valid_json_schema_2020_12(name: str) -> None:
    for schema_name, schema in load_document(name)["components"]["schemas"].items():
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as exc:  # pragma: no cover - message is the point
            pytest.fail(f"{schema_name}: {exc}")


@pytest.mark.parametrize("name", DOCUMENTS)
def test_openapi_31_style(name: str) -> None:
    """No OpenAPI 3.0 leftovers, no oneOf (overlapping unions), no closed top-level objects."""
    doc = load_document(name)
    for where, node in walk(doc["components"]["schemas"], "#/components/schemas"):
        assert "nullable" not in node, where
        assert "oneOf" not in node, where
        assert "discriminator" not in node, where
        assert "example" not in node, where
    for schema_name, schema in doc["components"]["schemas"].items():
        assert schema.get("additionalProperties") is not False, schema_name


def test_error_envelope_shape() -> None:
    for name in DOCUMENTS:
        doc = load_document(name)
        err = resolve_pointer(doc, doc["components"]["schemas"]["ErrorResponse"]["properties"]
                              ["error"]["$ref"])
        assert set(err["required"]) == {"message", "type", "param", "code"}
        assert err["properties"]["param"]["type"] == ["string", "null"]
        assert err["properties"]["code"]["type"] == ["string", "null"]


def test_chat_stream_extensions(chat_doc: dict[str, Any]) -> None:
    media = sse_media(chat_doc, "/chat/completions", "post")
    assert media["x-sse-item-schema"] == {
        "$ref": "#/components/schemas/CreateChatCompletionStreamResponse"}
    assert media["x-sse-terminator"] == "[DONE]"
    assert media["x-sse-framing"] == "data-only"
    assert media["x-sse-error-schema"] == {"$ref": "#/components/schemas/ErrorResponse"}


@pytest.mark.parametrize(
    "path,method", [("/responses", "post"), ("/responses/{response_id}", "get")])
def test_responses_stream_extensions(responses_doc: dict[str, Any], path: str, method: str) -> None:
    media = sse_media(responses_doc, path, method)
    assert media["x-sse-item-schema"] == {"$ref": "#/components/schemas/ResponseStreamEvent"}
    assert media["x-sse-framing"] == "named-events"
    assert media["x-sse-optional-terminator"] == "[DONE]"
    assert set(media["x-sse-events"]) == RESPONSE_EVENT_TYPES


def test_every_sse_event_has_matching_schema(responses_doc: dict[str, Any]) -> None:
    """Each x-sse-events entry points at a schema whose `type` const is the event name,
    which requires an integer sequence_number, and which the union dispatches to."""
    events = sse_media(responses_doc, "/responses", "post")["x-sse-events"]
    union = responses_doc["components"]["schemas"]["ResponseStreamEvent"]
    dispatch = {
        branch["if"]["properties"]["type"]["const"]: branch["then"]["$ref"]
        for branch in union["allOf"]
    }
    assert set(union["properties"]["type"]["enum"]) == set(events) == set(dispatch)
    schema_names = set()
    for event_name, ref in events.items():
        schema = resolve_pointer(responses_doc, ref["$ref"])
        assert schema["properties"]["type"] == {"const": event_name}, event_name
        assert {"type", "sequence_number"} <= set(schema["required"]), event_name
        seq = resolve_pointer(responses_doc, schema["properties"]["sequence_number"]["$ref"])
        assert seq["type"] == "integer"
        assert dispatch[event_name] == ref["$ref"], event_name
        schema_names.add(ref["$ref"])
    assert len(schema_names) == len(events), "one schema per event type"


@pytest.mark.parametrize("name,schema", [
    ("responses.yaml", "OutputItem"), ("responses.yaml", "InputItem"), ("responses.yaml", "Tool"),
])
def test_known_types_match_union(name: str, schema: str) -> None:
    node = load_document(name)["components"]["schemas"][schema]
    enum = node["properties"]["type"].get("enum") or node["properties"]["type"]["anyOf"][0]["enum"]
    assert enum == node["x-known-types"]


def test_output_item_covers_required_kinds(responses_doc: dict[str, Any]) -> None:
    known = set(responses_doc["components"]["schemas"]["OutputItem"]["x-known-types"])
    assert {"message", "function_call", "reasoning", "web_search_call",
            "file_search_call"} <= known


def test_documents_are_plain_yaml_not_json_dumps() -> None:
    """Hand-maintained YAML: keep it readable (no single-line JSON blobs)."""
    for name in DOCUMENTS:
        text = (OPENAPI_DIR / name).read_text(encoding="utf-8")
        assert max(len(line) for line in text.splitlines()) <= 160, name


# -- drift against the official reference (only where the reference folder exists) ------------

needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason="official reference absent")


@needs_reference
def test_event_types_match_official_union() -> None:
    official = json.loads((REFERENCE / "response_stream_events.json").read_text())
    official_types = {entry["type"] for entry in official["x-event-index"]}
    assert official_types == RESPONSE_EVENT_TYPES


def official_fields(file: str, root: str) -> tuple[set[str], set[str]]:
    """Properties and required names of an official schema, through its allOf parts and $refs."""
    official = json.loads((REFERENCE / file).read_text())
    fields: set[str] = set()
    required: set[str] = set()
    stack = [official["$defs"][root]]
    while stack:
        node = stack.pop()
        if "$ref" in node:
            stack.append(official["$defs"][node["$ref"].split("/")[-1]])
        fields |= set(node.get("properties", {}))
        required |= set(node.get("required", []))
        stack.extend(node.get("allOf", []))
    return fields, required


@needs_reference
def test_chat_request_fields_cover_official(chat_doc: dict[str, Any]) -> None:
    fields, _ = official_fields("chat_completions_request.json", "CreateChatCompletionRequest")
    ours = set(chat_doc["components"]["schemas"]["CreateChatCompletionRequest"]["properties"])
    assert fields <= ours, sorted(fields - ours)


@needs_reference
def test_responses_request_fields_cover_official(responses_doc: dict[str, Any]) -> None:
    fields, _ = official_fields("responses_request.json", "CreateResponse")
    ours = set(responses_doc["components"]["schemas"]["CreateResponseRequest"]["properties"])
    assert fields <= ours, sorted(fields - ours)


@needs_reference
def test_response_fields_cover_official(responses_doc: dict[str, Any]) -> None:
    fields, required = official_fields("response_object.json", "Response")
    schemas = responses_doc["components"]["schemas"]
    assert fields <= set(schemas["Response"]["properties"]), sorted(fields - set(
        schemas["Response"]["properties"]))
    ours_required = set(schemas["Response"]["required"]) | set(
        schemas["ResponseStrict"]["allOf"][1]["required"])
    assert required <= ours_required, sorted(required - ours_required)
