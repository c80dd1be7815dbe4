"""Chat Completions verdicts follow from what the exchange shows (issue 8).

Each case is a reference-gateway fault or behaviour, or a small proxy in front of the gateway,
that reproduces one realistic gateway or model without a side channel: an optional parameter
declined, streaming refused, `stop` ignored by a gateway whose model never writes "4", a
mid-stream failure reported correctly, a model that makes one tool call where two were hoped
for, usage that under-reports an ignored cap, a refused stream in front of a tool defect, a
strict validator that refuses generated valid requests. Each asserts the outcome of every chat
check it concerns.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from conformance.apis.openai.checks.chat import LIMIT
from conformance.apis.openai.gateway.chat import (
    CAPS_IGNORED_USAGE_CLAMPED,
    CAPS_IGNORED_USAGE_ZERO,
    OPTIONAL_STREAM_CHECKS,
    STREAM_REFUSED_TRIPS,
)
from conformance.cli import load_checks
from conformance.gateway.behaviours import FIXED_REPLY
from tests.suite.harness import API_KEY, SuiteRun, run_suite
from tests.suite.proxy import proxy

CHAT = sorted(i for i in load_checks() if i.startswith("chat."))
# Not observable on a healthy gateway: no stream fails mid-way.
INCONCLUSIVE_ON_CLEAN = {"chat.stream.error-shape"}
STREAM_USAGE = ["chat.usage.stream-chunk", "chat.usage.prompt-tokens-consistent"]


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
    expected = {**_clean_outcomes(), **dict.fromkeys(STREAM_USAGE, "not_supported"),
                "chat.logprobs.stream": "inconclusive"}
    assert run.outcomes() == expected, run.document["results"]


def test_refused_streaming_fails_the_streaming_checks(gateway, tmp_path: Path) -> None:
    """A 400 (with the error envelope) to `stream: true` is a failure: streaming is core."""
    run = _chat_run(gateway.fault_base_url("chat-stream-refused"), tmp_path)
    outcomes = run.outcomes()
    refused = {i: "fail" if _result(run, i)["level"] == "MUST" else "warn"
               for i in STREAM_REFUSED_TRIPS}
    # Streams that add an optional parameter cannot tell its refusal from streaming's.
    unjudged = dict.fromkeys(OPTIONAL_STREAM_CHECKS, "inconclusive")
    assert outcomes == {**_clean_outcomes(), **refused, **unjudged}, run.document["results"]
    assert "not_supported" not in outcomes.values()
    core = {i for i in CHAT if i.startswith(("chat.stream.", "chat.chunk."))}
    assert core <= set(STREAM_REFUSED_TRIPS), "every plain-stream check fails on a refusal"


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
    # The fixed reply repeats no phrase: no multi-byte character is streamed to judge.
    unechoed = {"chat.stream.utf8-text": "inconclusive"}
    assert run.outcomes() == {**_clean_outcomes(), **unechoed}, run.document["results"]
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


# --- issue 8, second pass: what a gateway reports never hides what the exchange shows ---------


@pytest.mark.parametrize("fault", [CAPS_IGNORED_USAGE_ZERO, CAPS_IGNORED_USAGE_CLAMPED])
def test_misreported_usage_does_not_hide_an_ignored_cap(fault: str, gateway,
                                                        tmp_path: Path) -> None:
    """The caps are ignored while usage says they were honoured (`completion_tokens: 0` for a
    whole sentence, or the cap itself with `finish_reason: "length"`): once inconclusive
    ("the uncapped answer is 0 tokens") or a pass, now counted with the tokenizer and failed."""
    run = run_suite(gateway.fault_base_url(fault), tmp_path, "--select", "chat.limits.*")
    for check_id in ("chat.limits.max-completion-tokens", "chat.limits.max-tokens"):
        result = _result(run, check_id)
        assert result["outcome"] == "fail", result
        assert result["details"]["counted_completion_tokens"] > LIMIT + 1
        assert "by local count" in " ".join(result["actual"]), result
    assert run.exit_code == 1


def _refused_envelope(param: str) -> Response:
    return JSONResponse({"error": {"message": f"Unsupported value: '{param}'.", "type":
                                   "invalid_request_error", "param": param,
                                   "code": "unsupported_value"}}, status_code=400)


async def _refuse_streams(request: Request, body: bytes) -> Response | None:
    """A gateway that answers 400 (with the error envelope) to `stream: true`."""
    try:
        sent = json.loads(body)
    except ValueError:
        return None
    return _refused_envelope("stream") if isinstance(sent, dict) and sent.get("stream") is True \
        else None


@pytest.mark.parametrize(("fault", "check_id"), [
    ("chat-tool-arguments-invalid", "chat.tools.call-shape"),
    ("chat-finish-reason-unknown", "chat.tools.finish-reason")])
def test_a_refused_stream_does_not_hide_non_streamed_tool_defects(fault: str, check_id: str,
                                                                   gateway,
                                                                   tmp_path: Path) -> None:
    """The non-streamed named call is judged even when the stream cannot be: its defect
    fails; the checks of the tool stream alone stay inconclusive."""
    with proxy(f"{gateway.root_url}/fault/{fault}", _refuse_streams) as root:
        run = run_suite(root + "/v1", tmp_path, "--select", "chat.tools.*")
    result = _result(run, check_id)
    assert result["outcome"] == "fail", result
    assert any(a.startswith("named") for a in result["actual"]), result
    for stream_only in ("chat.tools.stream-deltas", "chat.tools.parallel-indices"):
        assert run.outcome(stream_only) == "inconclusive"
    assert run.exit_code == 1


_NARROW_FIELDS = {"model", "messages", "temperature", "max_completion_tokens", "stream"}


def _narrow(sent: object) -> bool:
    """What a strict gateway takes: a few fields, and plain printable system or user text."""
    messages = sent.get("messages") if isinstance(sent, dict) else None
    return isinstance(sent, dict) and set(sent) <= _NARROW_FIELDS and isinstance(
        messages, list) and all(isinstance(m, dict) and set(m) == {"role", "content"} and
                                m["role"] in ("system", "user") and isinstance(
                                    m["content"], str) and m["content"].isprintable()
                                for m in messages)


def _strict(refusal: Response):
    async def intercept(request: Request, body: bytes) -> Response | None:
        try:
            sent = json.loads(body)
        except ValueError:
            sent = None
        return None if _narrow(sent) else refusal
    return intercept


def test_refusing_every_valid_generated_request_fails(gateway, tmp_path: Path) -> None:
    """A strict-validation gateway that refuses every generated valid body (cleanly, with the
    envelope) once got `not_supported` for the core feature `generated` and exit 0."""
    refusal = JSONResponse({"error": {"message": "Request validation failed.", "type":
                                      "invalid_request_error", "param": None, "code": None}},
                           status_code=400)
    with proxy(gateway.root_url, _strict(refusal)) as root:
        run = run_suite(root + "/v1", tmp_path, "--select", "chat.generated.*")
    result = _result(run, "chat.generated.schema-conformance")
    assert result["outcome"] == "fail", result
    assert any(a.startswith("all 8 valid generated requests were refused")
               for a in result["actual"]), result
    assert run.outcome("chat.generated.rejects-invalid") == "pass"
    assert run.exit_code == 1


@pytest.mark.parametrize("endpoint", ["chat", "responses"])
def test_a_valid_generated_request_refused_without_the_envelope_fails(endpoint: str, gateway,
                                                                      tmp_path: Path) -> None:
    """Refusing some valid bodies is allowed only as a clean refusal: a FastAPI-style 422
    `{"detail": ...}` fails the positive check, even when other cases are answered."""
    refusal = JSONResponse({"detail": "validation failed"}, status_code=422)
    with proxy(gateway.root_url, _strict(refusal) if endpoint == "chat" else
               _strict_responses(refusal)) as root:
        run = run_suite(root + "/v1", tmp_path, "--select", f"{endpoint}.generated.*")
    result = _result(run, f"{endpoint}.generated.schema-conformance")
    assert result["outcome"] == "fail", result
    assert any("without the error envelope" in a for a in result["actual"]), result
    assert run.outcome(f"{endpoint}.generated.rejects-invalid") == "fail"  # same refusals


def _strict_responses(refusal: Response):
    """A Responses gateway that takes only a plain string input and a few fields."""
    async def intercept(request: Request, body: bytes) -> Response | None:
        try:
            sent = json.loads(body)
        except ValueError:
            sent = None
        fields = {"model", "input", "store", "max_output_tokens", "temperature", "stream"}
        if isinstance(sent, dict) and set(sent) <= fields and isinstance(sent.get("input"), str):
            return None
        return refusal
    return intercept


def test_validation_error_inside_a_200_stream_fails(gateway, tmp_path: Path) -> None:
    """Issue 10: `{"stream": true, "temperature": 5}` answered 200 + `data: {"error": ...}` +
    `[DONE]` fails chat.errors.stream-validation; chat.stream.error-shape, which judges only
    streams that began as completions, is not fooled into a pass."""
    run = run_suite(gateway.fault_base_url("chat-stream-validation-in-stream"), tmp_path,
                    "--select", "chat.errors.*", "--select", "chat.stream.error-shape")
    outcomes = run.outcomes()
    assert outcomes["chat.errors.stream-validation"] == "fail"
    assert outcomes["chat.stream.error-shape"] == "inconclusive"
    assert "event stream carrying the error" in json.dumps(
        _result(run, "chat.errors.stream-validation"))
    assert {i: o for i, o in outcomes.items() if i != "chat.errors.stream-validation"} == {
        i: "pass" for i in outcomes if i.startswith("chat.errors.")
        and i != "chat.errors.stream-validation"} | {"chat.stream.error-shape": "inconclusive"}


def test_stream_options_accepted_without_stream_fails(gateway, tmp_path: Path) -> None:
    """openapi/SOURCES.md §7: the real API refuses `stream_options` with `stream: false` (400),
    so accepting it is a MUST failure, no longer a warning."""
    run = run_suite(gateway.fault_base_url("chat-stream-options-accepted"), tmp_path,
                    "--select", "chat.usage.stream-options-need-stream")
    assert run.outcomes() == {"chat.usage.stream-options-need-stream": "fail"}
    assert "accepted" in _result(run, "chat.usage.stream-options-need-stream")["message"]
