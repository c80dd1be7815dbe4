"""Chat Completions: the limits a request sets on its answer (token caps, `n`, `stop`)."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import schemas, tokens
from conformance.check import Level, Problems, check, expect, record
from conformance.checks.chat import (
    DOC,
    LIMIT,
    LONG_PROMPT,
    OP,
    PATH,
    STOP_SEQUENCES,
    chat_body,
    choice_entries,
    choices_of,
    message_of,
    not_a_message,
    stream_finish_reason,
    user_message,
)
from conformance.http import Client, Exchange
from conformance.preconditions import require_object
from conformance.shapes import member, object_member
from conformance.streams import ChatStream

REQUEST = schemas.pointer(DOC, "CreateChatCompletionRequest")
SOURCE = "OpenAI API reference, chat/create request parameters"


def _capped_request(client: Client, model: str, field: str) -> Exchange:
    body = chat_body(model, messages=[user_message(LONG_PROMPT)])
    del body["max_completion_tokens"]
    body[field] = LIMIT
    return client.post(PATH, body)


@pytest.fixture(scope="session")
def capped_by_max_completion_tokens(client: Client, model: str) -> Exchange:
    return _capped_request(client, model, "max_completion_tokens")


@pytest.fixture(scope="session")
def capped_by_max_tokens(client: Client, model: str) -> Exchange:
    return _capped_request(client, model, "max_tokens")


def _judge_cap(exchange: Exchange, field: str, model: str, feature: str = "core") -> None:
    """The answer stays within the cap (by the reported usage, else a local count) and says so."""
    body = require_object(exchange, feature=feature)
    choices = choices_of(body)
    expect(choices, "the completion has no choice objects",
           expected="choices: [{index, message, finish_reason}]", actual=body.get("choices"))
    problems = Problems()
    reported = member(object_member(body, "usage"), "completion_tokens")
    if isinstance(reported, int):
        problems.expect(reported <= LIMIT, f"usage.completion_tokens = {reported} exceeds "
                        f"{field} = {LIMIT}")
    else:
        _judge_by_local_count(choices, model, problems, field)
    for choice in choices:
        reason = choice.get("finish_reason")
        problems.expect(reason == "length", f"choice {choice.get('index')}: finish_reason is "
                        f"{reason!r} although the answer was cut at {LIMIT} tokens")
    record(cap=LIMIT, completion_tokens=reported,
           finish_reasons=[c.get("finish_reason") for c in choices])
    problems.raise_if_any(f"{field} is not honoured", expected={
        "completion_tokens": f"<= {LIMIT}", "finish_reason": "length"})


def _judge_by_local_count(choices: list[dict[str, Any]], model: str, problems: Problems,
                          field: str) -> None:
    encoding = tokens.encoding_for_model(model)
    if encoding is None:
        problems.add("usage.completion_tokens is missing and the model family is unknown, so "
                     "the answer's length cannot be checked")
        return
    for choice in choices:
        content = member(message_of(choice), "content")
        counted = tokens.count_text(content if isinstance(content, str) else "", encoding)
        # +1: re-encoding a cut text can merge differently at the cut, never by more than that.
        problems.expect(counted <= LIMIT + 1, f"choice {choice.get('index')}: the content is "
                        f"{counted} tokens ({encoding}), over {field} = {LIMIT}")


@check("chat.limits.max-completion-tokens", level=Level.MUST, operation=OP,
       spec=f"{REQUEST}/properties/max_completion_tokens", source=SOURCE)
def test_max_completion_tokens(capped_by_max_completion_tokens: Exchange, model: str) -> None:
    """With `max_completion_tokens`, `completion_tokens` MUST NOT exceed the cap, and a cut answer MUST end with `finish_reason: "length"`."""
    _judge_cap(capped_by_max_completion_tokens, "max_completion_tokens", model)


# A feature of its own: OpenAI itself refuses `max_tokens` for reasoning models (400, "use
# max_completion_tokens instead"), so a clean refusal is `not_supported`, not a failure.
@check("chat.limits.max-tokens", level=Level.MUST, feature="max-tokens", operation=OP,
       spec=f"{REQUEST}/properties/max_tokens",
       source=SOURCE + " (`max_tokens` is deprecated, still accepted for non-reasoning models "
       "and sent by many clients)")
def test_max_tokens(capped_by_max_tokens: Exchange, model: str) -> None:
    """The deprecated `max_tokens`, when accepted, MUST be honoured like `max_completion_tokens`: no more completion tokens than the cap, and `finish_reason: "length"` when cut."""
    _judge_cap(capped_by_max_tokens, "max_tokens", model, feature="max-tokens")


@check("chat.limits.n", level=Level.MUST, feature="n", operation=OP,
       spec=f"{REQUEST}/properties/n", source=SOURCE)
def test_n(chat_two_choices: Exchange) -> None:
    """`n: 2` MUST return two choices, indexed 0 and 1, each with a `message` object (a clean 4xx means `n` is not supported)."""
    body = require_object(chat_two_choices, feature="n")
    choices = choices_of(body)
    indices = sorted(c.get("index") for c in choices if isinstance(c.get("index"), int))
    problems = Problems()
    problems.expect(len(choices) == 2, f"{len(choices)} choice(s) returned for n = 2")
    problems.expect(indices == [0, 1], f"choice indices are {indices}, expected [0, 1]")
    for choice in choices:
        problems.expect(isinstance(choice.get("message"), dict),
                        f"choice {choice.get('index')} has no message object")
    problems.raise_if_any("n = 2 is not honoured", expected="two choices, indices 0 and 1")


@check("chat.limits.stop", level=Level.MUST, operation=OP, spec=f"{REQUEST}/properties/stop",
       source=SOURCE + ": 'The returned text will not contain the stop sequence'")
def test_stop(chat_stop: Exchange, chat_stop_stream: ChatStream) -> None:
    """With `stop`, the content MUST end before the first stop sequence (which is not returned) and `finish_reason` MUST be `stop`, streamed or not."""
    body = require_object(chat_stop)
    choices = choice_entries(body)
    expect(choices, "the completion has no choices", actual=body)
    problems = Problems()
    content = None
    problem = not_a_message(0, choices[0])
    if problem:
        problems.add(f"non-streamed: {problem}")
    else:
        content = choices[0]["message"].get("content")
        _judge_stop(content, choices[0].get("finish_reason"), "non-streamed", problems)
    if chat_stop_stream.exchange.ok and chat_stop_stream.exchange.status == 200:
        # a refused or cut stream is the stream checks' call; a complete one must stop too
        _judge_stop(chat_stop_stream.text(), stream_finish_reason(chat_stop_stream),
                    "streamed", problems)
    record(stop=STOP_SEQUENCES, content=content, streamed_content=chat_stop_stream.text())
    problems.raise_if_any("the stop sequence is not honoured",
                          expected=f"content cut before {STOP_SEQUENCES}, finish_reason 'stop'")


def _judge_stop(content: Any, finish_reason: Any, where: str, problems: Problems) -> None:
    if not isinstance(content, str):
        problems.add(f"{where}: content is {content!r}, not text")
        return
    for stop in STOP_SEQUENCES:
        if stop in content:
            problems.add(f"{where}: content {content[:80]!r} contains the stop sequence {stop!r} "
                         f"at offset {content.index(stop)}")
    problems.expect(finish_reason == "stop",
                    f"{where}: finish_reason is {finish_reason!r}, expected 'stop'")

