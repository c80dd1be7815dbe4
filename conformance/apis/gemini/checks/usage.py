"""Gemini: `usageMetadata` accounting, unstreamed and on a stream's final chunk, `:countTokens`,
and the thinking tokens.

The counts are exact and comparable: `totalTokenCount` is the sum of its documented parts, the
same request reports the same usage however it is delivered, and `:countTokens` counts the
prompt `promptTokenCount` bills. A missing count is 0 (proto3 JSON leaves zeros out).
"""

from __future__ import annotations

from typing import Any

from conformance import plan
from conformance.apis.gemini.checks import (
    OP,
    OP_COUNT,
    OP_STREAM,
    QUESTION,
    SOURCE,
    SOURCE_COUNT,
    SOURCE_STREAMING,
    GeminiStream,
    answered,
    candidates,
    count_path,
    parts,
    spec,
    text_of,
    usage_of,
    user_turn,
)
from conformance.check import (
    Level,
    Problems,
    check,
    expect,
    fail,
    inconclusive,
    not_supported,
    observe,
    record,
)
from conformance.http import Exchange, Request, post
from conformance.preconditions import (
    endpoint_missing,
    require_object,
    require_response,
    require_success,
)
from conformance.shapes import describe, is_int

SPEC = spec("UsageMetadata")
SOURCE_USAGE = SOURCE + " (UsageMetadata: totalTokenCount = prompt + candidates + thoughts + " \
                        "toolUsePrompt); reference response.md"
# The parts of the total, as documented; the prompt's count includes the cached part.
PARTS = ("promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount",
         "toolUsePromptTokenCount")
TOTAL = "totalTokenCount"
THOUGHTS = "thoughtsTokenCount"


@plan.exchange
def gemini_count(model: str) -> Request:
    """The plain request's `contents`, counted (the form google-genai sends)."""
    return post(count_path(model), {"contents": [user_turn(QUESTION)]})


def count(usage: dict[str, Any], key: str) -> int | None:
    """A count of `usage`: 0 when left out, None when it is not a count (the schema's call)."""
    value = usage.get(key, 0)
    return value if is_int(value) and value >= 0 else None


def unaccounted(usage: dict[str, Any]) -> int | None:
    """What `totalTokenCount` holds beyond its documented parts (None: a count is missing or
    not one)."""
    counts = [count(usage, key) for key in (TOTAL, *PARTS)]
    if TOTAL not in usage or any(c is None for c in counts):
        return None
    total, *summed = counts
    return total - sum(summed)  # type: ignore[arg-type]


def finished_answers(gemini_generate: Exchange, gemini_cut: Exchange,
                     gemini_thinking: Exchange,
                     *streams: GeminiStream) -> dict[str, dict[str, Any]]:
    """Every answer whose usage is final: the unstreamed ones answered, and each stream's last
    chunk."""
    found = {"plain answer": require_object(gemini_generate)}
    for label, exchange in (("cut answer", gemini_cut), ("thinking answer", gemini_thinking)):
        if (body := answered(exchange)) is not None:
            found[label] = body
    for stream in streams:
        if stream.answered and stream.final is not None:
            found[f"{stream.form} stream's final chunk"] = stream.final
    return found


@check("gemini.usage.arithmetic", level=Level.MUST, feature="usage", operation=OP, spec=SPEC,
       source=SOURCE_USAGE + "; gateway-deviations.md rows 3, 15",
       observes="the usageMetadata of the unstreamed answers and of each stream's final chunk",
       fix="Compute `totalTokenCount` as `promptTokenCount + candidatesTokenCount + "
           "thoughtsTokenCount + toolUsePromptTokenCount`, and report every part the total "
           "counts (the thinking tokens in `thoughtsTokenCount`).")
def test_arithmetic(gemini_generate: Exchange, gemini_cut: Exchange, gemini_thinking: Exchange,
                    gemini_stream_sse: GeminiStream,
                    gemini_stream_array: GeminiStream) -> None:
    """`usageMetadata.totalTokenCount` MUST equal `promptTokenCount` + `candidatesTokenCount` + `thoughtsTokenCount` + `toolUsePromptTokenCount` (a missing count is 0) on every finished answer."""
    found = finished_answers(gemini_generate, gemini_cut, gemini_thinking, gemini_stream_sse,
                             gemini_stream_array)
    problems = Problems()
    judged = {}
    for where, body in found.items():
        usage = usage_of(body)
        off = None if usage is None else unaccounted(usage)
        if off is None:
            continue  # no usage, or a count that is not one: gemini.response.schema's call
        judged[where] = {key: usage[key] for key in (*PARTS, TOTAL) if key in usage}
        problems.expect(off == 0, f"{where}: totalTokenCount {usage[TOTAL]} is "
                        f"{'more' if off > 0 else 'less'} than the sum of its parts by "
                        f"{abs(off)} ({_shown(usage)})")
    record(usage=judged)
    observe("usage objects", len(judged))
    problems.raise_if_any("totalTokenCount is not the sum of the counts it totals",
                          expected=f"{TOTAL} = " + " + ".join(PARTS))


def _shown(usage: dict[str, Any]) -> str:
    return ", ".join(f"{key} {usage.get(key, 0)}" for key in PARTS)


@check("gemini.usage.stream-final", level=Level.MUST, feature="streaming", operation=OP_STREAM,
       spec=SPEC, source=SOURCE_STREAMING + "; reference streaming.md (the usage on every "
       "chunk is cumulative: the last one is the answer's)",
       observes="the final chunk's usageMetadata of both stream forms beside the unstreamed "
                "answer's",
       fix="Send the answer's whole usage on the last chunk of a stream (cumulative counts, "
           "as the unstreamed answer reports them), not the last chunk's own tokens or the "
           "running prompt count.")
