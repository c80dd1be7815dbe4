"""Responses verdicts follow from what the exchanges show (issue 8).

Each gateway here has one realistic behaviour the suite once misjudged: a refused `stream: true`
(`not_supported` on 44 checks, core ones included), a stream that ignores `tool_choice` (its
function-call check passed on a stream without a call), a hosted tool answered without any
search (passed), an answer cut at exactly `max_output_tokens` but reported `completed`
(skipped as "it fit"), a correct answer that ended on its own before the cap (failed as "cut
but reported completed"). They are reference-gateway faults, or a small proxy in front of one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from conformance import tokens
from conformance.apis.openai.checks.responses import CUT_OUTPUT_TOKENS
from conformance.check import Level
from conformance.cli import load_checks
from tests.suite.harness import SuiteRun, run_suite
from tests.suite.proxy import Intercept, proxy

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


INCOMPLETE = sorted(i for i in CHECKS if i.startswith("responses.incomplete."))


def test_a_fixed_reply_longer_than_the_cap_is_judged(gateway, tmp_path: Path) -> None:
    """The fixed reply is longer than max_output_tokens: the cap cuts it, and all three checks
    judge that cut (streamed and not) instead of calling it inconclusive."""
    run = run_suite(gateway.behaviour_base_url("fixed-reply"), tmp_path, *RESPONSES)
    assert {i: run.outcome(i) for i in INCOMPLETE} == dict.fromkeys(INCOMPLETE, "pass")
    observed = _result(run, "responses.incomplete.details")["observed"]
    assert observed["answers cut by max_output_tokens"] == 2, observed
    assert [i for i, o in run.outcomes().items() if o in ("fail", "error")] == []


# --- a capped answer that ended on its own, before the cap ----------------------------------
# A non-deterministic model need not answer the capped request as it answered the plain one:
# here it stops after 3 tokens and says `completed`, which is right. Nothing was cut, so the
# checks about cut answers have nothing to judge in it; an answer AT the cap still counts as cut.

SHORT = 3


def test_an_answer_ending_before_the_cap_is_not_called_cut(gateway, tmp_path: Path) -> None:
    """Both capped answers (plain and streamed) end on their own after 3 tokens: inconclusive,
    neither the failure "cut but reported completed" nor a pass of the cap."""
    with proxy(gateway.root_url, _ends_early(gateway.root_url, stream=True)) as root:
        run = run_suite(f"{root}/v1", tmp_path, *RESPONSES)
    for check_id in INCOMPLETE:
        result = _result(run, check_id)
        assert result["outcome"] == "inconclusive", result
        assert "ended on its own" in result["message"], result
    details = _result(run, "responses.incomplete.details")["details"]
    assert details["ended_before_the_cap"] == {"non-stream": SHORT,
                                               "stream terminal event": SHORT}
    assert [i for i, o in run.outcomes().items() if o in ("fail", "error")] == []
    assert run.exit_code == 0


def test_a_stream_cut_beside_a_short_answer_is_still_judged(gateway, tmp_path: Path) -> None:
    """Only the non-streamed answer ends early: the streamed one, cut at the cap, is judged."""
    with proxy(gateway.root_url, _ends_early(gateway.root_url, stream=False)) as root:
        run = run_suite(f"{root}/v1", tmp_path, *RESPONSES)
    assert {i: run.outcome(i) for i in INCOMPLETE} == dict.fromkeys(INCOMPLETE, "pass")
    details = _result(run, "responses.incomplete.details")
    assert details["observed"]["answers cut by max_output_tokens"] == 1, details
    assert details["details"]["ended_before_the_cap"] == {"non-stream": SHORT}
    assert run.exit_code == 0


def test_a_stream_cut_at_the_cap_reported_completed_still_fails(gateway,
                                                                tmp_path: Path) -> None:
    """Beside a short non-streamed answer, a stream held AT the cap and reported `completed`
    (the same input needs more) was cut: its missing incomplete status fails."""
    upstream = f"{gateway.root_url}/fault/responses-cut-reported-completed"
    with proxy(gateway.root_url, _ends_early(upstream, stream=False)) as root:
        run = run_suite(f"{upstream.replace(gateway.root_url, root)}/v1", tmp_path, *RESPONSES)
    details = _result(run, "responses.incomplete.details")
    assert details["outcome"] == "fail", details
    assert all(line.startswith("stream") for line in details["actual"]), details
    assert f"output_tokens {CUT_OUTPUT_TOKENS}" in " ".join(details["actual"]), details
    assert run.outcome("responses.incomplete.item-status") == "fail"
    assert run.exit_code == 1


def test_a_healthy_stream_shows_no_failure_to_judge(gateway, tmp_path: Path) -> None:
    run = run_suite(gateway.base_url, tmp_path, "--select", "responses.stream.*")
    assert {i: o for i, o in run.outcomes().items() if o != "pass"} == \
        {"responses.stream.failure-shape": "inconclusive"}


# --- a proxy whose model ends the capped answer early ---------------------------------------


def _ends_early(upstream: str, *, stream: bool) -> Intercept:
    """The capped request (max_output_tokens at the cut cap) is answered upstream, then cut
    back to its first tokens and reported `completed`, as a model that stopped on its own
    would answer it. Streams are rewritten too when `stream`; everything else is forwarded."""
    async def intercept(request: Request, body: bytes) -> Response | None:
        sent = _json(body)
        if request.method != "POST" or not request.url.path.endswith("/responses") or \
                not isinstance(sent, dict) or sent.get("max_output_tokens") != CUT_OUTPUT_TOKENS:
            return None
        streamed = sent.get("stream") is True
        if streamed and not stream:
            return None
        path = request.url.path.removeprefix(httpx.URL(upstream).path or "")
        headers = {"authorization": request.headers.get("authorization", "")}
        async with httpx.AsyncClient(base_url=upstream, timeout=30) as client:
            reply = await client.post(path, content=body, headers={
                **headers, "content-type": "application/json"})
        if reply.status_code != 200:
            return Response(reply.content, reply.status_code,
                            media_type=reply.headers.get("content-type"))
        if not streamed:
            return JSONResponse(_shortened(reply.json()))
        return Response(_shortened_stream(reply.text), media_type="text/event-stream")
    return intercept


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _short_text(text: str) -> str:
    return tokens.decode(tokens.encode(text, "o200k_base")[:SHORT], "o200k_base")


def _shortened(response: dict[str, Any], text: str | None = None) -> dict[str, Any]:
    """The response as a `completed` answer of SHORT tokens (its message text cut back)."""
    short = copy.deepcopy(response)
    for item in short["output"]:
        if item.get("type") == "message":
            part = item["content"][0]
            part["text"] = text if text is not None else _short_text(part["text"])
            item["status"] = "completed"
            short["output_text"] = part["text"]
    short.update(status="completed", incomplete_details=None)
    usage = short["usage"]
    usage.update(output_tokens=SHORT, total_tokens=usage["input_tokens"] + SHORT)
    return short


def _shortened_stream(text: str) -> bytes:
    """The same stream with only its first SHORT text deltas, its done events and its terminal
    event agreeing, ending in `response.completed`; sequence numbers renumbered."""
    events = [json.loads(line.removeprefix("data: ")) for frame in text.split("\n\n")
              for line in frame.splitlines() if line.startswith("data: ")]
    kept: list[dict[str, Any]] = []
    deltas: list[str] = []
    for event in events:
        if event["type"] == "response.output_text.delta":
            if len(deltas) == SHORT:
                continue
            deltas.append(event["delta"])
        kept.append(event)
    short = "".join(deltas)
    rewrite: dict[str, Callable[[dict[str, Any]], None]] = {
        "response.output_text.done": lambda e: e.update(text=short),
        "response.content_part.done": lambda e: e["part"].update(text=short),
        "response.output_item.done": lambda e: e["item"].get("type") == "message" and (
            e["item"]["content"][0].update(text=short) or e["item"].update(status="completed")),
        "response.incomplete": lambda e: e.update(type="response.completed",
                                                  response=_shortened(e["response"], short)),
    }
    frames = []
    for number, event in enumerate(kept):
        rewrite.get(event["type"], lambda e: None)(event)
        event["sequence_number"] = number
        frames.append(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n")
    return "".join(frames).encode()


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


def test_validation_error_inside_a_200_stream_fails(gateway, tmp_path: Path) -> None:
    """Issue 10: an invalid streamed request answered 200 with an `error` event fails
    responses.errors.stream-validation; the other error checks still pass."""
    run = run_suite(gateway.fault_base_url("responses-stream-validation-in-stream"), tmp_path,
                    "--select", "responses.errors.*")
    outcomes = run.outcomes()
    assert outcomes.pop("responses.errors.stream-validation") == "fail"
    assert set(outcomes.values()) == {"pass"}
    assert "event stream carrying the error" in json.dumps(
        _result(run, "responses.errors.stream-validation"))


def test_a_stream_answered_as_plain_json_gives_each_check_one_verdict(gateway,
                                                                      tmp_path: Path) -> None:
    """A gateway that ignores `stream: true` on /v1/responses (the unstreamed JSON answer) makes
    the stream checks fail or say they had nothing to read: one result per check, no crash."""
    async def unstreamed(request: Request, body: bytes) -> Response | None:
        asked = json.loads(body) if body.startswith(b"{") else None
        if not (request.url.path.endswith("/responses") and isinstance(asked, dict)
                and asked.pop("stream", False)):
            return None
        async with httpx.AsyncClient(timeout=60) as client:
            answer = await client.post(f"{gateway.base_url}/responses", json=asked,
                                       headers={"Authorization": request.headers["authorization"]})
        return Response(answer.content, status_code=answer.status_code,
                        media_type="application/json")

    with proxy(gateway.root_url, unstreamed) as root:
        run = run_suite(root + "/v1", tmp_path, "--select", "responses.*")
    ids = [r["id"] for r in run.document["results"]]
    assert len(ids) == len(set(ids)) == len(load_checks_matching("responses."))
    assert run.outcome("responses.stream.content-type") == "fail"
    assert not [r for r in run.document["results"] if r["cause"] == "harness"]


def load_checks_matching(prefix: str) -> list[str]:
    return [i for i in load_checks() if i.startswith(prefix)]
