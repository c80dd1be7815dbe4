"""chat.chunk.choice-index on a declined `n: 2` stream: `n` is optional, so a 4xx with the error
envelope declines it (only the one-choice stream is judged); one without it is a failure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance import check as check_model
from conformance.apis.openai.checks.chat.chunks import test_choice_index as choice_index
from conformance.apis.openai.streams import ChatStream
from conformance.check import CheckFailed
from tests.unit.chat_exchanges import answer, choice, stream

N_TWO = {"model": "m", "n": 2, "stream": True}
DECLINED = "POST /v1/chat/completions declined 'n' with HTTP 400 without the error envelope"


@pytest.fixture(autouse=True)
def running() -> Iterator[None]:
    check_model.begin(choice_index.conformance_check)
    yield
    check_model.finish()


def one_choice(index: int = 0) -> ChatStream:
    return stream("chat_stream", choice([{"content": "Hi."}], "stop", index),
                  {"model": "m", "stream": True})


def refused(body: object, media: str = "application/json") -> ChatStream:
    return ChatStream(answer("chat_two_choices_stream", 400, body, N_TWO, media))


def judge(plain: ChatStream, two: ChatStream) -> check_model.Running:
    choice_index(plain, two, answer("chat_two_choices", 400, {}))  # unread once n is declined
    return check_model.finish()


def test_a_clean_decline_leaves_the_one_choice_stream_judged() -> None:
    done = judge(one_choice(), refused({"error": {
        "message": "n > 1 is not supported with streaming", "type": "invalid_request_error",
        "param": "n", "code": None}}))
    assert done.observed == {"chunks": 2, "streamed choice indices": 2}
    assert done.details["n_two_stream"].startswith("declined with HTTP 400 (n > 1 is not")


@pytest.mark.parametrize(("body", "media"), [
    ("n > 1 is not supported with streaming", "text/plain"),  # the reviewer's n2-refuse-noenv
    ({"detail": "n must be 1 when streaming"}, "application/json"),  # the sibling: no `error`
    ({"error": "n must be 1 when streaming"}, "application/json"),  # `error` not an object
])
def test_a_decline_without_the_envelope_fails(body: object, media: str) -> None:
    with pytest.raises(CheckFailed, match="declined 'n' with HTTP 400, but its body is not "
                       "the error envelope") as raised:
        judge(one_choice(), refused(body, media))
    assert raised.value.root_cause.text == DECLINED


def test_the_one_choice_stream_is_still_judged_beside_the_refusal() -> None:
    with pytest.raises(CheckFailed) as raised:
        judge(one_choice(index=1), refused("n > 1 is not supported", "text/plain"))
    assert [p.split(":")[0] for p in raised.value.actual] == ["stream", "n = 2 stream"]
