"""Messages: usage (token) accounting, unstreamed and streamed, `count_tokens`, and billing.

The prompt's count is exact and comparable: the same request reports the same `input_tokens`
however it is delivered, and `count_tokens` counts what `usage` bills. The output's count is
compared exactly only between two answers with the same content; against the content itself
it can only be approximated, since no Claude tokenizer is available offline
(`APPROXIMATION` stands in for it, with the tolerances stated at each check).
"""

from __future__ import annotations

import json
from typing import Any

from conformance import plan, tokens
from conformance.apis.anthropic.checks import (
    COUNT_PATH,
    OP,
    OP_COUNT,
    SOURCE,
    SOURCE_COUNT,
    SOURCE_STREAMING,
    MessagesStream,
    content_blocks,
    judge_rules,
    message_body,
    spec,
    usage_of,
)
from conformance.apis.anthropic.event_order import CACHE_COUNTS, MESSAGE_DELTA, MESSAGE_START
from conformance.check import (
    Level,
    Problems,
    check,
    expect,
    inconclusive,
    not_supported,
    observe,
    record,
    require_observed,
    warn,
)
from conformance.http import Exchange, Request, post
from conformance.preconditions import endpoint_missing, require_object, require_response
from conformance.shapes import is_int
from conformance.stream_rules import JudgedStream, JudgedStreams

SPEC = spec("Usage")
SOURCE_USAGE = SOURCE + " (`usage`: input_tokens excludes the cache counts)"
# No official Claude tokenizer runs offline: the suite's o200k_base BPE approximates it.
APPROXIMATION = "o200k_base"
NO_TOKENIZER = ("no official Claude tokenizer is available offline: the count is o200k_base's, "
                "an approximation")
# Fields of the create request that count_tokens does not take (endpoints-and-headers.md).
NOT_COUNTED = ("max_tokens", "stream", "temperature", "top_p", "top_k", "stop_sequences",
               "metadata")


@plan.exchange
def message_count(model: str) -> Request:
    """The plain request's prompt, counted."""
    body = {k: v for k, v in message_body(model).items() if k not in NOT_COUNTED}
    return post(COUNT_PATH, body)


# --- shared readings ------------------------------------------------------------------------


def is_count(value: Any) -> bool:
    return is_int(value) and value >= 0


def prompt_total(found: Any) -> int | None:
    """The whole prompt a usage object reports: `input_tokens` plus the cache counts, which it
    excludes (None: input_tokens is not a count)."""
    if not isinstance(found, dict) or not is_count(found.get("input_tokens")):
        return None
    return found["input_tokens"] + sum(found.get(k) or 0 for k in CACHE_COUNTS
                                       if is_count(found.get(k)))


def generated_text(message: Any) -> str:
    """What the model generated into a message: its text, its thinking and its tool inputs'
    JSON, which `output_tokens` counts."""
    parts = []
    for block in content_blocks(message):
        value = block.get("text") or block.get("thinking") or (
            json.dumps(block["input"], separators=(",", ":")) if "input" in block else "")
        parts.append(value if isinstance(value, str) else "")
    return "".join(parts)


def covers(reported: int, message: Any) -> tuple[bool, int]:
    """Whether `reported` output tokens can be the whole of what `message` holds, and the
    offline count of it. Claude's tokenizer needs more tokens than o200k_base for English,
    never half as many: fewer than half is a count of part of the message."""
    local = tokens.count_text(generated_text(message), APPROXIMATION)
    return reported * 2 >= local, local


def _answered(exchange: Exchange | None) -> dict[str, Any] | None:
    """The unstreamed answer of an exchange, when it answered 200 with a message object."""
    body = exchange.json_or_none() if exchange is not None and exchange.status == 200 else None
    return body if isinstance(body, dict) else None


def _twins(message: Exchange, message_cut: Exchange, message_tool: Exchange,
           message_thinking: Exchange) -> dict[str, Exchange]:
    """Each judged stream's label -> the same request unstreamed."""
    return {"text": message, "max_tokens cut": message_cut, "tool_use": message_tool,
            "thinking": message_thinking}


def _first(stream: MessagesStream, event_type: str) -> dict[str, Any] | None:
    return next((p for p in stream.payloads if isinstance(p, dict)
                 and p.get("type") == event_type), None)


