"""Streamed text: what marks broken UTF-8 handling, and the reference gateway's whole characters."""

from __future__ import annotations

import pytest

from conformance import tokens
from conformance.checks.chat.stream_text import ECHO_PHRASE, garbled
from conformance.gateway import generation as gen


@pytest.mark.parametrize("text", [ECHO_PHRASE, "plain ASCII", "Ação, Größe, ñandú, «ok» – 1 €"])
def test_whole_text_shows_no_breakage(text: str) -> None:
    assert garbled(text) == []


@pytest.mark.parametrize(("text", "marks"), [
    ("caf\ufffd\ufffd", ["\ufffd", "\ufffd"]),  # a character cut between two deltas
    ("\ud83d and \ude42", ["\ud83d", "\ude42"]),  # an emoji cut between its UTF-16 halves
    ("café".encode().decode("latin-1"), ["Ã©"]),
    ("it’s".encode().decode("cp1252"), ["â€™"]),
    ("東".encode().decode("latin-1"), ["æ\x9d±"]),
])
def test_breakage_is_named(text: str, marks: list[str]) -> None:
    assert garbled(text) == marks


@pytest.mark.parametrize("encoding", tokens.ENCODINGS)
def test_generated_pieces_are_whole_characters(encoding: str) -> None:
    """A character the BPE splits over tokens comes whole in one piece; usage still counts
    every token."""
    generated = gen.generate(ECHO_PHRASE, encoding)
    assert generated.text == ECHO_PHRASE
    assert generated.token_count == tokens.count_text(ECHO_PHRASE, encoding)
    assert len(generated.pieces) < generated.token_count  # some character spans two tokens
    assert all(piece and "\ufffd" not in piece for piece in generated.pieces)
