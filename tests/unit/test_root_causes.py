"""One cause, many failures (issue 10 §4): each failure names its own cause, and the checks that
met one defect of an exchange are grouped under it in results.json and every report."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from conformance import check as check_model
from conformance.apis.openai.checks.chat import read_chat_stream
from conformance.apis.openai.checks.chat.parts import Parts
from conformance.apis.openai.checks.chat.request_shapes import _accepted
from conformance.check import Cause, Check, CheckFailed, Inconclusive, Level
from conformance.http import Exchange
from conformance.preconditions import require_stream, require_success
from conformance.reporting import html, junit, terminal
from conformance.results import RunInfo, build_document, validate_document
from tests.unit import chat_exchanges

STREAMED = json.dumps({"model": "m", "messages": [], "stream": True})
ENVELOPE = {"error": {"message": "Streaming is not supported.", "type": "invalid_request_error",
                      "param": "stream", "code": None}}
COMPLETION = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
              "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                           "message": {"role": "assistant", "content": "Hi.", "refusal": None}}],
              "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}
IGNORED = ("POST /v1/chat/completions ignored `stream: true` (it answered with one JSON object, "
           "not an event stream)")


@pytest.fixture(autouse=True)
def running() -> Iterator[None]:
    check_model.begin(Check("chat.stream.example", Level.MUST, "streaming", "a stream",
                            "createChatCompletion", "openapi/chat.yaml#/", "unit",
                            "Example MUST hold."))
    yield
    check_model.finish()


def answer(status: int, body: object, request: str = STREAMED, xid: str = "chat_stream",
           media: str = "application/json") -> Exchange:
    return Exchange(xid, "POST", "http://gateway.test/v1/chat/completions", [], request,
                    status=status, response_headers=[("content-type", media)],
                    body=json.dumps(body))


# --- where a failure is decided: the precondition names the cause ----------------------------


def test_an_ignored_stream_leaves_the_check_unjudged_under_its_cause() -> None:
    with pytest.raises(Inconclusive) as raised:
        require_stream(answer(200, COMPLETION))
    assert raised.value.root_cause == Cause(IGNORED, "chat_stream")
    assert str(raised.value).startswith(IGNORED)


def test_a_stream_under_another_content_type_is_still_a_stream() -> None:
    """Only the unstreamed JSON answer is an ignored stream: events under another header are
    read and judged (chat.stream.content-type fails the header alone)."""
    exchange = answer(200, COMPLETION)
    exchange.body = 'data: {"choices": []}\n\ndata: [DONE]\n\n'
    require_stream(read_chat_stream(exchange).exchange)  # read as a client reads it
    require_stream(answer(200, COMPLETION, request=json.dumps({"model": "m"})))  # not asked


def test_a_refused_stream_fails_under_one_cause_for_every_stream() -> None:
    causes = []
    for xid in ("chat_stream", "chat_usage_stream"):
        with pytest.raises(CheckFailed) as raised:
            require_success(answer(400, ENVELOPE, xid=xid))
        causes.append(raised.value.root_cause)
        assert raised.value.message.startswith(
            "POST /v1/chat/completions answered `stream: true` with HTTP 400")
    assert {c.text for c in causes} == {
        "POST /v1/chat/completions answered `stream: true` with HTTP 400: "
        "'Streaming is not supported.'"}


def _refusal_cause(xid: str, status: int, body: object) -> Cause:
    """The cause of a non-streamed request refused with `body` (a string is sent as is)."""
    with pytest.raises(CheckFailed) as raised:
        require_success(chat_exchanges.answer(xid, status, body))
    return raised.value.root_cause


def _envelope(message: str) -> dict:
    return {"error": {**ENVELOPE["error"], "message": message, "param": None}}


def test_independent_refusals_are_causes_of_their_own() -> None:
    """The reviewer's `refuse-two`: `stop` refused, and separately a non-ASCII request."""
    stop = _refusal_cause("chat_stop", 400, _envelope("unsupported parameter"))
    text = _refusal_cause("chat_non_ascii", 400, _envelope("unsupported characters"))
    assert stop.text == ("POST /v1/chat/completions answered a valid request with HTTP 400: "
                         "'unsupported parameter'")
    assert stop.text != text.text


def test_refusals_without_a_message_are_told_apart_by_their_exchange() -> None:
    """The sibling: nothing says two empty 500s are one defect."""
    first, second = (_refusal_cause(xid, 500, "") for xid in ("chat_stop", "chat_non_ascii"))
    assert first.text == ("POST /v1/chat/completions answered a valid request with HTTP 500 "
                          "without an error message (chat_stop)")
    assert first.text != second.text


