"""Shared exchanges for the Chat Completions checks.

One exchange, many checks: each fixture sends its request once per run (session scope) and every
check that judges that kind of response reads the same recorded exchange. Requests use
temperature 0 and small token limits so that a run against a paid gateway costs little.
"""

from __future__ import annotations

import pytest

from conformance.checks.chat import PATH, chat_body, count_body
from conformance.http import Client, Exchange
from conformance.preconditions import require_endpoint
from conformance.streams import ChatStream, decode_chat_stream


@pytest.fixture(scope="session")
def chat_completion(client: Client, model: str) -> Exchange:
    return client.post(PATH, chat_body(model))


@pytest.fixture(scope="session", autouse=True)
def _endpoint_served(chat_completion: Exchange) -> None:
    """A gateway without Chat Completions gets `not_supported` on every check, not failures."""
    require_endpoint(chat_completion, "POST /v1/chat/completions")


@pytest.fixture(scope="session")
def chat_stream_exchange(client: Client, model: str) -> Exchange:
    body = chat_body(model, stream=True, stream_options={"include_usage": True})
    return client.post(PATH, body)


@pytest.fixture(scope="session")
def chat_stream(chat_stream_exchange: Exchange) -> ChatStream:
    return decode_chat_stream(chat_stream_exchange)


@pytest.fixture(scope="session")
def chat_stream_without_usage(client: Client, model: str) -> Exchange:
    return client.post(PATH, chat_body(model, stream=True))


@pytest.fixture(scope="session")
def chat_two_choices(client: Client, model: str) -> Exchange:
    """`n: 2` (judged by chat.limits.n and by the choice-index rule)."""
    return client.post(PATH, chat_body(model, n=2, max_completion_tokens=16))


@pytest.fixture(scope="session")
def chat_stop(client: Client, model: str) -> Exchange:
    return client.post(PATH, count_body(model))


@pytest.fixture(scope="session")
def chat_stop_stream(client: Client, model: str) -> ChatStream:
    """The `chat_stop` request, streamed: its text must equal the non-streamed text."""
    return decode_chat_stream(client.post(PATH, count_body(model, stream=True)))
