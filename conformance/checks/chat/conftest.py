"""Shared exchanges for the Chat Completions checks.

One exchange, many checks: each fixture sends its request once per run (session scope) and every
check that judges that kind of response reads the same recorded exchange. Requests use
temperature 0 and small token limits so that a run against a paid gateway costs little.
"""

from __future__ import annotations

import pytest

from conformance.checks.chat import PATH, chat_body, read_chat_stream
from conformance.checks.chat.stop import StopPlan, plan_stop
from conformance.http import Client, Exchange
from conformance.preconditions import require_endpoint
from conformance.streams import ChatStream
from conformance.target import Target


@pytest.fixture(scope="session")
def chat_completion(client: Client, model: str) -> Exchange:
    return client.post(PATH, chat_body(model))


@pytest.fixture(scope="session", autouse=True)
def _endpoint_served(chat_completion: Exchange, conformance: Target) -> None:
    """A gateway without Chat Completions gets `not_supported` on every check, not failures."""
    require_endpoint(chat_completion, "POST /v1/chat/completions", conformance.config.claims("chat"))


@pytest.fixture(scope="session")
def chat_stream_exchange(client: Client, model: str) -> Exchange:
    """The plain request, streamed: no optional parameter rides on what core checks judge."""
    return client.post(PATH, chat_body(model, stream=True))


@pytest.fixture(scope="session")
def chat_stream(chat_stream_exchange: Exchange) -> ChatStream:
    return read_chat_stream(chat_stream_exchange)


@pytest.fixture(scope="session")
def chat_usage_stream(client: Client, model: str) -> ChatStream:
    """The plain request, streamed with `include_usage` (judged by the stream-usage checks)."""
    body = chat_body(model, stream=True, stream_options={"include_usage": True})
    return read_chat_stream(client.post(PATH, body))


@pytest.fixture(scope="session")
def chat_two_choices(client: Client, model: str) -> Exchange:
    """`n: 2` (judged by chat.limits.n and by the choice-index rule)."""
    return client.post(PATH, chat_body(model, n=2, max_completion_tokens=16))


@pytest.fixture(scope="session")
def stop_plan(chat_completion: Exchange) -> StopPlan | None:
    """A stop string taken from the model's own plain answer (None: it gave no word to stop at)."""
    return plan_stop(chat_completion)


@pytest.fixture(scope="session")
def chat_stop(client: Client, model: str, stop_plan: StopPlan | None) -> Exchange | None:
    """The plain request again, with `stop` set to a word from the middle of its answer."""
    if stop_plan is None:
        return None
    return client.post(PATH, chat_body(model, stop=[stop_plan.stop]))


@pytest.fixture(scope="session")
def chat_stop_stream(client: Client, model: str, stop_plan: StopPlan | None) -> ChatStream | None:
    """The `chat_stop` request, streamed."""
    if stop_plan is None:
        return None
    return read_chat_stream(client.post(PATH, chat_body(model, stop=[stop_plan.stop],
                                                          stream=True)))
