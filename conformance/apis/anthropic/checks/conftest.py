"""Shared exchanges for the Messages checks.

One exchange, many checks: each `@exchange` is sent once per run (conformance.plan) and every
check that judges that kind of answer reads the same recorded exchange. Requests use
temperature 0 (thinking aside, which refuses it) and small `max_tokens`, so a run costs little.
"""

from __future__ import annotations

import pytest

from conformance import plan
from conformance.apis.anthropic.checks import (
    CUT_TOKENS,
    PATH,
    MessagesStream,
    decode_messages_stream,
    judged_streams_of,
    message_body,
    thinking_body,
    tool_body,
)
from conformance.http import Exchange, Request, post
from conformance.preconditions import require_endpoint
from conformance.stream_rules import JudgedStreams
from conformance.target import Target


@plan.exchange
def message(model: str) -> Request:
    return post(PATH, message_body(model))


@pytest.fixture(scope="session", autouse=True)
def _endpoint_served(message: Exchange, conformance: Target) -> None:
    """A gateway without the Messages API gets `not_supported` on every check, not failures."""
    require_endpoint(message, "POST /v1/messages", conformance.config.claims("messages"))


@plan.exchange(read=decode_messages_stream)
def message_stream(model: str) -> Request:
    """The plain request, streamed."""
    return post(PATH, message_body(model, stream=True))


@plan.exchange
def message_cut(model: str) -> Request:
    """The plain request capped at CUT_TOKENS: its answer is far longer, so it is cut."""
    return post(PATH, message_body(model, max_tokens=CUT_TOKENS))


@plan.exchange(read=decode_messages_stream)
def message_cut_stream(model: str) -> Request:
    return post(PATH, message_body(model, max_tokens=CUT_TOKENS, stream=True))


@plan.exchange
def message_tool(model: str) -> Request:
    """`get_weather` forced by `tool_choice`."""
    return post(PATH, tool_body(model))


@plan.exchange(read=decode_messages_stream)
def message_tool_stream(model: str) -> Request:
    return post(PATH, tool_body(model, stream=True))


@plan.exchange
def message_thinking(model: str) -> Request:
    """Extended thinking (a model without it refuses the request: `not_supported`)."""
    return post(PATH, thinking_body(model))


@plan.exchange(read=decode_messages_stream)
def message_thinking_stream(model: str) -> Request:
    return post(PATH, thinking_body(model, stream=True))


@pytest.fixture(scope="session")
def judged_streams(message_stream: MessagesStream, message_cut_stream: MessagesStream,
                   message_tool_stream: MessagesStream,
                   message_thinking_stream: MessagesStream) -> JudgedStreams:
    """The engine's verdict on every readable recorded stream; the plain one must answer (a
    refused tool or thinking stream is judged by the tools and thinking checks)."""
    return judged_streams_of(message_stream, {
        "text": message_stream, "max_tokens cut": message_cut_stream,
        "tool_use": message_tool_stream, "thinking": message_thinking_stream})