def test_stream_final(gemini_generate: Exchange, gemini_stream_sse: GeminiStream,
                      gemini_stream_array: GeminiStream) -> None:
    """The last chunk of a stream MUST carry the answer's `usageMetadata`: the same prompt count as the same request unstreamed, and the same candidates count when both answers have the same text."""
    unstreamed = require_object(gemini_generate)
    expected = usage_of(unstreamed)
    if expected is None:
        inconclusive("the unstreamed answer has no usageMetadata to compare with (judged by "
                     "gemini.response.schema)")
    problems = Problems()
    compared: dict[str, list[str]] = {}
    for stream in (gemini_stream_sse, gemini_stream_array):
        if not stream.answered or stream.final is None:
            continue  # not a readable stream: the stream checks' call
        # Thoughts (and so the total) vary between two calls of a thinking model even at
        # temperature 0: only what the text shows is compared.
        same_text = stream.text() == text_of(unstreamed)
        keys = ("promptTokenCount", "candidatesTokenCount") if same_text else \
            ("promptTokenCount",)
        compared[stream.form] = list(keys)
        final = usage_of(stream.final)
        if final is None:
            problems.add(f"{stream.form} stream: the final chunk has no usageMetadata",
                         shows=stream.exchange)
            continue
        for key in keys:
            problems.expect(final.get(key, 0) == expected.get(key, 0),
                            f"{stream.form} stream: the final chunk's {key} is "
                            f"{describe(final.get(key, 0))}, the unstreamed answer's "
                            f"{expected.get(key, 0)}", shows=stream.exchange)
    record(compared=compared, unstreamed=expected)
    if not compared:
        inconclusive("neither stream form was answered with readable chunks (judged by "
                     "gemini.stream.*)")
    observe("final chunks", len(compared))
    problems.raise_if_any("the stream's final usage is not the answer's usage",
                          expected=expected)


@check("gemini.usage.count-tokens", level=Level.MUST, feature="count-tokens",
       operation=OP_COUNT, spec=spec("CountTokensResponse"),
       source=SOURCE_COUNT + "; " + SOURCE_USAGE,
       observes="the :countTokens answer for the plain request's contents",
       fix="Answer `:countTokens` with `{\"totalTokens\": N}`, N the upstream's count of the "
           "same contents (what `promptTokenCount` bills when they run), not an estimate; or "
           "do not serve the route.")
def test_count_tokens(gemini_count: Exchange, gemini_generate: Exchange) -> None:
    """Where served, `:countTokens` MUST answer `totalTokens` as an integer equal to the `promptTokenCount` the same contents are billed when they run."""
    require_response(gemini_count)
    if endpoint_missing(gemini_count):
        not_supported(f"the gateway does not serve :countTokens (HTTP {gemini_count.status})")
    require_success(gemini_count)
    counted = require_object(gemini_count).get("totalTokens")
    observe("countTokens answers")
    expect(is_int(counted) and counted >= 0, f"countTokens answered totalTokens = "
           f"{describe(counted)}, not an integer ≥ 0", expected={"totalTokens": "int"},
           actual=gemini_count.body[:300])
    usage = usage_of(require_object(gemini_generate))
    billed = None if usage is None else count(usage, "promptTokenCount")
    if billed is None:
        inconclusive("the same contents run report no promptTokenCount to compare with "
                     "(judged by gemini.response.schema)")
    record(total_tokens=counted, prompt_token_count=billed)
    expect(counted == billed, f"countTokens counts {counted} tokens, but the same contents "
           f"run are billed promptTokenCount {billed}", expected=billed, actual=counted)


@check("gemini.usage.thoughts-counted", level=Level.MUST, feature="reasoning", operation=OP,
       spec=f"{SPEC}/properties/{THOUGHTS}", source=SOURCE_USAGE + "; gateway-deviations.md "
       "row 15 (sub2api#554)",
       observes="the usageMetadata of the answer to a request with thinkingConfig",
       fix="Report the thinking tokens as `usageMetadata.thoughtsTokenCount` (and count them in "
           "`totalTokenCount`), apart from `candidatesTokenCount`: do not drop them or fold "
           "them into the answer's count.")
def test_thoughts_counted(gemini_thinking: Exchange) -> None:
    """When the model thought (thought summaries, or a total beyond the answer and the prompt), the usage MUST report the thinking tokens as `thoughtsTokenCount`."""
    require_success(gemini_thinking)
    body = require_object(gemini_thinking)
    usage = usage_of(body) or {}
    thoughts = count(usage, THOUGHTS)
    summaries = sum(1 for c in candidates(body) for p in parts(c) if p.get("thought") is True)
    beyond = unaccounted({k: v for k, v in usage.items() if k != THOUGHTS})
    record(thoughts_token_count=usage.get(THOUGHTS), thought_parts=summaries,
           total_beyond_prompt_and_answer=beyond)
    if thoughts:
        observe("thinking tokens reported")
        return
    if summaries or (beyond or 0) > 0:
        why = (f"{summaries} thought part(s)" if summaries else
               f"totalTokenCount exceeds the prompt and the answer by {beyond}")
        fail(f"the model thought ({why}), but usageMetadata reports thoughtsTokenCount "
             f"{describe(usage.get(THOUGHTS))}", expected={THOUGHTS: "> 0"}, actual=usage)
    inconclusive("the model reported no thinking (no thought part, no thinking tokens): "
                 "nothing to count")
