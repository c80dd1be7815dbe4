"""The answer to a ``GeminiRequest``: each candidate planned from the request (deterministic and
token-exact, ``conformance.gateway.generation``), its usage, and the ``GenerateContentResponse``
it renders to.

Token counts come from the offline o200k_base BPE (``conformance.tokens``), not from Gemini's
tokenizer: none is available offline. They are exact for this gateway (usage, the stream and
countTokens agree), not a prediction of what Google would bill. Thoughts spend
``maxOutputTokens`` like the answer does, as on the real thinking models.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from conformance import tokens
from conformance.gateway import behaviours
from conformance.gateway import generation as gen

from .faults import (
    ARGS_STRING,
    FINISH_REASON_LOWERCASE,
    MAX_TOKENS_AS_STOP,
    ROLE_ASSISTANT,
    SNAKE_CASE_KEYS,
    THOUGHT_FLAG_DROPPED,
    THOUGHTS_DROPPED,
    THOUGHTS_IN_CANDIDATES,
    THOUGHTS_MERGED,
    TOTAL_PROMPT_ONLY,
    TOTAL_WITHOUT_THOUGHTS,
)
from .request import GeminiRequest, function_calls, function_responses, text_of

# --- token accounting -----------------------------------------------------------------------


def prompt_tokens(request: GeminiRequest) -> int:
    """The prompt's tokens, by the chat recipe of ``tokens.count_chat_prompt`` applied to the
    system instruction, the turns (function calls as calls: name + args JSON; function
    responses as their JSON text) and the function declarations."""
    chat: list[dict[str, Any]] = [{"role": "system", "content": request.system}] \
        if request.system else []
    for content in request.contents:
        entry: dict[str, Any] = {"role": content.get("role", "user"),
                                 "content": text_of(content)}
        calls = [{"function": {"name": c["name"], "arguments": gen.compact_json(c.get("args", {}))}}
                 for c in function_calls(content)]
        if calls:
            entry["tool_calls"] = calls
        chat.append(entry)
    return tokens.count_chat_prompt(chat, request.model.encoding, request.functions)


# --- the plan -------------------------------------------------------------------------------


@dataclass
class Part:
    json: dict[str, Any]  # the part as the unstreamed answer holds it
    pieces: tuple[str, ...]  # its streamed text increments (a function call comes whole)


@dataclass
class CandidatePlan:
    parts: list[Part]
    finish_reason: str
    tokens: int  # candidatesTokenCount's share: the answer, without the thoughts
    thoughts: int


class _Budget:
    """What is left of maxOutputTokens, shared by the thoughts and the answer."""

    def __init__(self, cap: int | None) -> None:
        self.left = cap

    def spend(self, count: int) -> None:
        if self.left is not None:
            self.left -= count

    def fits(self, count: int) -> bool:
        return self.left is None or count <= self.left


def _chat(request: GeminiRequest) -> list[dict[str, str]]:
    return [{"role": c.get("role", "user"), "content": text_of(c)} for c in request.contents]


def _answers_function(request: GeminiRequest) -> str | None:
    """The function responses the last turn brings back (as JSON text), or None."""
    responses = function_responses(request.contents[-1])
    return gen.compact_json([r.get("response", {}) for r in responses]) if responses else None


def _functions_to_call(request: GeminiRequest, behaviour: str) -> list[dict[str, Any]]:
    """ANY forces one call (of the allowed functions when named), NONE never calls; AUTO (and
    VALIDATED) is the model's choice: it answers a function response with text, and a model
    that ignores instructions never picks a function."""
    if not request.functions or request.mode == "NONE":
        return []
    if request.mode == "ANY":
        allowed = [f for f in request.functions
                   if not request.allowed or f["name"] in request.allowed]
        return gen.functions_to_call(allowed, "required", None, parallel=False)
    if _answers_function(request) is not None \
            or not behaviours.chooses_tools(behaviour, "auto"):
        return []
    return gen.functions_to_call(request.functions, "auto", None, parallel=False)


def _structured_text(request: GeminiRequest, behaviour: str, variant: int) -> str:
    """JSON mode's answer: an instance of the schema (constrained decoding, whatever the
    model's wording), an enum value for text/x.enum, else a JSON object."""
    schema = request.response_schema
    if request.mime_type == "text/x.enum":
        return str(gen.schema_instance(schema or {"type": "string"}))
    if schema is not None:
        return gen.compact_json(gen.schema_instance(schema))
    if behaviours.ignores_instructions(behaviour):
        return behaviours.fixed_json_object()
    return gen.json_object_text([request.system, _chat(request), variant],
                                gen.last_user_text(_chat(request)))


