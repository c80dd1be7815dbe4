"""Gemini, the answer itself: the `GenerateContentResponse` schema, the model's turn, camelCase
keys, the finish reason judged against what happened (usage and the cap) and the answer's
identity (`modelVersion`, `responseId`), unstreamed and in every chunk of a stream.

The google-genai SDK does not validate bodies (a snake_case key reads as absent, a lowercase
`finishReason` only warns), so these checks judge the raw JSON.
"""

from __future__ import annotations

from typing import Any

from conformance import schemas
from conformance.apis.gemini.checks import (
    CUT_TOKENS,
    DOC,
    FINISH,
    MAX_OUTPUT_TOKENS,
    OP,
    SOURCE,
    GeminiStream,
    answered,
    camel_case_problems,
    candidates,
    ended_naturally,
    output_tokens,
    spec,
    usage_of,
)
from conformance.check import Level, Problems, check, inconclusive, observe, record, warn
from conformance.http import Exchange
from conformance.preconditions import require_object
from conformance.shapes import describe

SCHEMA = "GenerateContentResponse"
SPEC = spec(SCHEMA)
FINISH_REASONS: tuple[str, ...] = tuple(
    schemas.document(DOC)["components"]["schemas"]["FinishReason"]["enum"])
ANSWERS = "the unstreamed answers (plain, cut, stop sequence) and the chunks of both stream forms"


def answers(gemini_generate: Exchange, gemini_cut: Exchange, gemini_stop: Exchange | None,
            *streams: GeminiStream | None) -> dict[str, dict[str, Any]]:
    """Every answer to judge (where -> GenerateContentResponse): the plain one must be a 200
    JSON object; the others are judged when answered (a refusal is another check's call)."""
    found = {"plain answer": require_object(gemini_generate)}
    for label, exchange in (("cut answer", gemini_cut), ("stop answer", gemini_stop)):
        body = answered(exchange)
        if body is not None:
            found[label] = body
    for found_stream in streams:
        if found_stream is not None and found_stream.exchange.status == 200:
            found |= {f"{found_stream.form} stream chunk #{n}": chunk
                      for n, chunk in enumerate(found_stream.responses)}
    return found


@check("gemini.response.schema", level=Level.MUST, operation=OP, spec=SPEC, source=SOURCE,
       observes="the unstreamed answers (plain, cut, stop sequence)",
       fix="Check every Gemini answer against the `GenerateContentResponse` schema "
           "(`candidates`, `usageMetadata`, `modelVersion`, `responseId`) and correct each field "
           "it reports; do not send OpenAI's `choices`/`object` shape here.")
def test_schema(gemini_generate: Exchange, gemini_cut: Exchange,
                gemini_stop: Exchange | None) -> None:
    """A non-streamed answer MUST be a JSON object valid against `GenerateContentResponse` (stream chunks: gemini.stream.chunks-valid)."""
    found = answers(gemini_generate, gemini_cut, gemini_stop)
    observe("unstreamed answers", len(found))
    problems = Problems()
    for where, body in found.items():
        problems.items += [f"{where}, {error}" for error in schemas.errors(DOC, SCHEMA, body)]
    problems.raise_if_any("the answer does not match the GenerateContentResponse schema",
                          expected=f"valid {SPEC}")


@check("gemini.response.role-and-parts", level=Level.MUST, operation=OP,
       spec=f"{spec('Candidate')}/properties/content", source=SOURCE + "; reference response.md",
       observes="candidates of the answers and chunks",
       fix='Give every candidate `content: {"role": "model", "parts": [...]}` (the upstream\'s '
           '"assistant" role translated), with the answer\'s text in `parts`.')
def test_role_and_parts(gemini_generate: Exchange, gemini_cut: Exchange,
                        gemini_stop: Exchange | None, gemini_stream_sse: GeminiStream,
                        gemini_stream_array: GeminiStream) -> None:
    """Each candidate's `content` MUST have `role: "model"` and a `parts` array, which holds the answer when the candidate ended naturally (`STOP`)."""
    found = answers(gemini_generate, gemini_cut, gemini_stop, gemini_stream_sse,
                    gemini_stream_array)
    problems = Problems()
    for where, body in found.items():
        for n, candidate in enumerate(candidates(body)):
            observe("candidates")
            _judge_content(candidate, f"{where}, candidates[{n}]", problems)
    problems.raise_if_any("candidates are not the model's turn",
                          expected={"content.role": "model", "content.parts": "an array"})


def _judge_content(candidate: dict[str, Any], where: str, problems: Problems) -> None:
    content = candidate.get("content")
    if content is None:
        # Blocked or cut before any output: no content is documented then.
        problems.expect(not ended_naturally(candidate) and FINISH in candidate,
                        f"{where}: no content, "
                        f"though finishReason is {describe(candidate.get(FINISH))}")
        return
    if not isinstance(content, dict):
        problems.add(f"{where}: content is {describe(content)}, not an object")
        return
    problems.expect(content.get("role") == "model", f"{where}: content.role is "
                    f"{describe(content.get('role'))}, expected 'model'")
    parts = content.get("parts")
    if parts is not None or ended_naturally(candidate):
        problems.expect(isinstance(parts, list) and (parts or not ended_naturally(candidate)),
                        f"{where}: content.parts is {describe(parts)}, expected the answer's "
                        "parts")


@check("gemini.response.camel-case", level=Level.MUST, operation=OP, spec=SPEC,
       source=SOURCE + "; proto3 JSON mapping (lowerCamelCase field names)", observes=ANSWERS,
       fix="Serialise Gemini answers with the REST API's camelCase field names "
           "(`finishReason`, `usageMetadata`, `promptTokenCount`), not the proto or Python "
           "snake_case ones: google-genai reads a snake_case key as absent.")
