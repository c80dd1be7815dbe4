"""Requests ask for temperature 0 only from models that accept it."""

from __future__ import annotations

import pytest

from conformance.sampling import deterministic


@pytest.mark.parametrize(("model", "sends_temperature"), [
    ("gpt-4o-mini", True), ("gpt-4.1", True), ("gpt-5-chat-latest", True),
    ("o4-mini", False), ("o3", False), ("gpt-5-mini", False), ("openai/o1-pro", False),
])
def test_temperature_zero_only_where_accepted(model: str, sends_temperature: bool) -> None:
    assert ("temperature" in deterministic(model)) is sends_temperature