def _answer_text(request: GeminiRequest, behaviour: str, variant: int) -> str:
    if request.mime_type != "text/plain":
        return _structured_text(request, behaviour, variant)
    if behaviours.ignores_instructions(behaviour):
        return behaviours.FIXED_REPLY_TEXT
    conversation = [request.system, _chat(request)]
    function_output = _answers_function(request)
    if function_output is not None:
        return gen.tool_result_answer(conversation, function_output, variant)
    user_text = gen.last_user_text(_chat(request))
    special = gen.counting_answer(user_text) or gen.echoed_phrase(user_text)
    return special or gen.answer_text(conversation, user_text, variant)


def _plan_thoughts(request: GeminiRequest, budget: _Budget, parts: list[Part]) -> tuple[int, bool]:
    """The thoughts (a part only with includeThoughts); returns their tokens and whether
    maxOutputTokens ran out inside them."""
    assert request.thinking_budget is not None
    room = request.thinking_budget if budget.left is None \
        else min(request.thinking_budget, budget.left)
    thought = gen.generate(gen.reasoning_text(gen.last_user_text(_chat(request))),
                           request.model.encoding, max_tokens=room)
    budget.spend(thought.token_count)
    if request.include_thoughts and thought.text:
        parts.append(Part({"text": thought.text, "thought": True}, thought.pieces))
    return thought.token_count, thought.truncated and room != request.thinking_budget


def _plan_calls(request: GeminiRequest, functions: list[dict[str, Any]], budget: _Budget,
                parts: list[Part]) -> tuple[int, str]:
    """functionCall parts, whole or not at all (args must be an object); a call is
    ``tokens(name) + tokens(args JSON)``. Returns the tokens and the finish reason."""
    used = 0
    for function in functions:
        args = gen.default_arguments(function)  # valid against the declaration
        cost = tokens.count_text(function["name"], request.model.encoding) \
            + tokens.count_text(gen.compact_json(args), request.model.encoding)
        if not budget.fits(cost):
            return used, "MAX_TOKENS"
        budget.spend(cost)
        used += cost
        parts.append(Part({"functionCall": {"name": function["name"], "args": args}}, ()))
    return used, "STOP"


def plan_candidate(request: GeminiRequest, behaviour: str, variant: int) -> CandidatePlan:
    budget = _Budget(request.max_output_tokens)
    parts: list[Part] = []
    thoughts, cut = _plan_thoughts(request, budget, parts) \
        if request.thinking_budget is not None else (0, False)
    if cut:
        return CandidatePlan(parts, "MAX_TOKENS", 0, thoughts)
    functions = _functions_to_call(request, behaviour)
    if functions:
        used, reason = _plan_calls(request, functions, budget, parts)
        return CandidatePlan(parts, reason, used, thoughts)
    # A stop sequence ends the text (neither returned nor counted) with STOP, like the end.
    text = gen.generate(_answer_text(request, behaviour, variant), request.model.encoding,
                        max_tokens=budget.left, stop=request.stop_sequences)
    if text.text:
        parts.append(Part({"text": text.text}, text.pieces))
    return CandidatePlan(parts, "MAX_TOKENS" if text.truncated else "STOP", text.token_count,
                         thoughts)


def plan_answer(request: GeminiRequest, behaviour: str) -> list[CandidatePlan]:
    return [plan_candidate(request, behaviour, index)
            for index in range(request.candidate_count)]


# --- rendering ------------------------------------------------------------------------------


