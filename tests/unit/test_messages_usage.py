"""The Messages usage readings on hand-built values: the prompt a usage object bills (cache
counts included), whether an output count covers a message, and the offline prompt count for
the shapes a request may take."""

from __future__ import annotations

from conformance import tokens
from conformance.apis.anthropic.checks.usage import (
    APPROXIMATION,
    counts_agree,
    covers,
    offline_prompt,
    prompt_total,
)

TEXT = "The Seine, the Loire and the Rhone are three rivers of France, each long and old."


def test_the_billed_prompt_adds_the_cache_counts_input_tokens_leaves_out() -> None:
    assert prompt_total({"input_tokens": 3, "cache_read_input_tokens": 200,
                         "cache_creation_input_tokens": None}) == 203
    assert prompt_total({"input_tokens": "3"}) is None
    assert prompt_total(None) is None


def test_a_per_chunk_count_does_not_cover_the_message() -> None:
    message = {"content": [{"type": "text", "text": TEXT}]}
    whole = tokens.count_text(TEXT, APPROXIMATION)
    assert covers(whole, message) == (True, whole)
    assert covers(1, message) == (False, whole)


def test_thinking_and_tool_input_are_output_too() -> None:
    message = {"content": [{"type": "thinking", "thinking": TEXT, "signature": "s"},
                           {"type": "tool_use", "id": "toolu_1", "name": "f",
                            "input": {"city": "Paris"}}]}
    local = tokens.count_text(TEXT + '{"city":"Paris"}', APPROXIMATION)
    assert covers(local, message) == (True, local)


def test_system_blocks_count_as_the_same_system_string() -> None:
    turns = [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    as_string = offline_prompt({"system": "Be brief.", "messages": turns})
    as_blocks = offline_prompt({"system": [{"type": "text", "text": "Be brief."}],
                                "messages": turns})
    assert as_string == as_blocks > offline_prompt({"messages": turns})


def test_count_tokens_is_an_estimate_within_a_few_tokens() -> None:
    """The reviewer's case: count_tokens two tokens above the billed prompt (the docs call it an
    estimate) agrees; the system prompt left out (about nine tokens) does not."""
    assert counts_agree(30, 28) and counts_agree(28, 30)
    assert not counts_agree(19, 28)
    assert counts_agree(10_150, 10_000) and not counts_agree(10_300, 10_000)  # 2 % when long
