"""chat.tools.finish-reason on hand-built turns: a turn the server cut short (the token cap, the
content filter) shows nothing about how a turn of tool calls ends, so it is never failed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance import check as check_model
from conformance.apis.openai.checks.chat.tools import test_call_shape as call_shape
from conformance.apis.openai.checks.chat.tools import test_finish_reason as finish_reason
from conformance.apis.openai.checks.chat.tools import test_stream_deltas as stream_deltas
from conformance.apis.openai.streams import ChatStream
from conformance.check import CheckFailed
from conformance.http import Exchange
from tests.unit.chat_exchanges import answer, choice, stream

WEATHER = ("get_weather", '{"city": "Paris", "unit": "celsius"}')
TIME = ("get_time", '{"timezone": "Asia/Tokyo"}')


@pytest.fixture(autouse=True)
def running() -> Iterator[None]:
    check_model.begin(finish_reason.conformance_check)
    yield
    check_model.finish()


def named(finish: str = "tool_calls") -> Exchange:
    name, arguments = WEATHER
    message = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}]}
    return answer("named_tool_call", 200, {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}]})


def turn(xid: str, deltas: list[dict[str, Any]], finish: str | None) -> ChatStream:
    return stream(xid, choice(deltas, finish), {"model": "m", "stream": True})


def calls(*functions: tuple[str, str], cut: bool = False) -> list[dict[str, Any]]:
    """Tool-call fragments, one head and one arguments fragment per call; `cut`: the last
    call's arguments end mid-way, as the token cap leaves them."""
    deltas = []
    for index, (name, arguments) in enumerate(functions):
        if cut and index == len(functions) - 1:
            arguments = arguments[:-8]
        deltas += [{"tool_calls": [{"index": index, "id": f"call_{index}", "type": "function",
                                    "function": {"name": name, "arguments": ""}}]},
                   {"tool_calls": [{"index": index, "function": {"arguments": arguments}}]}]
    return deltas


TEXT = [{"content": "Let me look that up for you."}]
PLAIN = turn("chat_stream", TEXT, "stop")


def judge(named_call: Exchange, required: ChatStream, auto: ChatStream) -> check_model.Running:
    finish_reason(named_call, required, auto, PLAIN)
    return check_model.finish()


def test_correct_turns_pass() -> None:
    done = judge(named(), turn("parallel_tool_stream", calls(WEATHER, TIME), "tool_calls"),
                 turn("auto_tool_stream", TEXT + calls(WEATHER), "tool_calls"))
    assert done.observed == {"turns that ended in tool calls": 3}


@pytest.mark.parametrize("reason", ["length", "content_filter"])
def test_an_auto_turn_cut_short_after_its_text_is_not_judged(reason: str) -> None:
    """The reviewer's `auto-length`: text, then a call whose arguments the cap cut."""
    done = judge(named(), turn("parallel_tool_stream", calls(WEATHER, TIME), "tool_calls"),
                 turn("auto_tool_stream", TEXT + calls(WEATHER, cut=True), reason))
    assert done.observed == {"turns that ended in tool calls": 2}
    assert done.details["auto_streamed"] == (f"{reason!r}: the turn was cut short, so how it "
                                             "ends is not judged")


def test_forced_turns_cut_short_are_not_judged_either() -> None:
    """The sibling: the named turn and the `required` stream cut, the `auto` one judged."""
    done = judge(named("length"),
                 turn("parallel_tool_stream", calls(WEATHER, TIME, cut=True), "content_filter"),
                 turn("auto_tool_stream", calls(WEATHER), "tool_calls"))
    assert done.observed == {"turns that ended in tool calls": 1}
    assert set(done.details) == {"named", "required_streamed", "auto_streamed"}


def test_every_turn_cut_short_leaves_nothing_observed() -> None:
    done = judge(named("length"), turn("parallel_tool_stream", calls(WEATHER), "length"),
                 turn("auto_tool_stream", TEXT + calls(WEATHER), "length"))
    assert done.observed == {}  # the engine ends it inconclusive, never a pass


@pytest.mark.parametrize("reason", ["stop", "function_call", None])
def test_a_finished_turn_of_calls_still_fails_beside_a_cut_one(reason: str | None) -> None:
    with pytest.raises(CheckFailed) as raised:
        judge(named("length"), turn("parallel_tool_stream", calls(WEATHER), "length"),
              turn("auto_tool_stream", TEXT + calls(WEATHER), reason))
    assert raised.value.actual == [f'tool_choice "auto" (streamed, with tool calls): '
                                   f"finish_reason is {reason!r}, expected 'tool_calls'"]


def _run(judged: Any, named_call: Exchange, required: ChatStream) -> check_model.Running:
    """One tool check on these turns, as the only running check."""
    check_model.finish()
    check_model.begin(judged.conformance_check)
    try:
        if judged is call_shape:
            call_shape(named_call, required, PLAIN)
        else:
            stream_deltas(required, named_call, PLAIN)
        return check_model.finish()
    finally:
        check_model.begin(finish_reason.conformance_check)  # the fixture's running check


def test_arguments_of_turns_cut_short_are_not_judged() -> None:
    """A forced turn the cap cut ends mid-JSON: its arguments say nothing of the gateway, its
    id, type and name still do."""
    cut_named = named("length")
    cut_named.body = cut_named.body.replace('\\"celsius\\"}', '\\"cel')
    required = turn("parallel_tool_stream", calls(WEATHER, TIME, cut=True), "length")
    assert _run(call_shape, cut_named, required).details == {
        "named_arguments_not_judged": "the turn ended 'length': cut short",
        "streamed_arguments_not_judged": "the turn ended 'length': cut short"}
    assert _run(stream_deltas, cut_named, required).details == {
        "streamed_arguments_not_judged": "the turn ended 'length': cut short"}


@pytest.mark.parametrize("judged", [call_shape, stream_deltas], ids=["call-shape", "deltas"])
def test_arguments_cut_in_a_turn_that_claims_to_be_whole_fail(judged: Any) -> None:
    """The sibling: the same cut arguments under finish_reason "tool_calls" are the gateway's."""
    required = turn("parallel_tool_stream", calls(WEATHER, TIME, cut=True), "tool_calls")
    with pytest.raises(CheckFailed) as raised:
        _run(judged, named(), required)
    assert any("is not JSON" in problem for problem in raised.value.actual)
