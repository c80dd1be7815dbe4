"""What a run cost: each family reads the tokens its answers report, bodies and streams alike."""

from __future__ import annotations

import json

from conformance.apis import anthropic, gemini, openai
from conformance.results import usage_stats


def _exchange(api: str, body: str, sse: bool = False) -> dict:
    return {"api": api, "request": {}, "response": {"body": body, "sse": sse}}


def test_each_family_reads_its_own_usage() -> None:
    chat = '{"usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}}'
    chat_stream = 'data: {"choices": []}\n\ndata: {"usage": {"prompt_tokens": 11, ' \
                  '"completion_tokens": 7}}\n\ndata: [DONE]\n'
    responses_stream = 'data: {"type": "response.completed", "response": {"usage": ' \
                       '{"input_tokens": 9, "output_tokens": 4}}}\n'
    assert openai.reported_tokens([json.loads(chat)]) == (11, 5)
    stats = usage_stats({"a": _exchange("openai", chat_stream, sse=True),
                         "b": _exchange("openai", responses_stream, sse=True)})
    assert (stats["input_tokens"], stats["output_tokens"]) == (20, 11)


def test_a_messages_stream_counts_the_input_of_message_start() -> None:
    """The sibling of the old undercount: the last usage of a Messages stream (message_delta)
    holds only the output count, the input is in message_start."""
    events = [{"type": "message_start", "message": {"usage": {"input_tokens": 25,
                                                              "output_tokens": 1}}},
              {"type": "message_delta", "usage": {"output_tokens": 12}},
              {"type": "message_stop"}]
    assert anthropic.reported_tokens(events) == (25, 12)
    assert anthropic.reported_tokens([{"usage": {"input_tokens": 25, "output_tokens": 9}}]) == \
        (25, 9)


def test_gemini_counts_thoughts_as_output_and_reads_the_array_form() -> None:
    chunks = ('[{"usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8}}, '
              '{"usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 6, '
              '"thoughtsTokenCount": 30, "totalTokenCount": 44}}]')
    stats = usage_stats({"g": _exchange("gemini", chunks)})
    assert (stats["input_tokens"], stats["output_tokens"]) == (8, 36)
    assert gemini.reported_tokens([{"usageMetadata": {"promptTokenCount": "8"}}]) == (0, 0)
