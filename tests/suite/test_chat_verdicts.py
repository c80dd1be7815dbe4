"""Chat Completions verdicts follow from what the exchange shows (issue 8).

Each case is a reference-gateway fault or behaviour, or a small proxy in front of the gateway,
that reproduces one realistic gateway or model without a side channel: an optional parameter
declined, streaming refused, `stop` ignored by a gateway whose model never writes "4", a
mid-stream failure reported correctly, a model that makes one tool call where two were hoped
for. Each asserts the outcome of every chat check it concerns.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from conformance.cli import load_checks
from conformance.gateway.behaviours import FIXED_REPLY
from tests.suite.harness import API_KEY, SuiteRun, run_suite
from tests.suite.proxy import proxy

CHAT = sorted(i for i in load_checks() if i.startswith("chat."))
# Not observable on a healthy gateway: no stream fails mid-way.
INCONCLUSIVE_ON_CLEAN = {"chat.stream.error-shape"}
STREAM_CORE = [i for i in CHAT if i.startswith(("chat.stream.", "chat.chunk."))]
STREAM_USAGE = ["chat.usage.stream-chunk", "chat.usage.prompt-tokens-consistent"]
TOOL_STREAM = ["chat.tools.call-shape", "chat.tools.finish-reason", "chat.tools.stream-deltas",
               "chat.tools.parallel-indices"]


def _chat_run(base_url: str, out: Path) -> SuiteRun:
    return run_suite(base_url, out, "--select", "chat.*")


def _clean_outcomes() -> dict[str, str]:
    return {i: "inconclusive" if i in INCONCLUSIVE_ON_CLEAN else "pass" for i in CHAT}


def _result(run: SuiteRun, check_id: str) -> dict:
    return next(r for r in run.document["results"] if r["id"] == check_id)


@pytest.fixture(scope="module")
def clean(gateway, tmp_path_factory) -> SuiteRun:
    return _chat_run(gateway.base_url, tmp_path_factory.mktemp("chat-clean"))


def test_clean_gateway_passes_every_observable_chat_check(clean: SuiteRun) -> None:
    assert clean.outcomes() == _clean_outcomes(), clean.document["results"]


def test_each_chat_check_observed_its_subject(clean: SuiteRun) -> None:
    unobserved = [r["id"] for r in clean.document["results"]
                  if r["outcome"] == "pass" and not r["observed"]]
    assert unobserved == []


def test_declined_stream_options_change_only_the_stream_usage_checks(gateway,
                                                                     tmp_path: Path) -> None:
    """A clean 400 to any `stream_options`: plain streaming is still judged, and passes."""
    run = _chat_run(gateway.fault_base_url("chat-stream-options-refused"), tmp_path)
    expected = {**_clean_outcomes(), **dict.fromkeys(STREAM_USAGE, "not_supported")}
    assert run.outcomes() == expected, run.document["results"]


def test_refused_streaming_fails_the_streaming_checks(gateway, tmp_path: Path) -> None:
    """A 400 (with the error envelope) to `stream: true` is a failure: streaming is core."""
    run = _chat_run(gateway.fault_base_url("chat-stream-refused"), tmp_path)
    outcomes = run.outcomes()
    refused = {i: "fail" if _result(run, i)["level"] == "MUST" else "warn"
               for i in [*STREAM_CORE, "chat.usage.not-requested"]}
    # Streams that add an optional parameter cannot tell its refusal from streaming's.
    unjudged = dict.fromkeys([*STREAM_USAGE, *TOOL_STREAM], "inconclusive")
    assert outcomes == {**_clean_outcomes(), **refused, **unjudged}, run.document["results"]
    assert "not_supported" not in outcomes.values()


def test_ignored_stop_fails_whatever_the_model_writes(gateway, tmp_path: Path) -> None:
    """The old check asked the model to count and waited for a "4": a model that ignores the
    prompt never wrote one, so a gateway ignoring `stop` passed. The stop string now comes
    from the model's own answer."""
    base = f"{gateway.root_url}/behaviour/{FIXED_REPLY}/fault/chat-stop-ignored/v1"
    run = _chat_run(base, tmp_path)
    stop = _result(run, "chat.limits.stop")
    assert stop["outcome"] == "fail", stop
    assert "4" not in stop["details"]["reference"]
    assert stop["details"]["stop"][0] in stop["details"]["answers"]["non-streamed"]


