"""``generateContent``, ``streamGenerateContent`` and ``countTokens`` bodies: validation into a
``GeminiRequest``.

Validation goes the way the real API's does (``../shared/reference/gemini/request.md``): a JSON
object whose field names (camelCase, or their snake_case proto names) are known (an unknown one
is refused, as proto JSON parsing does), then the body against our OpenAPI document
(``openapi/gemini.yaml``: types, ranges, enums, ``responseSchema`` only with a JSON or enum MIME
type), then the rules no schema states (one data member per part, a ``functionResponse`` turn
right after the ``functionCall`` turn it answers, ``allowedFunctionNames`` naming declared
functions, ``thinkingConfig`` only on a model that thinks, the model's limits). Messages follow
the API's ``* GenerateContentRequest.<path>: <reason>`` style.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance import schemas

from .errors import invalid_argument
from .models import GeminiModel

DOCUMENT = "gemini.yaml"
GENERATE = "GenerateContentRequest"
COUNT = "CountTokensRequest"
TOP_LEVEL = ("contents", "systemInstruction", "generationConfig", "tools", "toolConfig",
             "safetySettings", "cachedContent", "labels", "serviceTier", "store", "model")
GENERATION_CONFIG = ("temperature", "topP", "topK", "candidateCount", "maxOutputTokens",
                     "stopSequences", "presencePenalty", "frequencyPenalty", "seed",
                     "responseLogprobs", "logprobs", "responseMimeType", "responseSchema",
                     "responseJsonSchema", "responseModalities", "thinkingConfig",
                     "mediaResolution", "speechConfig", "imageConfig", "audioTimestamp",
                     "enableEnhancedCivicAnswers")
DATA_MEMBERS = ("text", "inlineData", "fileData", "functionCall", "functionResponse",
                "executableCode", "codeExecutionResult")
PART_METADATA = ("thought", "thoughtSignature", "videoMetadata", "mediaResolution",
                 "partMetadata")
MIME_TYPES = ("text/plain", "application/json", "text/x.enum")
MAX_CANDIDATES = 8


@dataclass
class GeminiRequest:
    model: GeminiModel
    contents: list[dict[str, Any]]
    system: str = ""
    max_output_tokens: int | None = None
    stop_sequences: list[str] = field(default_factory=list)
    candidate_count: int = 1
    mime_type: str = "text/plain"
    response_schema: Any = None  # a JSON Schema (responseSchema's OpenAPI subset converted)
    functions: list[dict[str, Any]] = field(default_factory=list)  # name, parameters (JSON)
    mode: str = "AUTO"
    allowed: list[str] = field(default_factory=list)
    thinking_budget: int | None = None  # None: no thinking
    include_thoughts: bool = False


def parse_body(raw: bytes) -> dict[str, Any]:
    """The body with its field names in camelCase: proto JSON takes a field's snake_case name
    too, and google-genai sends some that way (``parameters_json_schema``)."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise invalid_argument(f"Invalid JSON payload received. {exc}") from exc
    if not isinstance(body, dict):
        raise invalid_argument("Invalid JSON payload received. Expected an object.")
    return camel_keys(body)


# Fields whose value is the caller's JSON (a Struct or Value): its keys are not field names.
_OPAQUE = ("args", "response", "parametersJsonSchema", "responseJsonSchema", "labels")
# Schema.properties maps the caller's property names to Schemas.
_NAMED = ("properties",)
_SNAKE = re.compile(r"_([a-z0-9])")


def camel_keys(value: Any) -> Any:
    if isinstance(value, list):
        return [camel_keys(item) for item in value]
    if not isinstance(value, dict):
        return value
    found = {}
    for key, item in value.items():
        name = _SNAKE.sub(lambda m: m[1].upper(), key)
        if name in _OPAQUE:
            found[name] = item
        elif name in _NAMED and isinstance(item, dict):
            found[name] = {k: camel_keys(v) for k, v in item.items()}
        else:
            found[name] = camel_keys(item)
    return found


def check_spec(body: Any, schema: str) -> None:
    found = schemas.errors(DOCUMENT, schema, body, limit=1)
    if found:
        raise invalid_argument(f"* {schema}.{found[0]}")


