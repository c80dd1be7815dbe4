"""Shared exchanges for the Chat Completions checks.

One exchange, many checks: each `@exchange` is sent once per run (conformance.plan) and every
check that judges that kind of response reads the same recorded exchange. Requests use
temperature 0 and small token limits so that a run against a paid gateway costs little.
"""

from __future__ import annotations

import pytest

from conformance import plan
from conformance.apis.openai.checks.chat import PATH, chat_body, read_chat_stream
from conformance.apis.openai.checks.chat.stop import plan_stop
from conformance.http import Exchange, Request, post
from conformance.preconditions import require_endpoint
from conformance.stop_words import StopPlan
from conformance.target import Target


@plan.exchange
def chat_completion(model: str) -> Request:
    return post(PATH, chat_body(model))


@pytest.fixture(scope="session", autouse=True)
def _endpoint_served(chat_completion: Exchange, conformance: Target) -> None:
    """A gateway without Chat Completions gets `not_supported` on every check, not failures."""
    require_endpoint(chat_completion, "POST /v1/chat/completions", conformance.config.claims("chat"))


@plan.exchange(read=read_chat_stream)
def chat_stream(model: str) -> Request:
    """The plain request, streamed: no optional parameter rides on what core checks judge."""
    return post(PATH, chat_body(model, stream=True))


@plan.exchange(read=read_chat_stream)
def chat_usage_stream(model: str) -> Request:
    """The plain request, streamed with `include_usage` (judged by the stream-usage checks)."""
    return post(PATH, chat_body(model, stream=True, stream_options={"include_usage": True}))


@plan.exchange
def chat_two_choices(model: str) -> Request:
    """`n: 2` (judged by chat.limits.n and by the choice-index rule)."""
    return post(PATH, chat_body(model, n=2, max_completion_tokens=16))


@pytest.fixture(scope="session")
def stop_plan(chat_completion: Exchange) -> StopPlan | None:
    """A stop string taken from the model's own plain answer (None: it gave no word to stop at)."""
    return plan_stop(chat_completion)


@plan.exchange
def chat_stop(model: str, chat_completion: Exchange) -> Request | None:
    """The plain request again, with `stop` set to a word from the middle of its answer."""
    stop = plan_stop(chat_completion)
    return None if stop is None else post(PATH, chat_body(model, stop=[stop.stop]))


@plan.exchange(read=read_chat_stream)
def chat_stop_stream(model: str, chat_completion: Exchange) -> Request | None:
    """The `chat_stop` request, streamed."""
    stop = plan_stop(chat_completion)
    return None if stop is None else post(PATH, chat_body(model, stop=[stop.stop], stream=True))
