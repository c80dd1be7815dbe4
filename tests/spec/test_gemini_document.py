"""openapi/gemini.yaml: the Gemini contract (issue 12), checked on its own.

Validated through a registry of its own (``urn:conformance:gemini.yaml``), the way the engine
validates registered documents. The examples of ``../shared/reference/gemini`` (JSON and SSE in
its .md files) must validate; hand-written wrong payloads must fail at the expected path; the
enums and wire names agree with the reference and with the official google-genai SDK.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from spec_helpers import OPENAPI_DIR, load_document, own_problems, parse_sse
from test_documents import resolve_pointer, walk

NAME = "gemini.yaml"
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "gemini"
needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason="gemini reference absent")

OPERATIONS = {("/models/{model}:generateContent", "post"): "generateContent",
              ("/models/{model}:streamGenerateContent", "post"): "streamGenerateContent",
              ("/models/{model}:countTokens", "post"): "countTokens",
              ("/models", "get"): "listGeminiModels",
              ("/models/{model}", "get"): "getGeminiModel"}
# HTTP status -> the status strings its error schema allows (google.rpc.Code's HTTP mapping).
ERROR_STATUSES = {"400": {"INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE"},
                  "401": {"UNAUTHENTICATED"}, "403": {"PERMISSION_DENIED"},
                  "404": {"NOT_FOUND"}, "429": {"RESOURCE_EXHAUSTED"},
                  "500": {"INTERNAL", "UNKNOWN", "DATA_LOSS"}, "503": {"UNAVAILABLE"},
                  "504": {"DEADLINE_EXCEEDED"}}


def document() -> dict[str, Any]:
    return load_document(NAME)


def schemas() -> dict[str, Any]:
    return document()["components"]["schemas"]


def problems(schema: str, instance: Any) -> list[str]:
    return own_problems(NAME, schema, instance)


def assert_valid(schema: str, instance: Any) -> None:
    assert not problems(schema, instance), "\n".join(problems(schema, instance))


def stream_content() -> dict[str, Any]:
    op = document()["paths"]["/models/{model}:streamGenerateContent"]["post"]
    return op["responses"]["200"]["content"]


# --------------------------------------------------------------------------- the document


def test_document_is_valid_openapi_31() -> None:
    assert document()["openapi"] == "3.1.0"
    validate(document())


def test_component_schemas_are_valid_json_schema_2020_12() -> None:
    for name, schema in schemas().items():
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
    for where, node in walk(schemas(), "#/components/schemas"):
        for banned in ("nullable", "oneOf", "discriminator", "example"):
            assert banned not in node, where
        assert node.get("additionalProperties") is not False, where
    text = (OPENAPI_DIR / NAME).read_text(encoding="utf-8")
    assert max(len(line) for line in text.splitlines()) <= 160


def test_operations_and_auth() -> None:
    doc = document()
    assert doc["servers"][0]["variables"]["baseUrl"]["default"].endswith("/v1beta")
    assert doc["security"] == [{"GoogApiKeyHeader": []}, {"GoogApiKeyQuery": []},
                               {"BearerAuth": []}]
    schemes = doc["components"]["securitySchemes"]
    where = {name: (scheme.get("in"), scheme.get("name")) for name, scheme in schemes.items()}
    assert where["GoogApiKeyHeader"] == ("header", "x-goog-api-key")
    assert where["GoogApiKeyQuery"] == ("query", "key")
    assert (schemes["BearerAuth"]["type"], schemes["BearerAuth"]["scheme"]) == ("http", "bearer")
    assert {(path, method) for path, item in doc["paths"].items() for method in item} == set(
        OPERATIONS)
    for (path, method), op_id in OPERATIONS.items():
        assert doc["paths"][path][method]["operationId"] == op_id
        assert "application/json" in doc["paths"][path][method]["responses"]["200"]["content"]


def test_stream_extensions() -> None:
    """Data-only SSE of GenerateContentResponse, no terminator; the array form without alt."""
    sse = stream_content()["text/event-stream"]
    assert sse["x-sse-framing"] == "data-only"
    assert sse["x-sse-item-schema"] == {"$ref": "#/components/schemas/GenerateContentResponse"}
    assert sse["x-sse-final-item-schema"] == {
        "$ref": "#/components/schemas/FinishedGenerateContentResponse"}
    assert sse["x-sse-error-schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
    assert not {"x-sse-terminator", "x-sse-optional-terminator", "x-sse-events"} & set(sse)
    array = stream_content()["application/json"]["schema"]
    assert array["type"] == "array"
    assert array["items"] == {"$ref": "#/components/schemas/GenerateContentResponse"}
    params = document()["paths"]["/models/{model}:streamGenerateContent"]["post"]["parameters"]
    alt = next(p for p in params if p.get("name") == "alt")
    assert (alt["in"], alt["required"], "sse" in alt["schema"]["enum"]) == ("query", False, True)


@pytest.mark.parametrize("status", sorted(ERROR_STATUSES))
def test_each_error_status_pins_its_code_and_status(status: str) -> None:
    doc = document()
    for (path, method) in OPERATIONS:
        ref = doc["paths"][path][method]["responses"].get(status, {}).get("$ref")
        if ref is None:
            continue  # GET /models has no 404 or 504
        schema = resolve_pointer(doc, ref)["content"]["application/json"]["schema"]["$ref"]
        for name in ERROR_STATUSES[status]:
            assert_valid(schema, {"error": {"code": int(status), "message": "m", "status": name}})
        wrong = "INTERNAL" if status != "500" else "INVALID_ARGUMENT"
        assert problems(schema, {"error": {"code": int(status), "message": "m", "status": wrong}})
        assert problems(schema, {"error": {"code": 418, "message": "m",
                                           "status": sorted(ERROR_STATUSES[status])[0]}})


# --------------------------------------------------------------------------- valid payloads

REQUEST = {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}
RESPONSE = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hello."}]},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2,
                              "totalTokenCount": 6},
            "modelVersion": "gemini-2.5-flash", "responseId": "r1"}
CALL = {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
        "thoughtSignature": "c2ln"}


def test_requests_in_every_documented_form() -> None:
    assert_valid("GenerateContentRequest", REQUEST)
    assert_valid("GenerateContentRequest", {"contents": [{"parts": [{"text": "Hi"}]}]})
    assert_valid("GenerateContentRequest", {
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [
            {"role": "user", "parts": [
                {"text": "Weather?"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]},
            {"role": "model", "parts": [CALL]},
            {"role": "user", "parts": [{"functionResponse": {
                "name": "get_weather", "response": {"output": "12 C"}}}]}],
        "generationConfig": {
            "temperature": 2, "topP": 0.9, "topK": 40, "maxOutputTokens": 64,
            "candidateCount": 2, "stopSequences": ["END"], "seed": 7,
            "responseMimeType": "application/json",
            "responseSchema": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}},
            "thinkingConfig": {"includeThoughts": True, "thinkingBudget": -1}},
        "tools": [{"functionDeclarations": [{
            "name": "get_weather", "description": "Weather of a city",
            "parametersJsonSchema": {"type": "object",
                                     "properties": {"city": {"type": "string"}}}}]},
            {"googleSearch": {}}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY",
                                                 "allowedFunctionNames": ["get_weather"]}},
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]})
    for mode in ("AUTO", "ANY", "NONE"):
        assert_valid("ToolConfig", {"functionCallingConfig": {"mode": mode}})
    assert_valid("CountTokensRequest", {"contents": REQUEST["contents"]})
    assert_valid("CountTokensRequest", {"generateContentRequest": {
        **REQUEST, "model": "models/gemini-2.5-flash",
        "systemInstruction": {"parts": [{"text": "Be brief."}]}}})


def test_responses_of_every_operation() -> None:
    assert_valid("FinishedGenerateContentResponse", RESPONSE)
    assert_valid("FinishedGenerateContentResponse", {
        **RESPONSE,
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "Let me think.", "thought": True}, CALL]}, "finishReason": "STOP",
            "safetyRatings": [{"category": "HARM_CATEGORY_HATE_SPEECH",
                               "probability": "NEGLIGIBLE"}]}],
        "usageMetadata": {"promptTokenCount": 40, "candidatesTokenCount": 12,
                          "thoughtsTokenCount": 90, "totalTokenCount": 142,
                          "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 40}]}})
    # a cut at zero with thinking: the content has its role and no parts
    assert_valid("FinishedGenerateContentResponse", {
        **RESPONSE, "candidates": [{"content": {"role": "model"}, "finishReason": "MAX_TOKENS"}]})
    # a blocked prompt is a 200 without candidates
    assert_valid("FinishedGenerateContentResponse", {
        "promptFeedback": {"blockReason": "SAFETY"},
        "usageMetadata": {"promptTokenCount": 4, "totalTokenCount": 4}})
    assert_valid("CountTokensResponse", {"totalTokens": 14, "promptTokensDetails": [
        {"modality": "TEXT", "tokenCount": 14}]})
    assert_valid("ListModelsResponse", {"models": [{
        "name": "models/gemini-2.5-flash", "version": "001", "displayName": "Gemini 2.5 Flash",
        "inputTokenLimit": 1048576, "outputTokenLimit": 65536, "thinking": True,
        "supportedGenerationMethods": ["generateContent", "countTokens"]}],
        "nextPageToken": "p2"})


def test_an_intermediate_chunk_needs_no_finish_reason_or_usage() -> None:
    chunk = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]},
                             "index": 0}], "modelVersion": "gemini-2.5-flash"}
    assert_valid("GenerateContentResponse", chunk)
    assert problems("FinishedGenerateContentResponse", chunk)


# --------------------------------------------------------------------------- invalid payloads


def _copy_to(payload: dict[str, Any], path: tuple[Any, ...]) -> tuple[dict[str, Any], Any]:
    """A deep copy of `payload` and, inside it, the node holding `path`'s last step."""
    changed = copy.deepcopy(payload)
    node: Any = changed
    for step in path[:-1]:
        node = node[step]
    return changed, node