def test_camel_case(gemini_generate: Exchange, gemini_cut: Exchange, gemini_stop: Exchange | None,
                    gemini_stream_sse: GeminiStream, gemini_stream_array: GeminiStream) -> None:
    """Every key of an answer and of each chunk MUST be camelCase, as the REST API sends it (snake_case keys are silently dropped by the SDK)."""
    found = answers(gemini_generate, gemini_cut, gemini_stop, gemini_stream_sse,
                    gemini_stream_array)
    observe("answers and chunks", len(found))
    problems = Problems()
    for where, body in found.items():
        problems.items += [f"{where}: {p}" for p in camel_case_problems(body)]
    problems.raise_if_any("the answer has snake_case keys, which google-genai reads as absent",
                          expected="camelCase keys (finishReason, usageMetadata, …)")


@check("gemini.response.finish-reason", level=Level.MUST, operation=OP,
       spec=spec("FinishReason"), source=SOURCE + "; google-genai types.FinishReason",
       observes="finish reasons of the answers and the final chunks, and answers that reached "
                "maxOutputTokens",
       fix="Send `finishReason` as the documented UPPER_SNAKE value (`STOP`, `MAX_TOKENS`, "
           "`SAFETY`, …), and map the upstream's length stop onto `MAX_TOKENS`, never `STOP`.")
def test_finish_reason(gemini_generate: Exchange, gemini_cut: Exchange,
                       gemini_stop: Exchange | None, gemini_stream_sse: GeminiStream,
                       gemini_stream_array: GeminiStream) -> None:
    """`finishReason` MUST be one of the documented values in their UPPER_SNAKE case, and `MAX_TOKENS` when the output (answer and thoughts, from `usageMetadata`) reached `maxOutputTokens`."""
    found = answers(gemini_generate, gemini_cut, gemini_stop, gemini_stream_sse,
                    gemini_stream_array)
    caps = {"plain answer": MAX_OUTPUT_TOKENS, "cut answer": CUT_TOKENS,
            "stop answer": MAX_OUTPUT_TOKENS}
    for found_stream in (gemini_stream_sse, gemini_stream_array):
        if found_stream.final is not None:  # the final chunk's usage is the answer's
            caps[f"{found_stream.form} stream chunk #{len(found_stream.responses) - 1}"] = \
                MAX_OUTPUT_TOKENS
    problems = Problems()
    reasons = 0
    cut = []
    for where, body in found.items():
        for n, candidate in enumerate(candidates(body)):
            if FINISH not in candidate:
                continue  # an intermediate chunk; gemini.stream.finish-last judges placement
            reasons += 1
            reason = candidate[FINISH]
            problems.expect(reason in FINISH_REASONS, f"{where}, candidates[{n}]: finishReason "
                            f"{describe(reason)} is not one of the documented values"
                            + _case_hint(reason))
        output = output_tokens(usage_of(body))
        if where in caps and output is not None and output >= caps[where]:
            cut.append(where)
            got = [c.get(FINISH) for c in candidates(body)]
            problems.expect("MAX_TOKENS" in got, f"{where}: usageMetadata shows {output} output "
                            f"tokens, reaching maxOutputTokens {caps[where]}, but finishReason "
                            f"is {got!r}, expected 'MAX_TOKENS'")
    record(finish_reasons=reasons, reached_max_output_tokens=cut)
    problems.raise_if_any("finishReason does not say why the answer stopped", expected={
        "values": list(FINISH_REASONS), "output >= maxOutputTokens": "MAX_TOKENS"})
    if not cut:
        inconclusive(f"no answer reached its maxOutputTokens (the cut request asks for "
                     f"{CUT_TOKENS}): the model wrote less, so the cut was not exercised")
    observe("finish reasons", reasons)


def _case_hint(reason: Any) -> str:
    if isinstance(reason, str) and reason.upper() in FINISH_REASONS:
        return f" (the API sends {reason.upper()!r}: values are UPPER_SNAKE)"
    return ""


@check("gemini.response.identity", level=Level.SHOULD, operation=OP,
       spec=f"{SPEC}/properties/responseId", source=SOURCE + "; reference response.md "
       "(modelVersion and responseId present in practice, the same on every chunk)",
       observes=ANSWERS,
       fix="Set `modelVersion` (the answering model) and `responseId` on every answer and on "
           "every chunk of a stream, with the same values throughout one stream.")
def test_identity(gemini_generate: Exchange, gemini_cut: Exchange, gemini_stop: Exchange | None,
                  gemini_stream_sse: GeminiStream, gemini_stream_array: GeminiStream) -> None:
    """Every answer and chunk SHOULD carry `modelVersion` and `responseId` as non-empty strings, the same on every chunk of one stream."""
    found = answers(gemini_generate, gemini_cut, gemini_stop, gemini_stream_sse,
                    gemini_stream_array)
    observe("answers and chunks", len(found))
    problems = Problems()
    for where, body in found.items():
        for name in ("modelVersion", "responseId"):
            value = body.get(name)
            problems.expect(isinstance(value, str) and value.strip(),
                            f"{where}: {name} is {describe(value)}, not a non-empty string")
    for found_stream in (gemini_stream_sse, gemini_stream_array):
        for name in ("modelVersion", "responseId"):
            values = {repr(c.get(name)) for c in found_stream.responses}
            problems.expect(len(values) <= 1, f"{found_stream.form} stream: {name} changes "
                            f"between chunks: {sorted(values)}")
    if problems.items:
        warn("answers do not identify their model and response consistently",
             expected="modelVersion and responseId on every answer and chunk, constant within "
                      "a stream", actual=problems.items[:20])
