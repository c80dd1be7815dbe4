"""The Gemini operation that schemathesis draws request bodies for (`conformance.generated`):
`POST /v1beta/models/{model}:generateContent`, the model in the path, with the minimal body
negative cases start from and the steps that keep a generated request cheap and answerable
(the rules of a valid request the schema cannot state, from the API reference's prose)."""

from __future__ import annotations

from typing import Any

from conformance.apis.gemini.checks import generate_path
from conformance.generated import (
    MAX_OUTPUT_TOKENS,
    SHORT_TEXT,
    Operation,
    dropping,
    known_fields,
)

ROLES = ("user", "model")
# Sampling and output settings a cheap text answer can keep; the rest ask for other outputs
# (images, audio, log probabilities), several candidates, a thinking model, penalties not
# every model takes, or a response schema drawn at random (gemini.generation.json-mode judges
# JSON mode).
KEPT_CONFIG = ("temperature", "topP", "topK", "maxOutputTokens", "stopSequences", "seed",
               "responseMimeType")
PLAIN_MIME_TYPES = ("text/plain", "application/json")
# topK's limit is the model's (its `topK` in the model list; 64 on the 2.5 models), `seed` an
# int32: the schema states neither.
TOP_K = 40
INT32 = 2**31 - 1


def _base(model: str) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": SHORT_TEXT}]}],
            "generationConfig": {"maxOutputTokens": MAX_OUTPUT_TOKENS}}


def _text_content(content: Any) -> Any:
    """A turn of text parts that say something (no media to fetch, no calls or results, which
    come in pairs, no thought signatures, which are the API's own)."""
    if not isinstance(content, dict) or not isinstance(content.get("parts"), list):
        return content
    texts = [{"text": p["text"]} for p in content["parts"]
             if isinstance(p, dict) and isinstance(p.get("text"), str) and p["text"].strip()]
    return {**content, "parts": texts or [{"text": SHORT_TEXT}]}


def _text_only(body: Any, model: str) -> Any:
    """Text turns ending with the user's (the model answers a user turn)."""
    if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
        return body
    contents = [_text_content(c) for c in body["contents"]]
    if contents and isinstance(contents[-1], dict) and contents[-1].get("role") == "model":
        contents.append({"role": "user", "parts": [{"text": SHORT_TEXT}]})
    body = {**body, "contents": contents}
    if "systemInstruction" in body:
        body["systemInstruction"] = _text_content(body["systemInstruction"])
    return body


def _cheap_config(body: Any, model: str) -> Any:
    """A text answer of at most MAX_OUTPUT_TOKENS tokens, stop sequences that say something."""
    if not isinstance(body, dict):
        return body
    config = body.get("generationConfig")
    config = {k: v for k, v in config.items() if k in KEPT_CONFIG} \
        if isinstance(config, dict) else {}
    cap = config.get("maxOutputTokens")
    config["maxOutputTokens"] = min(cap, MAX_OUTPUT_TOKENS) if isinstance(cap, int) \
        and not isinstance(cap, bool) and cap >= 1 else MAX_OUTPUT_TOKENS
    if config.get("responseMimeType") not in PLAIN_MIME_TYPES:
        config.pop("responseMimeType", None)
    if isinstance(config.get("topK"), (int, float)):  # 16.0 is a JSON Schema integer too
        config["topK"] = min(int(config["topK"]), TOP_K)
    if isinstance(config.get("seed"), int) and abs(config["seed"]) > INT32:
        config.pop("seed")
    if isinstance(config.get("stopSequences"), list):
        config["stopSequences"] = [s for s in config["stopSequences"]
                                   if isinstance(s, str) and s.strip()]
    return {**body, "generationConfig": config}


def _function_tools(body: Any, model: str) -> Any:
    """Only function declarations, by name only (a drawn parameter schema is no schema the
    API takes), each name once; server tools search or run code. `toolConfig` only with
    declarations, its allowed names only with mode ANY and declared."""
    if not isinstance(body, dict):
        return body
    body = dict(body)
    names: dict[str, dict[str, Any]] = {}
    for tool in body.get("tools") or []:
        for declaration in (tool.get("functionDeclarations") or []) \
                if isinstance(tool, dict) else []:
            if isinstance(declaration, dict) and isinstance(declaration.get("name"), str):
                names.setdefault(declaration["name"], {"name": declaration["name"]})
    if names:
        body["tools"] = [{"functionDeclarations": list(names.values())}]
    else:
        body.pop("tools", None)
        body.pop("toolConfig", None)
    calling = (body.get("toolConfig") or {}).get("functionCallingConfig") \
        if isinstance(body.get("toolConfig"), dict) else None
    if isinstance(calling, dict):
        allowed = calling.get("allowedFunctionNames")
        if calling.get("mode") != "ANY" or not isinstance(allowed, list) \
                or not set(allowed) <= set(names):
            calling = {k: v for k, v in calling.items() if k != "allowedFunctionNames"}
        body["toolConfig"] = {"functionCallingConfig": calling}
    return body


GENERATE = Operation(
    name="gemini",
    document="gemini.yaml",
    path="/models/{model}:generateContent",
    request_schema="GenerateContentRequest",
    response_schema="FinishedGenerateContentResponse",
    base=_base,
    steps=(
        # an explicit cache names stored state this run did not create
        ("stateful", dropping("cachedContent")),
        ("generation-config", _cheap_config),
        ("text-only", _text_only),
        ("tools", _function_tools),
        ("known-fields", known_fields("gemini")),
    ),
    request_path=generate_path,
)