def _replace(payload: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed, node = _copy_to(payload, path)
    node[path[-1]] = value
    return changed


def _without(payload: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    changed, node = _copy_to(payload, path)
    del node[path[-1]]
    return changed


SNAKE = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hello."}]},
                         "finish_reason": "STOP", "index": 0}],
         "usage_metadata": {"prompt_token_count": 4, "total_token_count": 6}}
OPENAI_CHAT = {"id": "chatcmpl-1", "object": "chat.completion", "model": "gemini-2.5-flash",
               "choices": [{"index": 0, "finish_reason": "stop",
                            "message": {"role": "assistant", "content": "Hello."}}]}
OPENAI_ERROR = {"error": {"message": "bad key", "type": "invalid_request_error", "param": None,
                          "code": "invalid_api_key"}}


@pytest.mark.parametrize("schema,payload,where", [
    # the brief's four
    ("FinishedGenerateContentResponse", SNAKE, "/"),
    ("FinishedGenerateContentResponse", SNAKE, "/candidates/0"),
    ("GenerateContentResponse",
     _replace(RESPONSE, ("candidates", 0, "finishReason"), "stop"), "/candidates/0/finishReason"),
    ("ErrorResponse", OPENAI_ERROR, "/error"),
    ("GenerateContentResponse", _without(RESPONSE, ("candidates", 0, "content", "role")),
     "/candidates/0/content"),
    # siblings: other snake_case spellings, OpenAI vocabulary, and the final-answer rules
    ("GenerateContentResponse", _replace(RESPONSE, ("candidates", 0, "content", "parts", 0),
                                         {"function_call": CALL["functionCall"]}),
     "/candidates/0/content/parts/0"),
    ("GenerateContentResponse", _replace(RESPONSE, ("usageMetadata",),
                                         {"promptTokenCount": 4, "thoughts_token_count": 9}),
     "/usageMetadata"),
    ("CountTokensResponse", {"total_tokens": 14}, "/"),
    ("GenerateContentResponse",
     _replace(RESPONSE, ("candidates", 0, "finishReason"), "length"), "/candidates/0/finishReason"),
    ("GenerateContentResponse",
     _replace(RESPONSE, ("candidates", 0, "content", "role"), "assistant"),
     "/candidates/0/content/role"),
    ("GenerateContentResponse", OPENAI_CHAT, "/"),
    ("FinishedGenerateContentResponse", _without(RESPONSE, ("candidates", 0, "finishReason")),
     "/candidates/0"),
    ("FinishedGenerateContentResponse", _without(RESPONSE, ("usageMetadata",)), "/"),
    ("GenerateContentResponse",
     _replace(RESPONSE, ("candidates", 0, "content", "parts", 0),
              {"functionCall": {"name": "get_weather", "args": "{\"city\": \"Paris\"}"}}),
     "/candidates/0/content/parts/0/functionCall/args"),
    ("ErrorResponse", {"error": {"code": "400", "message": "m", "status": "INVALID_ARGUMENT"}},
     "/error/code"),
    ("ErrorResponse", {"error": {"code": 400, "message": "m", "status": "invalid_argument"}},
     "/error/status"),
    ("ErrorResponse", {"message": "API key not valid", "status": 400}, "/"),
    ("GenerateContentRequest", _replace(REQUEST, ("contents", 0, "role"), "system"),
     "/contents/0/role"),
    ("GenerateContentRequest", {"contents": []}, "/contents"),
    ("GenerateContentRequest", {"contents": [{"role": "user"}]}, "/contents/0"),
    ("GenerateContentRequest", {**REQUEST, "generationConfig": {"temperature": 5}},
     "/generationConfig/temperature"),
    ("GenerateContentRequest", {**REQUEST, "generationConfig": {"topP": 1.5}},
     "/generationConfig/topP"),
    ("GenerateContentRequest", {**REQUEST, "generationConfig": {"responseSchema": {
        "type": "OBJECT"}}}, "/generationConfig"),
    ("GenerateContentRequest", {**REQUEST, "toolConfig": {"functionCallingConfig": {
        "mode": "required"}}}, "/toolConfig/functionCallingConfig/mode"),
    ("ListModelsResponse", {"models": [{"name": "gemini-2.5-flash"}]}, "/models/0/name"),
    ("ListModelsResponse", {"object": "list", "data": [{"id": "gemini-2.5-flash"}]}, "/"),
])
def test_wrong_payloads_are_rejected(schema: str, payload: Any, where: str) -> None:
    found = problems(schema, payload)
    assert any(p.startswith(f"{where}:") for p in found), found