def test_refusals_alike_are_one_cause() -> None:
    causes = {_refusal_cause(xid, 400, _envelope("unsupported parameter")).text
              for xid in ("chat_stop", "chat_max_tokens")}
    assert len(causes) == 1


def test_a_part_left_unjudged_keeps_its_cause() -> None:
    parts = Parts()
    parts.judge("required, streamed", lambda: require_stream(answer(200, COMPLETION)))
    with pytest.raises(Inconclusive) as raised:
        parts.finish("unused")
    assert raised.value.root_cause == Cause(IGNORED, "chat_stream")
    assert str(raised.value).startswith("required, streamed: ")


# --- request shapes: the title is the answer's own schema problem -----------------------------


def _shape_answer(message: dict) -> Exchange:
    body = {**COMPLETION, "choices": [{**COMPLETION["choices"][0],
                                       "message": {**COMPLETION["choices"][0]["message"],
                                                   **message}}]}
    return answer(200, body, request="{}", xid="developer_request")


@pytest.mark.parametrize(("tool_calls", "title"), [
    (None, "choices[0].message.tool_calls is null, not an array, in the answer to a developer "
           "message"),
    # the sibling: the same field of the wrong kind, not null
    ({}, "choices[0].message.tool_calls: {} is not of type 'array', in the answer to a "
         "developer message"),
])
def test_a_request_shape_failure_is_titled_by_the_answers_problem(tool_calls: object,
                                                                  title: str) -> None:
    plain = answer(200, COMPLETION, request="{}", xid="chat_completion")
    with pytest.raises(CheckFailed) as raised:
        _accepted(_shape_answer({"tool_calls": tool_calls}), "a developer message", plain)
    assert raised.value.message == title
    assert raised.value.root_cause.text.startswith("POST /v1/chat/completions answers with "
                                                   "choices[0].message.tool_calls")


# --- results.json and the reports ------------------------------------------------------------


def result(check_id: str, outcome: str, cause: str | None, exchange: str = "chat_stream") -> dict:
    return {"id": check_id, "endpoint": "POST /v1/chat/completions", "family": "stream",
            "level": "MUST", "feature": "streaming", "observes": "x", "operation": "op",
            "spec": "openapi/chat.yaml#/", "source": "unit", "requirement": "X MUST hold.",
            "outcome": outcome, "message": f"{cause or 'own'}: {check_id}", "cause": None,
            "expected": None, "actual": None,
            "duration": 0.0, "exchanges": [exchange], "observed": {}, "details": {},
            "root_cause": {"text": cause, "exchange": exchange} if cause else None}


@pytest.fixture
def grouped() -> dict:
    results = [result("chat.stream.content-type", "fail", IGNORED),
               result("chat.chunk.schema", "inconclusive", IGNORED),
               result("chat.tools.call-shape", "inconclusive", IGNORED, "parallel_tool_stream"),
               result("chat.response.id", "fail", "a cause of one check alone"),
               result("chat.response.model", "fail", None)]
    document = build_document(RunInfo(target="t", embedded=False, model="m", select=[]),
                              results, {})
    validate_document(document)
    return document


def test_results_group_the_checks_of_one_cause(grouped: dict) -> None:
    assert grouped["summary"]["root_causes"] == [{
        "cause": IGNORED,
        "title": f"{IGNORED}: 1 check failed, 2 checks could not be judged",
        "checks": ["chat.chunk.schema", "chat.stream.content-type", "chat.tools.call-shape"],
        "exchanges": ["chat_stream", "parallel_tool_stream"],
        "counts": {"inconclusive": 2, "fail": 1},
    }]


def test_the_html_report_shows_each_cause_before_the_failures(grouped: dict) -> None:
    page = html.render(grouped)
    block = page.index("Root causes (1)")
    assert block < page.index("Problems (")
    assert "1 check failed, 2 checks could not be judged" in page[block:page.index("Problems (")]
    assert 'href="#cause-1"' in page  # the grouped failure links to its cause


def test_junit_and_the_terminal_say_it_too(grouped: dict) -> None:
    run_case = ET.fromstring(junit.render(grouped)).find(".//testcase[@name='run.verdict']")
    assert run_case.find("properties/property[@name='root_cause']").get("value") == \
        grouped["summary"]["root_causes"][0]["title"]
    assert "chat.tools.call-shape" in run_case.find("system-out").text
    text = terminal.render(grouped, color=False)
    assert "ROOT CAUSE" in text and "2 checks could not be judged" in text
    # a grouped check is listed under its cause, not once more on a line of its own
    assert f"{IGNORED}: chat.chunk.schema" not in text
    assert "own: chat.response.model" in text
