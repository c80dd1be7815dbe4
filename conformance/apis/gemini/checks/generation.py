"""Gemini, `generationConfig` and `systemInstruction`: the cap, stop sequences, several
candidates, the sampling ranges, JSON mode against a response schema, and a system instruction.

The stop-sequence experiment is the other families' (`conformance.stop_words`): a word from the
middle of the plain answer is sent back as `stopSequences`. JSON mode is judged on the answer's
text only: valid JSON against the schema sent, whatever it says.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from conformance import plan, schemas
from conformance.apis.gemini.checks import (
    CUT_TOKENS,
    DOC,
    OP,
    SOURCE,
    SYSTEM,
    answered,
    candidate_text,
    candidates,
    ended_naturally,
    generate,
    spec,
    text_of,
    usage_of,
)
from conformance.check import Level, Problems, check, fail, inconclusive, observe, record
from conformance.http import Exchange, Request
from conformance.preconditions import (
    harness_status,
    require_object,
    require_response,
    require_success,
)
from conformance.shapes import describe, is_int
from conformance.stop_words import LEAKED, STOPPED, StopPlan

CONFIG = spec("GenerationConfig")
CANDIDATES = 2
# Out of the documented ranges (temperature 0–2, topP 0–1, topK ≥ 0): the API refuses each.
OUT_OF_RANGE = {"temperature": 2.5, "topP": 1.5, "topK": -1}
JSON_QUESTION = "Name one HTTP method. Answer as JSON with the key `method`."
# An OpenAPI-subset schema, as `responseSchema` takes it (upper-case types).
ANSWER_SCHEMA = {"type": "OBJECT", "properties": {"method": {"type": "STRING"}},
                 "required": ["method"]}


@plan.exchange
def gemini_candidates(model: str) -> Request:
    """The plain request asking for CANDIDATES candidates."""
    return generate(model, config={"candidateCount": CANDIDATES})


@plan.exchange
def gemini_out_of_range(model: str) -> dict[str, Request]:
    """The plain request with one sampling parameter out of its range, each."""
    return {name: generate(model, config={name: value}) for name, value in OUT_OF_RANGE.items()}


@plan.exchange
def gemini_json_mode(model: str) -> Request:
    return generate(model, contents=[{"role": "user", "parts": [{"text": JSON_QUESTION}]}],
                    config={"responseMimeType": "application/json",
                            "responseSchema": ANSWER_SCHEMA})


@plan.exchange
def gemini_system(model: str) -> Request:
    """The plain request with a `systemInstruction` (a top-level Content, no role)."""
    return generate(model, systemInstruction={"parts": [{"text": SYSTEM}]})


@check("gemini.generation.max-output-tokens", level=Level.MUST, operation=OP,
       spec=f"{CONFIG}/properties/maxOutputTokens", source=SOURCE + "; reference "
       "gateway-deviations.md row 18 (CLIProxyAPI#4108)",
       observes="the answer capped at maxOutputTokens, beside the uncapped one",
       fix="Forward `generationConfig.maxOutputTokens` to the upstream (as its own output cap, "
           "`max_tokens` or `max_output_tokens` when translating), never dropping it.")
def test_max_output_tokens(gemini_generate: Exchange, gemini_cut: Exchange) -> None:
    """An answer MUST NOT generate more tokens (answer and thoughts, by `usageMetadata`) than `maxOutputTokens` allows."""
    plain = usage_of(require_object(gemini_generate))
    cut = usage_of(require_object(gemini_cut))
    generated = member_count(cut, "candidatesTokenCount")
    uncapped = member_count(plain, "candidatesTokenCount")
    record(max_output_tokens=CUT_TOKENS, cut_candidates_tokens=generated,
           uncapped_candidates_tokens=uncapped)
    if generated is None:
        inconclusive("the cut answer reports no candidatesTokenCount (gemini.response.schema "
                     "judges its usage), so its length is unknown")
    if generated > CUT_TOKENS:
        fail(f"the answer capped at maxOutputTokens {CUT_TOKENS} generated {generated} tokens: "
             "the cap was not applied", expected=f"candidatesTokenCount <= {CUT_TOKENS}",
             actual=cut)
    if uncapped is None or uncapped <= CUT_TOKENS:
        inconclusive(f"the uncapped answer has {uncapped} token(s), no more than the cap "
                     f"{CUT_TOKENS}, so the cap had nothing to cut")
    observe("an answer cut by maxOutputTokens")


def member_count(usage: dict[str, Any] | None, name: str) -> int | None:
    """A token count of `usageMetadata` (a missing one is 0, as proto3 JSON omits zeros;
    None: no usage at all, or not an integer)."""
    if usage is None:
        return None
    value = usage.get(name, 0)
    return value if is_int(value) else None


@check("gemini.generation.stop-sequences", level=Level.MUST, operation=OP,
       spec=f"{CONFIG}/properties/stopSequences", source=SOURCE + "; reference request.md "
       "(a hit gives finishReason STOP)",
       observes="an answer that reached the stop sequence (the plain answer cut before it)",
       fix="Forward `generationConfig.stopSequences` (or cut at the first match yourself), leave "
           "the matched string out of the text and answer `finishReason: STOP`.")
def test_stop_sequences(stop_plan: StopPlan | None, gemini_stop: Exchange | None,
                        gemini_generate: Exchange) -> None:
    """With `stopSequences`, the text MUST NOT contain the matched sequence, and an answer that ended at it MUST say `finishReason: STOP`."""
    require_object(gemini_generate)  # the reference: without it, there is nothing to stop at
    if stop_plan is None or gemini_stop is None:
        inconclusive("the plain answer has no word to use as a stop sequence")
    body = require_object(gemini_stop)
    text = text_of(body)
    outcome = stop_plan.outcome(text)
    record(stop_sequences=[stop_plan.stop], reference=stop_plan.reference,
           expected=stop_plan.prefix, answer=text)
    if outcome == LEAKED:
        fail(stop_plan.leak(text, "the answer"), expected=f"text {stop_plan.prefix!r}",
             actual=text)
    if outcome != STOPPED:
        inconclusive(f"the answer never reached the stop sequence {stop_plan.stop!r}: the model "
                     "answered differently from the plain request, so it was not exercised")
    reasons = [c.get("finishReason") for c in candidates(body)]
    if not all(map(ended_naturally, candidates(body))):
        fail(f"the answer ended at the stop sequence but finishReason is {reasons!r}",
             expected="STOP", actual=reasons)
    observe("an answer cut at its stop sequence")


@check("gemini.generation.candidate-count", level=Level.MUST, feature="n", operation=OP,
       spec=f"{CONFIG}/properties/candidateCount", source=SOURCE + "; reference response.md "
       "(each candidate has its own `index`)",
       observes="the answer to a request for several candidates",
       fix="Forward `candidateCount` (or answer the request that many times) and return one "
           "candidate per count, numbered by `index` from 0; refuse it with a 400 envelope if "
           "the upstream cannot.")
def test_candidate_count(gemini_candidates: Exchange) -> None:
    """A request for `candidateCount` N MUST get N candidates, with `index` 0 … N-1 (a clean 4xx means the model does not offer several)."""
    require_success(gemini_candidates)
    body = require_object(gemini_candidates)
    found = candidates(body)
    indexes = sorted(c.get("index", 0) for c in found)
    observe("candidates", len(found))
    record(candidate_count=CANDIDATES, indexes=indexes)
    if indexes != list(range(CANDIDATES)):
        fail(f"asked for {CANDIDATES} candidates, got {len(found)} with index {indexes}",
             expected=list(range(CANDIDATES)), actual=indexes)
    empty = [c.get("index", 0) for c in found if not candidate_text(c) and ended_naturally(c)]
    if empty:
        fail(f"candidate(s) {empty} ended naturally with no text", actual=found)


@check("gemini.generation.ranges", level=Level.MUST, operation=OP, spec=CONFIG,
       source=SOURCE + "; reference request.md (temperature 0–2, topP 0–1)",
       observes="the answers to temperature, topP and topK out of range",
       fix="Validate `temperature` (0–2), `topP` (0–1) and `topK` (≥ 0) and refuse a value out "
           "of range with HTTP 400 and `status: INVALID_ARGUMENT`, instead of clamping it or "
           "passing it on.")
def test_ranges(gemini_out_of_range: dict[str, Exchange]) -> None:
    """A sampling parameter out of its documented range MUST be refused with HTTP 400 and `error.status` `INVALID_ARGUMENT`."""
    problems = Problems()
    for name, exchange in gemini_out_of_range.items():
        require_response(exchange)
        harness_status(exchange)  # a refused key says nothing about the range
        observe("answers to a value out of range")
        body = exchange.json_or_none()
        error = body.get("error") if isinstance(body, dict) else None
        status = error.get("status") if isinstance(error, dict) else None
        problems.expect(exchange.status == 400 and status == "INVALID_ARGUMENT",
                        f"{name}={OUT_OF_RANGE[name]}: HTTP {exchange.status}, error.status "
                        f"{describe(status)}: {exchange.body[:160]!r}", shows=exchange)
    problems.raise_if_any("out-of-range sampling parameters are not refused",
                          expected={"status": 400, "error.status": "INVALID_ARGUMENT"})


@check("gemini.generation.json-mode", level=Level.MUST, feature="structured-output",
       operation=OP, spec=f"{CONFIG}/properties/responseSchema",
       source=SOURCE + "; Gemini docs, structured output (responseMimeType, responseSchema)",
       observes="the text of the answer in JSON mode",
       fix="Forward `responseMimeType: application/json` with `responseSchema` (as the upstream's "
           "JSON-schema output mode when translating) so that the text is JSON valid against the "
           "schema; refuse them with a 400 envelope if the upstream cannot.")
def test_json_mode(gemini_json_mode: Exchange) -> None:
    """With `responseMimeType: application/json` and a `responseSchema`, the answer's text MUST be JSON valid against that schema."""
    body = require_object(gemini_json_mode)
    problems = Problems()
    for n, candidate in enumerate(candidates(body)):
        if not ended_naturally(candidate):
            continue  # a cut or blocked answer cannot be whole JSON
        observe("answers ended naturally")
        text = candidate_text(candidate)
        try:
            value = json.loads(text)
        except ValueError:
            problems.add(f"candidates[{n}]: the text is not JSON: {text[:160]!r}")
            continue
        problems.items += [f"candidates[{n}]: {error.message}" for error in
                           jsonschema.Draft202012Validator(_json_schema(ANSWER_SCHEMA))
                           .iter_errors(value)]
    problems.raise_if_any("the JSON-mode answer is not JSON valid against responseSchema",
                          expected=ANSWER_SCHEMA)
    if not any(map(ended_naturally, candidates(body))):
        inconclusive("no candidate ended with finishReason STOP, and a cut or blocked answer "
                     "cannot be whole JSON (gemini.response.finish-reason judges the reason)")


