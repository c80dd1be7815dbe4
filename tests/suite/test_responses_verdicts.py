"""Responses verdicts follow from what the exchanges show (issue 8).

Each gateway here has one realistic behaviour the suite once misjudged: a refused `stream: true`
(`not_supported` on 44 checks, core ones included), a stream that ignores `tool_choice` (its
function-call check passed on a stream without a call), a hosted tool answered without any
search (passed), an answer cut at exactly `max_output_tokens` but reported `completed`
(skipped as "it fit"). They are reference-gateway faults, or a small proxy in front of one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from conformance.check import Level
from conformance.cli import load_checks
from tests.suite.harness import SuiteRun, run_suite
from tests.suite.proxy import proxy

RESPONSES = ("--select", "responses.*")
CHECKS = load_checks()
STREAM_CHECKS = sorted(i for i in CHECKS if i.startswith("responses.stream."))
# Checks that judge a non-streamed answer and, when it answered, the stream of the same request.
NON_STREAM_PARTS = {
    "responses.usage.field-names": "usage objects",
    "responses.usage.total": "usage objects",
    "responses.incomplete.details": "answers cut by max_output_tokens",
    "responses.incomplete.item-status": "items of cut answers",
    "responses.incomplete.max-output-tokens": "answers held to max_output_tokens",
    "responses.reasoning.tokens": "answers",
}


def _failed(check_id: str) -> str:
    return "fail" if CHECKS[check_id].level == Level.MUST else "warn"


def _result(run: SuiteRun, check_id: str) -> dict:
    return next(r for r in run.document["results"] if r["id"] == check_id)


@pytest.fixture(scope="module")
def stream_refused(gateway, tmp_path_factory) -> SuiteRun:
    return run_suite(gateway.fault_base_url("responses-stream-refused"),
                     tmp_path_factory.mktemp("stream-refused"), *RESPONSES)


def test_a_refused_stream_fails_the_streaming_checks(stream_refused: SuiteRun) -> None:
    """Streaming is core: a 400 to `stream: true`, even with the error envelope, is a failure."""
    outcomes = stream_refused.outcomes()
    judged = [*STREAM_CHECKS, "responses.usage.stream-input"]
    assert {i: outcomes[i] for i in judged} == {i: _failed(i) for i in judged}
    assert [i for i, o in outcomes.items() if o == "not_supported"] == \
        ["responses.reasoning.effort"]  # gpt-4o-mini refuses reasoning.effort, as OpenAI does


def test_a_refused_stream_leaves_the_non_stream_parts_judged(stream_refused: SuiteRun) -> None:
    """Checks over a plain and a streamed answer judge the plain one whatever the stream did."""
    for check_id, subject in NON_STREAM_PARTS.items():
        result = _result(stream_refused, check_id)
        assert (result["outcome"], result["observed"].get(subject)) == ("pass", 1), result
        assert "stream_not_judged" in result["details"], result


def test_a_refused_stream_says_nothing_about_hosted_tools(stream_refused: SuiteRun) -> None:
    result = _result(stream_refused, "responses.tools.hosted-tool")
    assert result["outcome"] == "inconclusive", result


def test_a_non_stream_defect_is_judged_behind_a_refused_stream(gateway, tmp_path: Path) -> None:
    """A proxy refusing `stream: true` in front of a gateway with Chat usage names."""
    with proxy(gateway.root_url, _refuse_streams) as root:
        run = run_suite(f"{root}/fault/responses-usage-chat-names/v1", tmp_path, *RESPONSES)
    assert run.outcome("responses.usage.field-names") == "fail"
    assert run.outcome("responses.stream.content-type") == "fail"


def test_a_stream_ignoring_tool_choice_fails(gateway, tmp_path: Path) -> None:
    """tool_choice forces the call server-side: a stream without one is a failure, not a pass."""
    run = run_suite(gateway.fault_base_url("responses-stream-tool-choice-ignored"), tmp_path,
                    *RESPONSES)
    result = _result(run, "responses.stream.function-call")
    assert result["outcome"] == "fail" and "tool_choice" in result["message"], result
    assert run.outcome("responses.tools.function-call") == "pass"  # the non-stream path


def test_a_hosted_tool_answered_without_a_search_fails(gateway, tmp_path: Path) -> None:
    run = run_suite(gateway.fault_base_url("responses-hosted-tool-dropped"), tmp_path,
                    *RESPONSES)
    result = _result(run, "responses.tools.hosted-tool")
    assert result["outcome"] == "fail" and "web_search_call" in " ".join(result["actual"]), result


def test_an_answer_cut_at_the_cap_but_reported_completed_fails(gateway, tmp_path: Path) -> None:
    """The capped answer is exactly max_output_tokens long; the same input uncapped is longer."""
    run = run_suite(gateway.fault_base_url("responses-cut-reported-completed"), tmp_path,
                    *RESPONSES)
    details = _result(run, "responses.incomplete.details")
    assert details["outcome"] == "fail", details
    assert details["details"]["reference_output_tokens"] > details["details"]["max_output_tokens"]
    assert "output_tokens 16" in " ".join(details["actual"]), details
    assert run.outcome("responses.incomplete.item-status") == "fail"
    assert run.outcome("responses.incomplete.max-output-tokens") == "pass"


def test_an_answer_that_fits_the_cap_is_inconclusive(gateway, tmp_path: Path) -> None:
    """A fixed reply shorter than the cap was never cut: nothing to judge, never a pass."""
    run = run_suite(gateway.behaviour_base_url("fixed-reply"), tmp_path, *RESPONSES)
    incomplete = [i for i in CHECKS if i.startswith("responses.incomplete.")]
    assert {i: run.outcome(i) for i in incomplete} == dict.fromkeys(incomplete, "inconclusive")
    assert [i for i, o in run.outcomes().items() if o in ("fail", "error")] == []


def test_a_healthy_stream_shows_no_failure_to_judge(gateway, tmp_path: Path) -> None:
    run = run_suite(gateway.base_url, tmp_path, "--select", "responses.stream.*")
    assert {i: o for i, o in run.outcomes().items() if o != "pass"} == \
        {"responses.stream.failure-shape": "inconclusive"}


# --- a proxy that refuses streams -----------------------------------------------------------


async def _refuse_streams(request: Request, body: bytes) -> Response | None:
    """`stream: true` gets a clean 400 refusal; everything else is forwarded."""
    try:
        sent = json.loads(body) if body else None
    except ValueError:
        return None
    if isinstance(sent, dict) and sent.get("stream") is True:
        return JSONResponse({"error": {"message": "Streaming is not supported.",
                                       "type": "invalid_request_error", "param": "stream",
                                       "code": "unsupported_value"}}, status_code=400)
    return None
