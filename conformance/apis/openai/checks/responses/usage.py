"""Responses: usage (token) accounting, streamed and not."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import tokens
from conformance.apis.openai import usage
from conformance.apis.openai.checks.responses import (
    OP_CREATE,
    SEED_USAGE,
    SOURCE_DOCS,
    require_stream_answer,
    spec,
    stream_terminal,
)
from conformance.apis.openai.streams import ResponsesStream
from conformance.check import (
    Level,
    Problems,
    check,
    expect,
    inconclusive,
    observe,
    record,
    require_observed,
    warn,
)
from conformance.http import Exchange
from conformance.preconditions import require_object

SPEC = spec("ResponseUsage")
SOURCE = f"{SOURCE_DOCS} `usage` (ResponseUsage)"
CHAT_NAMES = ("prompt_tokens", "completion_tokens", "prompt_tokens_details",
              "completion_tokens_details")


def _usages(plain: Exchange, stream: ResponsesStream) -> dict[str, Any]:
    """The usage of the plain answer, non-streamed and in the streamed terminal event.

    The non-stream usage is judged whatever the stream did; a refused or broken stream is
    reported by the streaming checks, so its part is then left out (and recorded).
    """
    found = {"non-stream": require_object(plain).get("usage")}
    terminal = stream_terminal(stream, stream)
    if terminal is not None:
        found["stream terminal event"] = terminal.get("usage")
    return found


@check("responses.usage.field-names", level=Level.MUST, feature="usage", operation=OP_CREATE,
       observes="usage objects, non-streamed and streamed", spec=SPEC,
       source=f"{SOURCE}; {SEED_USAGE}",
       fix="Rename an upstream's Chat-style usage when translating it: `prompt_tokens` → "
           "`input_tokens`, `completion_tokens` → `output_tokens`, and their `*_tokens_details` "
           "objects to `input_tokens_details` and `output_tokens_details`.")
def test_field_names(responses_plain: Exchange, responses_text_stream: ResponsesStream) -> None:
    """`usage` MUST use the Responses names `input_tokens`, `output_tokens`, `total_tokens` (with `input_tokens_details` / `output_tokens_details`), never Chat's `prompt_tokens` / `completion_tokens`."""
    problems = Problems()
    usages = _usages(responses_plain, responses_text_stream)
    observe("usage objects", len(usages))
    for where, found in usages.items():
        if not isinstance(found, dict):
            problems.add(f"{where}: usage is {found!r}, expected an object")
            continue
        chat = [name for name in CHAT_NAMES if name in found]
        problems.expect(not chat, f"{where}: usage carries the Chat Completions names {chat}; "
                        "on /v1/responses they are input_tokens / output_tokens")
        missing = [n for n in ("input_tokens", "output_tokens", "total_tokens")
                   if n not in found]
        problems.expect(not missing, f"{where}: usage lacks {missing} (keys: {sorted(found)})")
    problems.raise_if_any("usage does not use the Responses field names",
                          expected={"input_tokens": "int", "output_tokens": "int",
                                    "total_tokens": "int"})


@check("responses.usage.total", level=Level.MUST, feature="usage", operation=OP_CREATE,
       observes="usage objects with the Responses names", spec=SPEC, source=SOURCE + ": total is input + output; cached within input, reasoning "
       "within output",
       fix="Compute `total_tokens` as `input_tokens + output_tokens`, and copy `cached_tokens` and "
           "`reasoning_tokens` from the upstream within their totals (never more than "
           "`input_tokens` and `output_tokens`).")
def test_total(responses_plain: Exchange, responses_text_stream: ResponsesStream) -> None:
    """`total_tokens` MUST equal `input_tokens + output_tokens`, `cached_tokens` MUST NOT exceed `input_tokens` and `reasoning_tokens` MUST NOT exceed `output_tokens`."""
    problems = Problems()
    judged = 0
    for where, found in _usages(responses_plain, responses_text_stream).items():
        if isinstance(found, dict) and "input_tokens" not in found:
            continue  # wrong names: judged by responses.usage.field-names
        judged += 1
        problems.items += [f"{where}: {p}"
                           for p in usage.arithmetic_problems(found, usage.RESPONSES)]
    problems.raise_if_any("usage arithmetic is inconsistent",
                          expected="total = input + output; cached <= input; "
                                   "reasoning <= output")
    require_observed(judged, "usage objects", "no usage carries input_tokens, so there is no "
                     "arithmetic to verify (see responses.usage.field-names)")