def _field_error(path: str, reason: str) -> Exception:
    return invalid_argument(f"* GenerateContentRequest.{path}: {reason}")


def refuse_unknown(body: Any, known: tuple[str, ...], where: str) -> None:
    for name in body if isinstance(body, dict) else ():
        if name not in known:
            at = f" at '{where}'" if where else ""
            raise invalid_argument(f'Invalid JSON payload received. Unknown name "{name}"{at}: '
                                   "Cannot find field.")


def _known_names(body: dict[str, Any]) -> None:
    refuse_unknown(body, TOP_LEVEL, "")
    refuse_unknown(body.get("generationConfig"), GENERATION_CONFIG, "generation_config")
    for index, content in enumerate(body.get("contents") or []):
        for position, part in enumerate(content.get("parts") or []
                                        if isinstance(content, dict) else []):
            refuse_unknown(part, DATA_MEMBERS + PART_METADATA,
                     f"contents[{index}].parts[{position}]")


def interpret(body: dict[str, Any], model: GeminiModel) -> GeminiRequest:
    """A generateContent body (or countTokens' ``generateContentRequest``) as a request."""
    _known_names(body)
    check_spec(body, GENERATE)
    config = body.get("generationConfig", {})
    request = GeminiRequest(
        model=model, contents=_contents(body["contents"]),
        system=_system_text(body.get("systemInstruction")),
        max_output_tokens=config.get("maxOutputTokens"),
        stop_sequences=config.get("stopSequences", []),
        candidate_count=config.get("candidateCount", 1),
        mime_type=config.get("responseMimeType", "text/plain"),
        response_schema=_response_schema(config),
        functions=_functions(body.get("tools", [])),
    )
    _tool_config(request, body.get("toolConfig", {}).get("functionCallingConfig", {}))
    _thinking(request, config.get("thinkingConfig"))
    _check_limits(request)
    return request


# --- contents ---------------------------------------------------------------------------


