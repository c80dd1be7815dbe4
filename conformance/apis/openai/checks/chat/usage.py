"""Chat Completions: usage (token) accounting, streamed and not.

Usage on the non-streamed answer is core; usage in a stream is reported on request only
(`stream_options.include_usage`, the optional feature "stream-usage"), on a stream of its own:
a gateway that declines it changes only the checks that judge that stream.
"""

from __future__ import annotations

from typing import Any

from conformance import plan, schemas
from conformance.apis.openai import usage
from conformance.apis.openai.checks.chat import DOC, OP, PATH, chat_body
from conformance.apis.openai.checks.chat.midstream import (
    intact,
    require_intact,
    require_streaming_served,
)
from conformance.apis.openai.streams import ChatStream
from conformance.check import (
    Level,
    Problems,
    check,
    expect,
    expect_equal,
    inconclusive,
    observe,
    record,
    require_observed,
    warn,
)
from conformance.http import Exchange, Request, post
from conformance.preconditions import require_object, require_response, require_stream
from conformance.shapes import member, object_member
from conformance.streams import transcript

SPEC = schemas.pointer(DOC, "CompletionUsage")
SOURCE = "OpenAI API reference, chat/create `usage` and `stream_options.include_usage`"
STREAM_OPTIONS = "openapi/chat.yaml#/components/schemas/CreateChatCompletionRequest/properties/stream_options"


@check("chat.usage.present", level=Level.MUST, feature="usage", operation=OP, spec=SPEC,
       observes="the usage object of a non-streamed completion",
       source=SOURCE + "; seed 003_440946b6d7473ee2.txt",
       fix="Include `usage` with integer `prompt_tokens`, `completion_tokens` and `total_tokens` "
           "(≥ 0) in every unstreamed completion, taken from the upstream's counts.")
def test_present(chat_completion: Exchange) -> None:
    """A non-streamed completion MUST report `usage` with non-negative integer token counts."""
    body = require_object(chat_completion)
    found = _plain_usage(body)
    bad = [p for p in usage.arithmetic_problems(found, usage.CHAT) if "not a non-negative" in p]
    expect(not bad, "usage counts are not non-negative integers",
           expected="non-negative integer token counts", actual=bad)


def _plain_usage(body: dict[str, Any]) -> dict[str, Any]:
    """The non-streamed usage object, observed; a completion without one fails (usage is core)."""
    found = body.get("usage")
    expect(isinstance(found, dict), "the completion has no usage object",
           expected="usage: {prompt_tokens, completion_tokens, total_tokens}", actual=found)
    observe("non-streamed usage objects")
    return found


def streamed_usage(stream: ChatStream) -> dict[str, Any] | None:
    """The usage of an intact include_usage stream's last chunk that carries one (None: no
    chunk does, or the stream was refused, cut or broken: chat.usage.stream-chunk's verdict)."""
    if not intact(stream):
        return None
    reports = [c["usage"] for c in stream.chunks if isinstance(c.get("usage"), dict)]
    return reports[-1] if reports else None


def answer_tokens(found: Any) -> int | None:
    """The visible answer's tokens by a usage object: `completion_tokens` less the reasoning
    tokens, which the answer's text and logprobs do not hold (None: no usable count)."""
    completion = member(found, "completion_tokens")
    reasoning = member(object_member(found, "completion_tokens_details"), "reasoning_tokens")
    if not usage.is_count(completion):
        return None
    return completion - (reasoning if usage.is_count(reasoning) and reasoning <= completion
                         else 0)


@check("chat.usage.total", level=Level.MUST, feature="usage", operation=OP, spec=SPEC,
       observes="usage objects (non-streamed, and in the include_usage stream when it has one)",
       source=SOURCE + ": total_tokens is 'prompt + completion'",
       fix="Compute `total_tokens` as `prompt_tokens + completion_tokens`, and keep "
           "`cached_tokens` ≤ `prompt_tokens` and `reasoning_tokens` ≤ `completion_tokens`.")
