from __future__ import annotations

import pytest

from conformance import tokens

# The example conversation of OpenAI's cookbook "How to count tokens with tiktoken"; the cookbook
# reports 129 prompt tokens for gpt-3.5-turbo/gpt-4 (cl100k_base) and 124 for gpt-4o (o200k_base),
# matching what the API returned.
COOKBOOK_MESSAGES = [
    {"role": "system", "content": "You are a helpful, pattern-following assistant that "
     "translates corporate jargon into plain English."},
    {"role": "system", "name": "example_user",
     "content": "New synergies will help drive top-line growth."},
    {"role": "system", "name": "example_assistant",
     "content": "Things working well together will increase revenue."},
    {"role": "system", "name": "example_user", "content": "Let's circle back when we have more "
     "bandwidth to touch base on opportunities for increased leverage."},
    {"role": "system", "name": "example_assistant",
     "content": "Let's talk later when we're less busy about how to do better."},
    {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for "
     "the client deliverable."},
]


@pytest.mark.parametrize(("text", "encoding", "ids"), [
    ("hello world", "cl100k_base", [15339, 1917]),
    ("hello world", "o200k_base", [24912, 2375]),
    ("tiktoken is great!", "cl100k_base", [83, 1609, 5963, 374, 2294, 0]),
    ("tiktoken is great!", "o200k_base", [83, 8251, 2488, 382, 2212, 0]),
])
def test_known_token_ids(text: str, encoding: str, ids: list[int]) -> None:
    assert tokens.encode(text, encoding) == ids
    assert tokens.count_text(text, encoding) == len(ids)
    assert tokens.decode(ids, encoding) == text


@pytest.mark.parametrize("encoding", tokens.ENCODINGS)
def test_round_trip_of_mixed_text(encoding: str) -> None:
    text = "Ünïcödé 日本語 🤖 <|endoftext|> code: x**2\r\n\ttabs"
    assert tokens.decode(tokens.encode(text, encoding), encoding) == text


@pytest.mark.parametrize(("encoding", "expected"), [("cl100k_base", 129), ("o200k_base", 124)])
def test_chat_prompt_matches_the_cookbook(encoding: str, expected: int) -> None:
    assert tokens.count_chat_prompt(COOKBOOK_MESSAGES, encoding) == expected


def test_chat_prompt_formula_for_one_message() -> None:
    # 3 framing + role "user" (1) + "hello world" (2) + 3 reply priming
    assert tokens.count_chat_prompt([{"role": "user", "content": "hello world"}],
                                    "o200k_base") == 9
    parts = [{"role": "user", "content": [{"type": "text", "text": "hello world"}]}]
    assert tokens.count_chat_prompt(parts, "o200k_base") == 9


def test_responses_input_counts_like_chat() -> None:
    assert tokens.count_responses_input("hello world", "o200k_base") == 9
    with_instructions = tokens.count_responses_input("hello world", "o200k_base", "Be brief.")
    assert with_instructions == 9 + 3 + tokens.count_text("developer", "o200k_base") + \
        tokens.count_text("Be brief.", "o200k_base")


@pytest.mark.parametrize(("model", "encoding"), [
    ("gpt-4o-mini", "o200k_base"), ("gpt-4.1-nano", "o200k_base"), ("gpt-5", "o200k_base"),
    ("o1-preview", "o200k_base"), ("o3", "o200k_base"), ("o4-mini", "o200k_base"),
    ("gpt-4", "cl100k_base"), ("gpt-4-turbo", "cl100k_base"), ("gpt-3.5-turbo", "cl100k_base"),
    ("llama-3-70b", None), ("claude-3-opus", None),
])
def test_encoding_for_model(model: str, encoding: str | None) -> None:
    assert tokens.encoding_for_model(model) == encoding


def test_unknown_encoding_is_rejected() -> None:
    with pytest.raises(ValueError):
        tokens.encode("x", "p50k_base")
