"""Shared exchanges for the Responses checks.

One exchange, many checks: each `@exchange` is sent once per run (conformance.plan). The
event-order checks all read the same judged streams: the plain answer, the forced function call,
the answer cut by `max_output_tokens` and, when the gateway offers them, the hosted-tool answer
and a reasoning answer with its summary streamed (tests/gateway/test_reachability.py maps each
rule of the engine to the streams that can break it).

Fixtures only record: a session fixture that raised would hand the same verdict to every check
that uses it, whatever that check's feature, so each check applies its own preconditions.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance import plan
from conformance.apis.openai.checks.responses import (
    CUT_OUTPUT_TOKENS,
    PATH,
    REASONING_EFFORT,
    function_call_body,
    judged_streams_of,
    responses_body,
)
from conformance.apis.openai.streams import ResponsesStream, decode_responses_stream
from conformance.http import Exchange, Request, post
from conformance.preconditions import require_endpoint
from conformance.stream_rules import JudgedStreams
from conformance.target import Target

HOSTED_QUESTION = "Search the web: what is the capital of France? Answer in one word."


def cut_body(model: str, **extra: Any) -> dict[str, Any]:
    """The plain request under the documented minimum `max_output_tokens`.

    Same input as `responses_plain`, whose answer is the reference: when it took more output
    tokens than this cap, this answer must be cut, whatever the model wrote.
    """
    return responses_body(model, max_output_tokens=CUT_OUTPUT_TOKENS, **extra)


def hosted_tool_body(model: str, **extra: Any) -> dict[str, Any]:
    """A web search the request forces (server-enforced), so an answer without one is wrong."""
    return responses_body(model, input=HOSTED_QUESTION, tools=[{"type": "web_search_preview"}],
                          tool_choice={"type": "web_search_preview"}, **extra)


@plan.exchange
def responses_plain(model: str) -> Request:
    return post(PATH, responses_body(model))


@pytest.fixture(scope="session", autouse=True)
def _endpoint_served(responses_plain: Exchange, conformance: Target) -> None:
    """A gateway without the Responses API gets `not_supported` on every check, not failures."""
    require_endpoint(responses_plain, "POST /v1/responses", conformance.config.claims("responses"))


@plan.exchange(read=decode_responses_stream)
def responses_text_stream(model: str) -> Request:
    return post(PATH, responses_body(model, stream=True))


@plan.exchange
def responses_cut(model: str) -> Request:
    return post(PATH, cut_body(model))


@plan.exchange(read=decode_responses_stream)
def responses_cut_stream(model: str) -> Request:
    return post(PATH, cut_body(model, stream=True))


@plan.exchange
def responses_function_call(model: str) -> Request:
    return post(PATH, function_call_body(model))


@plan.exchange(read=decode_responses_stream)
def responses_function_stream(model: str) -> Request:
    return post(PATH, function_call_body(model, stream=True))


@plan.exchange(read=decode_responses_stream)
def responses_hosted_stream(model: str) -> Request:
    return post(PATH, hosted_tool_body(model, stream=True))


@plan.exchange(read=decode_responses_stream)
def responses_reasoning_stream(model: str) -> Request:
    """Reasoning with its summary streamed: the only request whose stream holds reasoning
    summary parts (a model that does not reason refuses it, as OpenAI does)."""
    return post(PATH, responses_body(model, stream=True, reasoning={
        "effort": REASONING_EFFORT, "summary": "auto"}))


@pytest.fixture(scope="session")
def judged_streams(
    responses_text_stream: ResponsesStream,
    responses_function_stream: ResponsesStream,
    responses_cut_stream: ResponsesStream,
    responses_hosted_stream: ResponsesStream,
    responses_reasoning_stream: ResponsesStream,
) -> JudgedStreams:
    """The engine's verdict on every readable recorded stream.

    The plain stream is required by each check that judges these (`JudgedStreams.required`);
    the others join when the gateway answered them with a readable stream (a refused tool,
    cut answer or hosted tool is judged by the tools and incomplete checks, a refused
    reasoning request by responses.reasoning.effort on the same request unstreamed).
    """
    streams = {"text": responses_text_stream,
               "function call": responses_function_stream,
               "max_output_tokens cut": responses_cut_stream,
               "hosted tool": responses_hosted_stream,
               "reasoning summary": responses_reasoning_stream}
    return judged_streams_of(responses_text_stream, streams)