def test_total(chat_completion: Exchange, chat_usage_stream: ChatStream) -> None:
    """`total_tokens` MUST equal `prompt_tokens + completion_tokens`, and details stay within them."""
    body = require_object(chat_completion)
    found = {"non-stream": (chat_completion, _plain_usage(body))}
    streamed = streamed_usage(chat_usage_stream)
    if streamed is not None:
        found["stream usage chunk"] = (chat_usage_stream, streamed)
        observe("streamed usage objects")
    problems = Problems()
    for where, (exchange, reported) in found.items():
        for problem in usage.arithmetic_problems(reported, usage.CHAT):
            problems.add(f"{where}: {problem}", shows=exchange)
    problems.raise_if_any("usage arithmetic is inconsistent",
                          expected="total = prompt + completion; cached <= prompt; "
                          "reasoning <= completion")


@check("chat.usage.stream-chunk", level=Level.MUST, feature="stream-usage", operation=OP,
       observes="the chunks of a stream sent with include_usage", spec=STREAM_OPTIONS,
       source=SOURCE,
       fix="With `stream_options.include_usage`, send one final chunk with `choices: []` and the "
           "`usage` object right before `data: [DONE]`, and `usage` null or absent on every "
           "earlier chunk.")
def test_stream_chunk(chat_usage_stream: ChatStream, chat_stream: ChatStream) -> None:
    """With `include_usage`, exactly one chunk with `choices: []` and `usage` MUST come last before `[DONE]`, and no other chunk may carry usage."""
    require_streaming_served(chat_stream, "include_usage")
    require_intact(chat_usage_stream, "the usage chunk")
    chunks = chat_usage_stream.chunks
    require_observed(len(chunks), "chunks", "the include_usage stream carried no JSON chunk "
                     "(judged by chat.stream.data-json)")
    with_usage = [n for n, c in enumerate(chunks) if c.get("usage") is not None]
    expect(with_usage, "stream_options.include_usage was sent but no chunk carries usage",
           expected="a final chunk {choices: [], usage: {...}}",
           actual=transcript(chat_usage_stream.exchange.events)[-3:])
    expect(with_usage == [len(chunks) - 1], f"usage appears on chunks {with_usage[:10]} of "
           f"{len(chunks)}, not only on the last one", expected=[len(chunks) - 1],
           actual=with_usage[:10])
    last = chunks[-1]
    expect(last.get("choices") == [], "the usage chunk's choices is not an empty list",
           expected=[], actual=last.get("choices"))


@check("chat.usage.details", level=Level.SHOULD, feature="usage", operation=OP, spec=SPEC,
       observes="usage objects (non-streamed, and in the include_usage stream when it has one)",
       source=SOURCE + "; recorded OpenAI traffic always carries both details objects",
       fix="Include `prompt_tokens_details` (`cached_tokens`) and `completion_tokens_details` "
           "(`reasoning_tokens`) in `usage`, with zeros when the upstream reports none, in "
           "completions and in the usage chunk.")
def test_details(chat_completion: Exchange, chat_usage_stream: ChatStream) -> None:
    """`usage` SHOULD carry the `prompt_tokens_details` and `completion_tokens_details` objects (cached and reasoning tokens), streamed and not."""
    judged = {"non-stream usage": _plain_usage(require_object(chat_completion))}
    streamed = streamed_usage(chat_usage_stream)  # its absence is chat.usage.stream-chunk's
    if streamed is not None:
        judged["stream usage chunk"] = streamed
        observe("streamed usage objects")
    problems = Problems()
    for where, found in judged.items():
        for key in (usage.CHAT.input_details, usage.CHAT.output_details):
            problems.expect(isinstance(found.get(key), dict),
                            f"{where}: {key} is {found.get(key)!r}, not an object")
    problems.raise_if_any("usage lacks its details objects", expected={
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0}})