def _json_schema(schema: Any) -> Any:
    """An OpenAPI-subset schema (`type: OBJECT`) as the JSON Schema it stands for."""
    if isinstance(schema, dict):
        return {k: v.lower() if k == "type" and isinstance(v, str) else _json_schema(v)
                for k, v in schema.items()}
    return schema


@check("gemini.generation.system-instruction", level=Level.MUST, operation=OP,
       spec=f"{spec('GenerateContentRequest')}/properties/systemInstruction",
       source=SOURCE + "; reference request.md (`systemInstruction` is top-level, there is no "
       "`system` role)", observes="the answer to a request with a systemInstruction",
       fix="Accept the top-level `systemInstruction` and pass it to the upstream as its system "
           "prompt, never as a `contents` turn with a `system` role (the API has none).")
def test_system_instruction(gemini_system: Exchange, gemini_generate: Exchange) -> None:
    """A request with a `systemInstruction` MUST be answered (200 and a valid GenerateContentResponse), as the same request without it is."""
    require_object(gemini_generate)
    body = require_object(gemini_system)
    observe("an answer to a request with systemInstruction")
    plain = answered(gemini_generate)
    known = set(schemas.errors(DOC, "GenerateContentResponse", plain))
    problems = [p for p in schemas.errors(DOC, "GenerateContentResponse", body)
                if p not in known]
    if problems:
        fail(f"the answer to a request with systemInstruction is not valid: {problems[0]}",
             expected=f"valid {spec('GenerateContentResponse')}", actual=problems)