def _contents(contents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for index, content in enumerate(contents):
        for position, part in enumerate(content["parts"]):
            members = [name for name in DATA_MEMBERS if name in part]
            if len(members) != 1:
                raise _field_error(f"contents[{index}].parts[{position}]", "a part must hold "
                                   "exactly one data member (text, inlineData, fileData, "
                                   f"functionCall, functionResponse, ...), not {members}")
        if function_responses(content) and not _answers_calls(contents, index):
            raise _field_error(f"contents[{index}]", "Please ensure that function response "
                               "turn comes immediately after a function call turn.")
    return contents


def _parts_with(content: Mapping[str, Any], member: str) -> list[dict[str, Any]]:
    return [part[member] for part in content.get("parts", []) if member in part]


def function_calls(content: Mapping[str, Any]) -> list[dict[str, Any]]:
    return _parts_with(content, "functionCall")


def function_responses(content: Mapping[str, Any]) -> list[dict[str, Any]]:
    return _parts_with(content, "functionResponse")


def _answers_calls(contents: list[dict[str, Any]], index: int) -> bool:
    """A functionResponse turn answers the model turn right before it: each response names one
    of that turn's calls."""
    previous = contents[index - 1] if index else None
    if previous is None or previous.get("role") != "model":
        return False
    called = {call["name"] for call in function_calls(previous)}
    return all(r["name"] in called for r in function_responses(contents[index]))


def _system_text(system: Mapping[str, Any] | None) -> str:
    """Its text parts; its role, if any, is ignored."""
    return "".join(part.get("text", "") for part in (system or {}).get("parts", []))


def text_of(content: Mapping[str, Any]) -> str:
    """The text a turn adds to the conversation: its text parts and function responses."""
    pieces = [p["text"] for p in content["parts"] if "text" in p and not p.get("thought")]
    pieces += [json.dumps(r["response"], separators=(",", ":"))
               for r in function_responses(content)]
    return "".join(pieces)


# --- generationConfig ---------------------------------------------------------------------


def _response_schema(config: Mapping[str, Any]) -> Any:
    mime = config.get("responseMimeType", "text/plain")
    if mime not in MIME_TYPES:
        raise _field_error("generation_config.response_mime_type", "allowed mimetypes are "
                           f"{', '.join(MIME_TYPES)} (got {mime})")
    if any(not stop for stop in config.get("stopSequences", [])):
        raise _field_error("generation_config.stop_sequences", "a stop sequence is empty")
    if "responseSchema" in config:
        return json_schema(config["responseSchema"])
    return config.get("responseJsonSchema")


def json_schema(schema: Any) -> Any:
    """The JSON Schema an OpenAPI-subset ``Schema`` means: upper-case types lower-cased and
    ``nullable`` as a ``null`` type; what JSON Schema also spells the same way is kept."""
    if not isinstance(schema, dict):
        return schema
    converted = {key: value for key, value in schema.items()
                 if key not in ("nullable", "propertyOrdering")}
    if isinstance(schema.get("type"), str):
        converted["type"] = schema["type"].lower()
        if schema.get("nullable"):
            converted["type"] = [converted["type"], "null"]
    if isinstance(schema.get("properties"), dict):
        converted["properties"] = {k: json_schema(v) for k, v in schema["properties"].items()}
    for key in ("items", "additionalProperties"):
        if key in schema:
            converted[key] = json_schema(schema[key])
    if isinstance(schema.get("anyOf"), list):
        converted["anyOf"] = [json_schema(branch) for branch in schema["anyOf"]]
    return converted


# --- tools and thinking -----------------------------------------------------------------


def _functions(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every declared function, its parameters as a JSON Schema (``parameters`` is the OpenAPI
    subset, ``parametersJsonSchema`` already one)."""
    return [{"name": d["name"], "description": d.get("description", ""),
             "parameters": json_schema(d["parameters"]) if "parameters" in d
             else d.get("parametersJsonSchema")}
            for tool in tools for d in tool.get("functionDeclarations", [])]


def _tool_config(request: GeminiRequest, calling: Mapping[str, Any]) -> None:
    request.mode = calling.get("mode", "AUTO")
    request.allowed = calling.get("allowedFunctionNames", [])
    where = "tool_config.function_calling_config"
    if request.allowed and request.mode not in ("ANY", "VALIDATED"):
        raise _field_error(f"{where}.allowed_function_names", "allowed_function_names may be "
                           "set only when the mode is ANY or VALIDATED")
    declared = {f["name"] for f in request.functions}
    unknown = [name for name in request.allowed if name not in declared]
    if unknown:
        raise _field_error(f"{where}.allowed_function_names", "names a function that is not "
                           f"declared: {', '.join(unknown)}")
    if request.mode == "ANY" and not declared:
        raise _field_error(f"{where}.mode", "mode ANY needs function declarations")


def _thinking(request: GeminiRequest, config: Mapping[str, Any] | None) -> None:
    """thinkingBudget 0 turns thinking off, -1 (or none) lets the model decide (here: up to its
    maximum); a thinking model without thinkingConfig does not think (the gateway keeps its
    answers short)."""
    if config is None:
        return
    model = request.model
    if not model.thinking:
        raise _field_error("generation_config.thinking_config", f"Thinking is not supported "
                           f"by models/{model.id}.")
    budget = config.get("thinkingBudget", -1)
    if budget > model.max_thinking_budget:
        raise _field_error("generation_config.thinking_config.thinking_budget", "The thinking "
                           f"budget must be -1, 0 or in [1, {model.max_thinking_budget}]")
    if budget != 0:
        request.thinking_budget = model.max_thinking_budget if budget == -1 else budget
    request.include_thoughts = config.get("includeThoughts") is True and budget != 0


def _check_limits(request: GeminiRequest) -> None:
    if request.candidate_count > MAX_CANDIDATES:
        raise _field_error("generation_config.candidate_count", "candidate_count must be in "
                           f"the range [1, {MAX_CANDIDATES}]")
    cap = request.model.output_token_limit
    if request.max_output_tokens is not None and request.max_output_tokens > cap:
        raise _field_error("generation_config.max_output_tokens", "The requested max output "
                           f"tokens {request.max_output_tokens} exceeds the model's limit of "
                           f"{cap}")