@check("chat.usage.not-requested", level=Level.SHOULD, feature="streaming", operation=OP,
       observes="the chunks of a stream sent without include_usage", spec=STREAM_OPTIONS,
       source=SOURCE,
       fix="Send the usage chunk only when the request sets `stream_options.include_usage: true`, "
           "and leave `usage` absent or null on the chunks of other streams.")
def test_not_requested(chat_stream: ChatStream) -> None:
    """Without `stream_options.include_usage`, a stream SHOULD carry no usage (no usage chunk, no usage values), as OpenAI streams do."""
    require_stream(chat_stream.exchange)
    chunks = chat_stream.chunks
    require_observed(len(chunks), "chunks", "the stream carried no JSON chunk (judged by "
                     "chat.stream.data-json)")
    carrying = [n for n, c in enumerate(chunks) if c.get("usage") is not None]
    expect(not carrying, f"{len(carrying)} chunk(s) carry usage although include_usage was not "
           f"requested (chunks {carrying[:10]}); OpenAI sends usage only when asked, and an "
           "unrequested usage chunk (empty choices) breaks clients that read choices[0]",
           expected="usage absent or null on every chunk",
           actual=[chunks[n] for n in carrying[:2]])


@plan.exchange
def stream_options_without_stream(model: str) -> Request:
    return post(PATH, chat_body(model, stream=False, stream_options={"include_usage": True},
                                max_completion_tokens=1))


@check("chat.usage.stream-options-need-stream", level=Level.MUST, operation=OP,
       observes="the answer to stream_options sent with stream: false", spec=STREAM_OPTIONS,
       source=SOURCE + ": 'Only set this when you set stream: true'; the real API refuses it "
       "with 400 (openapi/SOURCES.md §7)",
       fix="Refuse a request that sets `stream_options` without `stream: true` with HTTP 400 and "
           "the error envelope, instead of answering it or crashing on it.")
def test_stream_options_need_stream(stream_options_without_stream: Exchange) -> None:
    """`stream_options` with `stream: false` MUST be refused with a 4xx, never accepted with a 2xx nor crash into a 5xx (OpenAI answers 400; another 4xx is a SHOULD deviation)."""
    exchange = stream_options_without_stream
    require_response(exchange)
    observe("an answer to stream_options without streaming")
    status = exchange.status or 0
    expect(400 <= status < 500, f"stream_options with stream: false got HTTP {status}"
           + (": accepted, although the real API refuses it with 400"
              if 200 <= status < 300 else ""),
           expected=400, actual=f"{status}: {exchange.body[:300]}")
    if status != 400:
        warn(f"stream_options with stream: false got HTTP {status}; OpenAI answers 400",
             expected=400, actual=status)


@check("chat.usage.prompt-tokens-consistent", level=Level.MUST, feature="stream-usage",
       observes="prompt_tokens of one request, streamed with include_usage and not",
       operation=OP, spec=SPEC,
       source=SOURCE + ": the prompt is billed once, however the answer is delivered",
       fix="Take the usage chunk's `prompt_tokens` from the same upstream count as the unstreamed "
           "answer's; do not estimate it separately for streams.")
def test_prompt_tokens_consistent(chat_completion: Exchange, chat_usage_stream: ChatStream,
                                  chat_stream: ChatStream) -> None:
    """The same request MUST report the same `prompt_tokens` streamed (in the usage chunk) and not streamed."""
    require_streaming_served(chat_stream, "include_usage")
    require_stream(chat_usage_stream.exchange)  # declined include_usage: not_supported
    body = require_object(chat_completion)
    plain_usage = body.get("usage")
    plain = plain_usage.get("prompt_tokens") if isinstance(plain_usage, dict) else None
    streamed = (streamed_usage(chat_usage_stream) or {}).get("prompt_tokens")
    if plain is None or streamed is None:
        inconclusive("a usage report is missing (judged by chat.usage.present and "
                     "chat.usage.stream-chunk), so there is nothing to compare")
    record(non_streamed=plain, streamed=streamed)
    observe("prompt_tokens pairs")
    expect_equal(streamed, plain, "prompt_tokens of the streamed request (vs the same request "
                 "not streamed)")