def test_a_snake_case_key_is_named_in_the_message() -> None:
    found = problems("GenerateContentResponse", SNAKE)
    assert any("'usage_metadata'" in p for p in found), found
    assert any("'finish_reason'" in p for p in found), found


# --------------------------------------------------------------------------- the reference


def reference_examples() -> list[Any]:
    """(kind, payload) for the JSON and SSE examples of ../shared/reference/gemini."""
    if not REFERENCE.is_dir():
        return []
    found = []
    for md in sorted(REFERENCE.glob("*.md")):
        for tag, body in re.findall(r"```(\w*)\n(.*?)```", md.read_text(encoding="utf-8"), re.S):
            if body.startswith("data: "):
                found.append(pytest.param("sse", body, id=f"{md.name}:sse"))
            elif tag == "json":
                found.append(pytest.param("json", json.loads(body), id=f"{md.name}:json"))
    return found


def component_for(payload: dict[str, Any]) -> str:
    """Which component an example is an instance of, told by its shape."""
    if "error" in payload:
        return "ErrorResponse"
    if "totalTokens" in payload:
        return "CountTokensResponse"
    if "models" in payload:
        return "ListModelsResponse"
    if "contents" in payload:
        return "GenerateContentRequest"
    return "FinishedGenerateContentResponse"