def usage_json(prompt: int, plans: list[CandidatePlan], fault: str | None) -> dict[str, Any]:
    """usageMetadata: total = prompt + candidates + thoughts (no tool-use prompt here), the
    zero counts omitted as the API does (proto3 JSON)."""
    candidates = sum(plan.tokens for plan in plans)
    thoughts = sum(plan.thoughts for plan in plans)
    if fault == THOUGHTS_IN_CANDIDATES:  # the bug: reasoning added to the completion tokens
        candidates, thoughts = candidates + thoughts, 0
    usage: dict[str, Any] = {"promptTokenCount": prompt}
    if candidates:
        usage["candidatesTokenCount"] = candidates
    usage["totalTokenCount"] = _total(prompt, candidates, thoughts, fault)
    if thoughts and fault != THOUGHTS_DROPPED:  # the bug: thoughts never reach the usage
        usage["thoughtsTokenCount"] = thoughts
    usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
    return usage


def _total(prompt: int, candidates: int, thoughts: int, fault: str | None) -> int:
    if fault == TOTAL_WITHOUT_THOUGHTS:  # the bug: the total recomputed without the thoughts
        return prompt + candidates
    if fault == TOTAL_PROMPT_ONLY:  # the bug: the first chunk's running total kept
        return prompt
    return prompt + candidates + thoughts


def relayed_parts(parts: list[dict[str, Any]], fault: str | None) -> list[dict[str, Any]]:
    """An unstreamed answer's parts as sent: the faults' translation slips of a relay."""
    if fault == ARGS_STRING:  # the bug: OpenAI's `arguments` JSON text as the args
        return [{"functionCall": {**p["functionCall"],
                                  "args": gen.compact_json(p["functionCall"]["args"])}}
                if "functionCall" in p else p for p in parts]
    if fault == THOUGHT_FLAG_DROPPED:  # the bug: the summaries read as answer text
        return [{"text": p["text"]} if p.get("thought") else p for p in parts]
    if fault == THOUGHTS_MERGED and any(p.get("thought") for p in parts):
        # the bug: the thoughts and the answer joined into one text part
        return [{"text": "".join(p.get("text", "") for p in parts)}]
    return parts


def finish_reason(reason: str, fault: str | None) -> str:
    if fault == MAX_TOKENS_AS_STOP and reason == "MAX_TOKENS":  # the bug: a cut looks whole
        return "STOP"
    if fault == FINISH_REASON_LOWERCASE:  # the bug: the relay's lower-case enum
        return reason.lower()
    return reason


def model_content(parts: list[dict[str, Any]], fault: str | None) -> dict[str, Any]:
    """A candidate's content; one with nothing in it (cut before its first token) has no
    parts, as the API sends it."""
    role = "assistant" if fault == ROLE_ASSISTANT else "model"  # the bug: OpenAI's role
    return {"role": role, "parts": parts} if parts else {"role": role}


def new_response_id() -> str:
    return secrets.token_urlsafe(16)


def response_json(request: GeminiRequest, plans: list[CandidatePlan], prompt: int,
                  response_id: str, fault: str | None) -> dict[str, Any]:
    candidates = [{"content": model_content(relayed_parts([p.json for p in plan.parts], fault),
                                            fault),
                   "finishReason": finish_reason(plan.finish_reason, fault), "index": index}
                  for index, plan in enumerate(plans)]
    return {"candidates": candidates, "usageMetadata": usage_json(prompt, plans, fault),
            "modelVersion": request.model.id, "responseId": response_id}


_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def wire_keys(body: Any, fault: str | None) -> Any:
    """The body as sent: camelCase, or every key snake_cased under SNAKE_CASE_KEYS (a relay
    serialising the SDK's Python objects); a function call's args are the caller's and keep
    their keys."""
    if fault != SNAKE_CASE_KEYS:
        return body
    if isinstance(body, list):
        return [wire_keys(item, fault) for item in body]
    if not isinstance(body, dict):
        return body
    return {_CAMEL.sub(r"_\1", key).lower(): value if key == "args" else wire_keys(value, fault)
            for key, value in body.items()}