def _final_usage(entry: JudgedStream) -> dict[str, Any] | None:
    """The usage a client holds at the end of a stream that sent its message_delta."""
    if _first(entry.stream, MESSAGE_DELTA) is None:
        return None
    return usage_of(entry.summary.message)


# --- the unstreamed usage -------------------------------------------------------------------


@check("messages.usage.shape", level=Level.MUST, feature="usage", operation=OP, spec=SPEC,
       observes="the usage object of the plain answer", source=SOURCE_USAGE,
       fix="Report `usage.input_tokens` and `usage.output_tokens` as integers ≥ 0 (no 0 output for "
           "an answer with content), with `cache_creation_input_tokens` and "
           "`cache_read_input_tokens` as integers or null, kept out of `input_tokens`.")
def test_shape(message: Exchange, message_count: Exchange) -> None:
    """A message's `usage` MUST hold integer `input_tokens` and `output_tokens` ≥ 0 (`output_tokens` > 0 when there is content) and cache counts that are integers ≥ 0 or null, left out of `input_tokens`."""
    body = require_object(message)
    found = usage_of(body)
    expect(found is not None, "the message has no usage object",
           expected={"input_tokens": "int", "output_tokens": "int"}, actual=body.get("usage"))
    observe("usage objects")
    problems = Problems()
    for key in ("input_tokens", "output_tokens"):
        problems.expect(is_count(found.get(key)),
                        f"{key} = {found.get(key)!r} is not an integer ≥ 0")
    for key in CACHE_COUNTS:
        problems.expect(found.get(key) is None or is_count(found.get(key)),
                        f"{key} = {found.get(key)!r} is neither null nor an integer ≥ 0")
    if content_blocks(body):
        problems.expect(found.get("output_tokens") != 0, "output_tokens is 0 although the "
                        f"message holds {len(content_blocks(body))} content block(s)")
    counted = _count_of(message_count)
    record(cache_counts={k: found.get(k) for k in CACHE_COUNTS}, count_tokens=counted)
    problems.expect(_cache_excluded(found, counted), f"input_tokens "
                    f"{found.get('input_tokens')!r} + cache counts "
                    f"{[found.get(k) for k in CACHE_COUNTS]} = {prompt_total(found)}, but "
                    f"count_tokens counts {counted} for the same prompt: the cached tokens are "
                    "counted in input_tokens too, which excludes them")
    problems.raise_if_any("the usage object breaks the Messages usage model", expected={
        "input_tokens": "uncached prompt tokens", "output_tokens": "> 0 with content",
        "cache_creation_input_tokens": "int or null", "cache_read_input_tokens": "int or null"})


def _cache_excluded(found: dict[str, Any], counted: Any) -> bool:
    """With cache counts, the prompt they split (input_tokens + cache counts) is the one
    count_tokens counts for the same request; more, and input_tokens holds the cached tokens
    too (grok2api#751). Judged when count_tokens gives a count."""
    cached = prompt_total(found) != found.get("input_tokens")
    return not (cached and is_count(counted)) or counts_agree(counted, prompt_total(found))


# count_tokens is documented as an estimate that "may differ by a small amount" from what a
# request is billed (system-added tokens): counts this close agree.
COUNT_TOLERANCE_TOKENS = 3