@needs_reference
def test_the_reference_has_examples() -> None:
    kinds = [param.values[0] for param in reference_examples()]
    assert kinds.count("json") >= 2 and kinds.count("sse") >= 1, kinds


@pytest.mark.parametrize("kind,example", reference_examples())
def test_reference_examples_validate(kind: str, example: Any) -> None:
    if kind == "json":
        assert_valid(component_for(example), example)
        return
    frames = parse_sse(example)
    assert len(frames) >= 2 and all(frame["event"] is None for frame in frames)
    for frame in frames:
        assert_valid("GenerateContentResponse", json.loads(frame["data"]))
    assert_valid("FinishedGenerateContentResponse", json.loads(frames[-1]["data"]))


def reference_schema(name: str) -> dict[str, Any]:
    return json.loads((REFERENCE / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))


def _reference_enum(name: str, *path: str) -> list[str]:
    node: Any = reference_schema(name)
    for step in path:
        node = node[step]
    return node["enum"]


def our_enum(name: str) -> list[str]:
    """Our enum by the name the tests use (a component, or where it sits inline)."""
    s = schemas()
    where = {
        "BlockReason": s["PromptFeedback"]["properties"]["blockReason"],
        "HarmProbability": s["SafetyRating"]["properties"]["probability"],
        "Modality": s["ModalityTokenCount"]["properties"]["modality"],
        "Mode": s["FunctionCallingConfig"]["properties"]["mode"],
        "ThinkingLevel": s["ThinkingConfig"]["properties"]["thinkingLevel"],
        "Threshold": s["SafetySetting"]["properties"]["threshold"],
        "ResponseModality": s["GenerationConfig"]["properties"]["responseModalities"]["items"],
        "Behavior": s["FunctionDeclaration"]["properties"]["behavior"],
    }
    return (where.get(name) or s[name])["enum"]


# Values of our enums that the reference does not list, each with its SOURCES.md row (§9).
NEWER_THAN_REFERENCE = {
    "FinishReason": ({"MISSING_THOUGHT_SIGNATURE", "MALFORMED_RESPONSE", "ESCALATION",
                      "PUP_LIMITED_DISABLED", "CONTINUATION", "MODEL_ARMOR"}, "G-D03"),
    "ThinkingLevel": ({"XHIGH"}, "G-D03"),
}