def test_fixed_reply_model_gets_the_clean_verdicts(gateway, tmp_path: Path) -> None:
    """A model that ignores every instruction: stop, caps and tools are still judged."""
    run = _chat_run(gateway.behaviour_base_url(FIXED_REPLY), tmp_path)
    assert run.outcomes() == _clean_outcomes(), run.document["results"]
    assert _result(run, "chat.limits.stop")["observed"]
    assert _result(run, "chat.limits.max-completion-tokens")["observed"]


def test_usage_missing_fails_the_usage_arithmetic(gateway, tmp_path: Path) -> None:
    run = _chat_run(gateway.fault_base_url("chat-usage-missing"), tmp_path)
    assert {i: run.outcome(i) for i in ("chat.usage.present", "chat.usage.total",
                                        "chat.usage.details")} == {
        "chat.usage.present": "fail", "chat.usage.total": "fail", "chat.usage.details": "warn"}


def test_a_correctly_reported_failure_passes_error_shape_alone(gateway, tmp_path: Path) -> None:
    """The error payload is judged by error-shape, never as a chunk; the checks that need a
    finished stream cannot judge one that failed, so they are inconclusive, never failed."""
    run = _chat_run(gateway.fault_base_url("chat-stream-fails-midway"), tmp_path)
    outcomes = run.outcomes()
    assert outcomes["chat.stream.error-shape"] == "pass"
    assert {i: o for i, o in outcomes.items() if o not in ("pass", "inconclusive")} == {}
    for check_id in ("chat.stream.done-sentinel", "chat.chunk.finish-reason-once",
                     "chat.usage.stream-chunk", "chat.stream.matches-non-stream"):
        assert outcomes[check_id] == "inconclusive", _result(run, check_id)
    for check_id in ("chat.chunk.schema", "chat.chunk.object", "chat.chunk.stable-id"):
        assert outcomes[check_id] == "pass", _result(run, check_id)


@pytest.mark.parametrize("fault", ["chat-stream-error-text", "chat-stream-error-not-envelope"])
def test_a_malformed_failure_report_fails_error_shape_only(fault: str, gateway,
                                                           tmp_path: Path) -> None:
    """One root cause, one failure: the checks of a finished stream do not fail as well."""
    run = _chat_run(gateway.fault_base_url(fault), tmp_path)
    changed = {i: o for i, o in run.outcomes().items() if o not in ("pass", "inconclusive")}
    assert changed == {"chat.stream.error-shape": "fail"}, run.document["results"]


def test_one_tool_call_leaves_parallel_indices_inconclusive(gateway, tmp_path: Path) -> None:
    """A model that calls one tool where the prompt asked for two: nothing parallel to judge."""

    async def single_call(request: Request, body: bytes) -> Response | None:
        try:
            sent = json.loads(body)
        except ValueError:
            return None  # the invalid-JSON request: the gateway's to refuse
        if not isinstance(sent, dict) or sent.get("tool_choice") != "required":
            return None
        sent["parallel_tool_calls"] = False  # the model's choice, made upstream
        async with httpx.AsyncClient(base_url=gateway.root_url) as client:
            reply = await client.post(request.url.path, json=sent,
                                      headers={"Authorization": f"Bearer {API_KEY}"})
        return Response(reply.content, reply.status_code,
                        media_type=reply.headers.get("content-type"))

    with proxy(gateway.root_url, single_call) as root:
        run = _chat_run(root + "/v1", tmp_path)
    expected = {**_clean_outcomes(), "chat.tools.parallel-indices": "inconclusive"}
    assert run.outcomes() == expected, run.document["results"]
