"""Chat Completions: usage (token) accounting, streamed and not."""

from __future__ import annotations

from conformance import schemas, usage
from conformance.check import Level, check, expect
from conformance.http import Exchange
from conformance.preconditions import require_object, require_stream
from conformance.streams import ChatStream, transcript

OP = "createChatCompletion"
SPEC = schemas.pointer("chat.yaml", "CompletionUsage")
SOURCE = "OpenAI API reference, chat/create `usage` and `stream_options.include_usage`"


@check("chat.usage.present", level=Level.MUST, feature="usage", operation=OP, spec=SPEC,
       source=SOURCE + "; seed 003_440946b6d7473ee2.txt")
def test_present(chat_completion: Exchange) -> None:
    """A non-streamed completion MUST report `usage` with non-negative integer token counts."""
    body = require_object(chat_completion)
    found = body.get("usage")
    expect(isinstance(found, dict), "the completion has no usage object",
           expected="usage: {prompt_tokens, completion_tokens, total_tokens}", actual=found)
    bad = [p for p in usage.arithmetic_problems(found, usage.CHAT) if "not a non-negative" in p]
    expect(not bad, "usage counts are not non-negative integers", actual=bad)


@check("chat.usage.total", level=Level.MUST, feature="usage", operation=OP, spec=SPEC,
       source=SOURCE + ": total_tokens is 'prompt + completion'")
def test_total(chat_completion: Exchange, chat_stream: ChatStream) -> None:
    """`total_tokens` MUST equal `prompt_tokens + completion_tokens`, and details stay within them."""
    body = require_object(chat_completion)
    found = {"non-stream": body.get("usage")}
    final = [c for c in chat_stream.chunks if isinstance(c.get("usage"), dict)]
    if final:
        found["stream usage chunk"] = final[-1]["usage"]
    problems = [f"{where}: {p}" for where, u in found.items() if u is not None
                for p in usage.arithmetic_problems(u, usage.CHAT)]
    expect(not problems, "usage arithmetic is inconsistent",
           expected="total = prompt + completion; cached <= prompt; reasoning <= completion",
           actual=problems)


@check("chat.usage.stream-chunk", level=Level.MUST, feature="usage", operation=OP,
       spec="openapi/chat.yaml#/components/schemas/CreateChatCompletionRequest/properties/stream_options",
       source=SOURCE)
def test_stream_chunk(chat_stream: ChatStream) -> None:
    """With `include_usage`, exactly one chunk with `choices: []` and `usage` MUST come last before `[DONE]`, and no other chunk may carry usage."""
    require_stream(chat_stream.exchange)
    chunks = chat_stream.chunks
    expect(chunks, "the stream carried no JSON chunk", actual=chat_stream.exchange.body[:500])
    with_usage = [n for n, c in enumerate(chunks) if c.get("usage") is not None]
    expect(with_usage, "stream_options.include_usage was sent but no chunk carries usage",
           expected="a final chunk {choices: [], usage: {...}}",
           actual=transcript(chat_stream.exchange.events)[-3:])
    expect(with_usage == [len(chunks) - 1], f"usage appears on chunks {with_usage[:10]} of "
           f"{len(chunks)}, not only on the last one", expected=[len(chunks) - 1],
           actual=with_usage[:10])
    last = chunks[-1]
    expect(last.get("choices") == [], "the usage chunk's choices is not an empty list",
           expected=[], actual=last.get("choices"))