@needs_reference
@pytest.mark.parametrize("ours,file,path", [
    ("FinishReason", "generate_content_response", ("$defs", "Candidate", "properties",
                                                   "finishReason")),
    ("BlockReason", "generate_content_response", ("properties", "promptFeedback", "properties",
                                                  "blockReason")),
    ("HarmCategory", "generate_content_response", ("$defs", "SafetyRating", "properties",
                                                   "category")),
    ("HarmProbability", "generate_content_response", ("$defs", "SafetyRating", "properties",
                                                      "probability")),
    ("Modality", "count_tokens_response", ("properties", "promptTokensDetails", "items",
                                           "properties", "modality")),
    ("Status", "error_response", ("properties", "error", "properties", "status")),
    ("Mode", "generate_content_request", ("properties", "toolConfig", "properties",
                                          "functionCallingConfig", "properties", "mode")),
    ("ThinkingLevel", "generate_content_request", (
        "properties", "generationConfig", "properties", "thinkingConfig", "properties",
        "thinkingLevel")),
    ("Threshold", "generate_content_request", ("properties", "safetySettings", "items",
                                               "properties", "threshold")),
])
def test_enums_match_the_reference(ours: str, file: str, path: tuple[str, ...]) -> None:
    extra = NEWER_THAN_REFERENCE.get(ours, (set(), ""))[0]
    assert set(our_enum(ours)) == set(_reference_enum(file, *path)) | extra, ours


# --------------------------------------------------------------------------- the official SDK

SOURCES_MD = OPENAPI_DIR / "SOURCES.md"
SDK_ENUMS = {"FinishReason": "FinishReason", "BlockReason": "BlockedReason",
             "HarmCategory": "HarmCategory", "HarmProbability": "HarmProbability",
             "Modality": "MediaModality", "Mode": "FunctionCallingConfigMode",
             "ThinkingLevel": "ThinkingLevel", "Threshold": "HarmBlockThreshold",
             "ResponseModality": "Modality", "Behavior": "Behavior"}
# Our component -> the google-genai type its converter fills (wire names are camelCase of the
# SDK's field names).
SDK_TYPES = {"GenerateContentResponse": "GenerateContentResponse", "Candidate": "Candidate",
             "Content": "Content", "Part": "Part", "FunctionCall": "FunctionCall",
             "FunctionResponse": "FunctionResponse", "SafetyRating": "SafetyRating",
             "PromptFeedback": "GenerateContentResponsePromptFeedback",
             "UsageMetadata": "GenerateContentResponseUsageMetadata",
             "ModalityTokenCount": "ModalityTokenCount",
             "CountTokensResponse": "CountTokensResponse",
             "Model": "Model", "ListModelsResponse": "ListModelsResponse",
             "GenerationConfig": "GenerationConfig", "ThinkingConfig": "ThinkingConfig",
             "Tool": "Tool", "FunctionDeclaration": "FunctionDeclaration",
             "ToolConfig": "ToolConfig", "FunctionCallingConfig": "FunctionCallingConfig",
             "SafetySetting": "SafetySetting"}
# Wire names we describe that the SDK type has under another name or not at all (§9 rows).
NOT_SDK_FIELDS = {
    "CountTokensResponse": {"promptTokensDetails": "G-D05", "cacheTokensDetails": "G-D05"},
    "Model": {"baseModelId": "G-D05", "supportedGenerationMethods": "G-D04"},
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _properties(name: str) -> set[str]:
    schema = schemas()[name]
    found = set(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        found |= set(part.get("properties", {}))
    return found


@pytest.mark.parametrize("ours", sorted(SDK_ENUMS))
def test_enums_match_the_sdk(ours: str) -> None:
    types = pytest.importorskip("google.genai.types")
    assert our_enum(ours) == [member.value for member in getattr(types, SDK_ENUMS[ours])], ours


@pytest.mark.parametrize("ours", sorted(SDK_TYPES))
def test_every_wire_name_is_a_field_of_the_sdk_type(ours: str) -> None:
    types = pytest.importorskip("google.genai.types")
    fields = set(getattr(types, SDK_TYPES[ours]).model_fields)
    odd = {key for key in _properties(ours) if _snake(key) not in fields}
    assert odd == set(NOT_SDK_FIELDS.get(ours, {})), ours


def test_every_recorded_difference_names_a_sources_row() -> None:
    text = SOURCES_MD.read_text(encoding="utf-8")
    rows = {row for fields in NOT_SDK_FIELDS.values() for row in fields.values()}
    rows |= {row for _values, row in NEWER_THAN_REFERENCE.values()}
    assert not {row for row in rows if f"| {row} |" not in text}
