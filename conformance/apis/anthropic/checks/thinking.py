"""Messages: extended thinking (`thinking: {type: enabled, budget_tokens}`), unstreamed and
streamed. A model without it refuses the request cleanly: the checks end `not_supported`."""

from __future__ import annotations

from typing import Any

from conformance.apis.anthropic.checks import (
    OP,
    SOURCE,
    SOURCE_STREAMING,
    MessagesStream,
    content_blocks,
    judge_rules,
    require_offered,
    spec,
    usage_of,
)
from conformance.apis.anthropic.checks.usage import APPROXIMATION, NO_TOKENIZER, covers, is_count
from conformance.check import Level, Problems, check, observe, record
from conformance.http import Exchange
from conformance.preconditions import require_object
from conformance.stream_rules import JudgedStreams

SOURCE_THINKING = "Anthropic docs, extended thinking (thinking blocks, signatures, billing)"
REASONING = ("thinking", "redacted_thinking")


@check("messages.thinking.blocks", level=Level.MUST, feature="reasoning", operation=OP,
       spec=spec("ThinkingBlock"), observes="the answer to a request with extended thinking",
       source=f"{SOURCE_THINKING}; {SOURCE}",
       fix="Put the thinking block(s) first in `content`, each with its `thinking` text and the "
           "upstream's non-empty `signature`, and count their tokens in `usage.output_tokens`.")
def test_blocks(message_thinking: Exchange) -> None:
    """With `thinking` enabled, the answer MUST open with its thinking block(s), each with a thinking text and a non-empty `signature`, before any text or tool_use block, and its `output_tokens` MUST cover them."""
    body = require_object(message_thinking)  # a model without thinking: not_supported
    blocks = content_blocks(body)
    types = [b.get("type") for b in blocks]
    record(block_types=types)
    problems = Problems()
    problems.expect(any(t in REASONING for t in types),
                    f"the answer holds no thinking block (blocks: {types})")
    observe("answers with thinking enabled")
    problems.items.extend(_order_problems(types))
    for index, block in enumerate(blocks):
        if block.get("type") == "thinking":
            problems.items.extend(_block_problems(index, block))
    problems.items.extend(_coverage_problems(body))
    problems.raise_if_any("the thinking of the answer is missing, misplaced or unsigned",
                          expected="thinking blocks (thinking, signature) before the text")


def _order_problems(types: list[Any]) -> list[str]:
    """Thinking comes before the turn's text and tool calls (without the interleaved-thinking
    beta, which this request does not send)."""
    first_answer = next((n for n, t in enumerate(types) if t not in REASONING), len(types))
    return [f"content[{n}] is a {t} block after the {types[first_answer]} block "
            f"content[{first_answer}]" for n, t in enumerate(types)
            if n > first_answer and t in REASONING]


def _block_problems(index: int, block: dict[str, Any]) -> list[str]:
    problems = []
    if not isinstance(block.get("thinking"), str):
        problems.append(f"content[{index}].thinking is {block.get('thinking')!r}, not a string")
    signature = block.get("signature")
    if not (isinstance(signature, str) and signature):
        problems.append(f"content[{index}].signature is {signature!r}: without it the block "
                        "cannot be sent back in the next turn of a tool loop")
    return problems


def _coverage_problems(body: dict[str, Any]) -> list[str]:
    """output_tokens counts the thinking with the text (thinking is billed as output)."""
    reported = (usage_of(body) or {}).get("output_tokens")
    if not is_count(reported):
        return []  # judged by messages.usage.shape
    whole, local = covers(reported, body)
    record(output_tokens=reported, offline_count=local, tokenizer=APPROXIMATION)
    return [] if whole else [
        f"output_tokens is {reported}, less than half the ~{local} tokens of thinking and text "
        f"the answer holds ({NO_TOKENIZER})"]


@check("messages.thinking.signature", level=Level.MUST, feature="reasoning", operation=OP,
       spec=spec("ContentBlockDelta"), observes="thinking blocks in the recorded streams",
       source=f"{SOURCE_STREAMING}; {SOURCE_THINKING}",
       fix="Buffer the upstream's signature and send it whole, once, in a `signature_delta` after "
           "the block's `thinking_delta` events, instead of splitting it, dropping it or sending "
           "it after `content_block_stop`.")
def test_signature(judged_streams: JudgedStreams, message_thinking_stream: MessagesStream) -> None:
    """Each streamed thinking block MUST get its whole signature in one non-empty `signature_delta`, after its thinking and before its `content_block_stop`."""
    require_offered(message_thinking_stream)  # a model without thinking: not_supported
    judge_rules(judged_streams, "messages.thinking.signature",
                "a streamed thinking block lacks its signature, or gets it in pieces")