def counts_agree(counted: int, billed: int) -> bool:
    """count_tokens' count and the billed prompt differ by at most COUNT_TOLERANCE_TOKENS (or
    2 %, for long prompts)."""
    return abs(counted - billed) <= max(COUNT_TOLERANCE_TOKENS, billed // 50)


def _count_of(exchange: Exchange) -> Any:
    body = exchange.json_or_none() if exchange.status == 200 else None
    return body.get("input_tokens") if isinstance(body, dict) else None


@check("messages.usage.billing", level=Level.SHOULD, feature="usage", operation=OP,
       observes="the prompt a plain message is billed for",
       spec=f"{SPEC}/properties/input_tokens",
       source=SOURCE_USAGE + "; " + NO_TOKENIZER,
       fix="Report in `input_tokens` (plus the cache counts) the upstream's count of the prompt "
           "the client sent; do not add estimates, minimums or the tokens of a prompt the gateway "
           "injects.")
def test_billing(message: Exchange) -> None:
    """The prompt a message is billed for (`input_tokens` plus cache counts) SHOULD NOT exceed an offline o200k_base count of the request by more than max(32 tokens, 50%), a wide margin because no Claude tokenizer is available offline."""
    body = require_object(message)
    billed = prompt_total(usage_of(body))
    if billed is None:
        inconclusive("the message reports no input_tokens count (judged by "
                     "messages.usage.shape)")
    local = offline_prompt(message.request_json())
    margin = max(32, round(local * 0.5))
    record(tokenizer=APPROXIMATION, note=NO_TOKENIZER, local_count=local, billed=billed,
           margin=margin)
    observe("billed prompts")
    if billed > local + margin:
        warn(f"the prompt is billed {billed} tokens, {billed - local} more than the ~{local} "
             f"the request holds (margin {margin}): the gateway bills tokens the client never "
             "sent, such as a hidden system prompt", expected=f"≤ {local + margin} "
             f"({local} ± {margin}; {NO_TOKENIZER})", actual=billed)


def offline_prompt(sent: dict[str, Any]) -> int:
    """The request's prompt by the cookbook recipe of `tokens.count_chat_prompt`: the system
    prompt and each turn's text (string or text blocks), and the tools' definitions."""
    turns = [{"role": m.get("role"), "content": m.get("content")}
             for m in sent.get("messages", [])]
    system = [{"role": "system", "content": sent["system"]}] if sent.get("system") else []
    return tokens.count_chat_prompt(system + turns, APPROXIMATION, sent.get("tools"))


# --- count_tokens ---------------------------------------------------------------------------


@check("messages.usage.count-tokens", level=Level.MUST, feature="count-tokens",
       operation=OP_COUNT, spec=spec("MessageTokensCount"),
       observes="the count_tokens answer for the plain request's prompt",
       source=SOURCE_COUNT + "; " + SOURCE_USAGE,
       fix='Answer `POST /v1/messages/count_tokens` with `{"input_tokens": N}` counted as the '
           'running request is billed (its `input_tokens` plus cache counts), or do not serve the '
           'endpoint.')
def test_count_tokens(message_count: Exchange, message: Exchange) -> None:
    """Where served, `POST /v1/messages/count_tokens` MUST answer `{"input_tokens": <integer>}` within a few tokens of the prompt (`input_tokens` plus cache counts) the same request is billed when it runs."""
    require_response(message_count)
    if endpoint_missing(message_count):
        not_supported(f"the gateway does not serve POST /v1/messages/count_tokens (HTTP "
                      f"{message_count.status})")
    counted = require_object(message_count).get("input_tokens")
    observe("count_tokens answers")
    expect(is_count(counted), f"count_tokens answered input_tokens = {counted!r}, not an "
           "integer ≥ 0", expected={"input_tokens": "int"}, actual=message_count.body[:300])
    billed = prompt_total(usage_of(require_object(message)))
    if billed is None:
        inconclusive("the same request run reports no input_tokens to compare with (judged "
                     "by messages.usage.shape)")
    record(count_tokens=counted, billed=billed,
           tolerance=f"±{max(COUNT_TOLERANCE_TOKENS, billed // 50)} tokens (an estimate, per the "
                     "token-counting docs)")
    expect(counts_agree(counted, billed), f"count_tokens counts {counted} tokens, but the same "
           f"request run is billed {billed}", expected=billed, actual=counted)


# --- streamed usage -------------------------------------------------------------------------


def _rule_check(check_id: str, subject: str, pointer: str, *, fix: str):
    return check(check_id, level=Level.MUST, feature="streaming", operation=OP, spec=pointer,
                 observes=f"{subject} in the recorded streams", source=SOURCE_STREAMING,
                 fix=fix)


@_rule_check("messages.usage.start-input-tokens", "message_start events",
             spec("MessageStartEvent"),
             fix="Put the prompt's real `input_tokens` in `message_start.message.usage` (the count "
                 "the unstreamed answer reports), not 0 or a placeholder to be corrected later.")
def test_start_input_tokens(judged_streams: JudgedStreams, message: Exchange,
                            message_cut: Exchange, message_tool: Exchange,
                            message_thinking: Exchange) -> None:
    """`message_start` MUST carry the real prompt count: `usage.input_tokens` not 0 (unless the cache counts hold the prompt) and equal to the `input_tokens` of the same request unstreamed."""
    judge_rules(judged_streams, "messages.usage.start-input-tokens",
                "message_start does not carry the real input_tokens")
    twins = _twins(message, message_cut, message_tool, message_thinking)
    problems = Problems()
    compared = 0
    for entry in judged_streams:
        whole = usage_of(_answered(twins.get(entry.label)))
        start = _first(entry.stream, MESSAGE_START)
        if whole is None or start is None:
            continue
        compared += 1
        streamed = (usage_of(start.get("message")) or {}).get("input_tokens")
        problems.expect(streamed == whole.get("input_tokens"), f"{entry.label} stream: "
                        f"message_start has input_tokens {streamed!r}, the same request "
                        f"unstreamed {whole.get('input_tokens')!r}")
    record(compared_with_unstreamed=compared)
    problems.raise_if_any("message_start's input_tokens is not the prompt's count",
                          expected="the input_tokens of the same request unstreamed")


@_rule_check("messages.usage.output-cumulative", "message_delta events",
             spec("MessageDeltaUsage"),
             fix="Put the running total of output tokens for the whole message in "
                 "`message_delta.usage.output_tokens`, not the increment since the previous event.")
def test_output_cumulative(judged_streams: JudgedStreams) -> None:
    """`message_delta.usage.output_tokens` MUST be the integer count of the whole message, replacing earlier counts rather than adding to them: never smaller than an earlier count, nor than half the offline count of what the stream delivered."""
    judge_rules(judged_streams, "messages.usage.output-cumulative",
                "message_delta's output_tokens is not the cumulative count")
    problems = Problems()
    for entry in judged_streams:
        final = _final_usage(entry)
        reported = final.get("output_tokens") if final else None
        if not is_count(reported):
            continue  # not an integer: the engine's rule said so
        whole, local = covers(reported, entry.summary.message)
        problems.expect(whole, f"{entry.label} stream: the final output_tokens is {reported}, "
                        f"but the stream delivered ~{local} tokens of content ({APPROXIMATION}):"
                        " a client that replaces the count, as the SDKs do, keeps a part")
    problems.raise_if_any("message_delta's output_tokens counts part of the message",
                          expected=f"the whole message's count (at least half the offline "
                          f"count; {NO_TOKENIZER})")


@check("messages.usage.stream-agrees", level=Level.MUST, feature="streaming", operation=OP,
       spec=SPEC, observes="streams whose unstreamed twin was answered",
       source=SOURCE_STREAMING + "; " + SOURCE_USAGE,
       fix="Take streamed usage from the same upstream counts as the unstreamed answer: the same "
           "`input_tokens` in `message_start`, and the final `output_tokens` in `message_delta`.")
def test_stream_agrees(judged_streams: JudgedStreams, message: Exchange, message_cut: Exchange,
                       message_tool: Exchange, message_thinking: Exchange) -> None:
    """The usage a client assembles from a stream MUST agree with the same request unstreamed: the same `input_tokens`, and the same `output_tokens` when both answers hold the same content."""
    judged_streams.required()
    twins = _twins(message, message_cut, message_tool, message_thinking)
    problems = Problems()
    compared = []
    for entry in judged_streams:
        whole = _answered(twins.get(entry.label))
        final = _final_usage(entry)
        if usage_of(whole) is None or final is None:
            continue
        keys = _compared_keys(entry.summary.message, whole)
        compared.append(f"{entry.label}: {', '.join(keys)}")
        for key in keys:
            streamed, plain = final.get(key), usage_of(whole).get(key)
            problems.expect(streamed == plain, f"{entry.label} stream: {key} {streamed!r} "
                            f"streamed, {plain!r} unstreamed")
    record(compared=compared)
    problems.raise_if_any("the streamed usage disagrees with the unstreamed answer's",
                          expected="the same input_tokens, and output_tokens for the same "
                          "content")
    require_observed(len(compared), "streams beside an answered unstreamed twin",
                     "no stream sent its message_delta beside an answered unstreamed twin (see "
                     "messages.stream.message-delta), so no usage could be compared")


def _compared_keys(streamed: Any, whole: Any) -> tuple[str, ...]:
    """input_tokens always; output_tokens only for the same content (a sampled model may word
    the two answers differently, and their counts then differ rightly)."""
    def content(message: Any) -> list[tuple[Any, ...]]:
        return [(b.get("type"), b.get("text"), b.get("thinking"), b.get("name"), b.get("input"))
                for b in content_blocks(message)]
    same = content(streamed) == content(whole)
    return ("input_tokens", "output_tokens") if same else ("input_tokens",)