@check("responses.usage.stream-input", level=Level.MUST, feature="usage", operation=OP_CREATE,
       observes="the streamed and non-streamed input_tokens of one request", spec=SPEC,
       source=SOURCE + "; the terminal event carries the full Response",
       fix="Take the terminal event's `usage.input_tokens` from the same upstream count as the "
           "unstreamed answer's, instead of estimating it for streams.")
def test_stream_input(responses_plain: Exchange, responses_text_stream: ResponsesStream) -> None:
    """The streamed terminal event's `usage.input_tokens` MUST equal the non-streamed `usage.input_tokens` for the same request (the input does not depend on streaming)."""
    # Its subject is the stream: a refused stream is a failure here (streaming is core).
    require_stream_answer(responses_text_stream)
    found = _usages(responses_plain, responses_text_stream)
    if "stream terminal event" not in found:
        inconclusive("the stream ended without a terminal response, so it reports no usage "
                     "(see responses.stream.single-terminal and .failure-shape)")
    plain = _count(found["non-stream"], "input_tokens")
    streamed = _count(found["stream terminal event"], "input_tokens")
    record(non_stream_input_tokens=plain, stream_input_tokens=streamed)
    if plain is None or streamed is None:  # presence and names: responses.usage.field-names
        inconclusive(f"input_tokens is not a count in both answers ({found}), so they cannot "
                     "be compared (see responses.usage.field-names)")
    observe("input_tokens pairs")
    expect(streamed == plain, f"the stream reports input_tokens {streamed}, the same request "
           f"without streaming reports {plain}", expected=plain, actual=streamed)


def _count(found: Any, key: str) -> int | None:
    value = found.get(key) if isinstance(found, dict) else None
    return value if usage.is_count(value) else None


@check("responses.usage.billing", level=Level.MUST, feature="usage", operation=OP_CREATE,
       observes="the plain answer's usage.input_tokens", spec=f"{SPEC}/properties/input_tokens",
       source=SOURCE + "; tiktoken encodings (o200k_base, cl100k_base); this project's "
       "Responses counting convention (conformance/tokens.py)",
       fix="Report in `usage.input_tokens` the upstream's count of the request's input; do not add "
           "estimates, minimums or the tokens of a prompt the gateway injects.")
def test_billing(responses_plain: Exchange, tokenizer: tokens.Tokenizer) -> None:
    """`usage.input_tokens` MUST NOT exceed a local count of the request's tokens by more than the tolerance (over-billing); fewer tokens than counted is a SHOULD deviation (under-reporting)."""
    body = require_object(responses_plain)
    encoding, why = tokenizer
    if encoding is None:
        pytest.skip(f"the input cannot be counted offline: the tokenizer is {why}")
    sent = responses_plain.request_json()
    local = tokens.count_responses_input(sent["input"], encoding, sent.get("instructions"),
                                         sent.get("tools"))
    reported = _count(body.get("usage"), "input_tokens")
    if reported is None:  # presence and names: responses.usage.field-names
        inconclusive(f"usage.input_tokens is not a count ({body.get('usage')!r}), so billing "
                     "cannot be verified (see responses.usage.field-names)")
    margin = usage.billing_margin(local)
    record(local_input_tokens=local, reported_input_tokens=reported, margin=margin,
           encoding=encoding, tokenizer_reason=why)
    deviation = usage.billing_deviation(reported, local)
    expected = f"{local} +/- {margin} (local {encoding} count, {why}; and tolerance)"
    observe("reported input_tokens")
    expect(deviation <= 0, f"the gateway bills {reported} input tokens for a request counted "
           f"locally as {local}: {deviation} more than the tolerance of {margin} allows",
           expected=expected, actual=reported)
    if deviation < 0:
        warn(f"the gateway reports {reported} input tokens for a request counted locally as "
             f"{local}: {-deviation} fewer than the tolerance of {margin} allows",
             expected=expected, actual=reported)
