"""The stop-sequence experiment on Chat Completions (`conformance.stop_words`): the stop string
is a word from the middle of the plain completion's content."""

from __future__ import annotations

from conformance import stop_words
from conformance.apis.openai.checks.chat import first_message
from conformance.http import Exchange
from conformance.stop_words import StopPlan


def plan_stop(exchange: Exchange) -> StopPlan | None:
    """The stop string for the plain answer of `exchange` (None: no text or no word in it)."""
    content = first_message(exchange.json_or_none()).get("content") \
        if exchange.status == 200 else None
    return stop_words.plan_stop(content)
