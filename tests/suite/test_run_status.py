"""Run-level verdicts and exit codes: interrupted, unreachable, nothing judged, rejected key.

A run is `conformant` (exit 0) only when every endpoint in scope was judged and no MUST failed;
every other ending says why, in results.json and in its exit code, whatever the concurrency.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import Response

from conformance import cli
from conformance.family import check_dirs
from conformance.results import validate_document
from tests.suite.harness import API_KEY, run_suite
from tests.suite.proxy import proxy


class Hold:
    """A gateway whose Responses endpoint answers only when released: a run is sure to be
    mid-way once `held` is set."""

    def __init__(self) -> None:
        self.path = "/responses"
        self.held = threading.Event()
        self.released = threading.Event()

    async def __call__(self, request: Request, body: bytes) -> Response | None:
        if request.url.path.endswith(self.path):
            self.held.set()
            while not self.released.is_set():
                await asyncio.sleep(0.05)
            return Response(status_code=503)
        return None


def run_and_signal(gateway, out_dir: Path, signum: int, concurrency: str = "16",
                   recorded: int = 0) -> subprocess.CompletedProcess[str]:
    """Run the suite in a process of its own, and send it `signum` once it is held mid-way
    and has journalled at least `recorded` exchanges."""
    hold = Hold()
    with proxy(gateway.root_url, hold) as root:
        try:
            return _signal_when_held(root + "/v1", out_dir, hold.held, signum, concurrency,
                                     lambda: len(_journalled(out_dir)) >= recorded)
        finally:
            hold.released.set()


def _journalled(out_dir: Path) -> list[str]:
    """The ids of the exchanges in a run's journal so far."""
    journal = out_dir / "results.jsonl"
    ids = []
    for line in journal.read_text().splitlines() if journal.exists() else []:
        try:
            entry = json.loads(line)
        except ValueError:
            break  # the line being written (or cut by a kill), as `conformance report` reads it
        ids += [entry["exchange"]["id"]] if "exchange" in entry else []
    return ids


def _signal_when_held(base_url: str, out_dir: Path, held: threading.Event, signum: int,
                      concurrency: str, ready: Callable[[], bool]
                      ) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "conformance", "run", "--base-url", base_url,
               "--output", str(out_dir), "--timeout", "600", "--concurrency", concurrency]
    env = {**os.environ, "OPENAI_API_KEY": API_KEY}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env)
    try:
        while not (held.wait(timeout=0.2) and ready()):  # no deadline: a run that ends fails
            if process.poll() is not None:
                pytest.fail(f"the run ended before it was held: {process.stdout.read()[-3000:]}")
        process.send_signal(signum)
        output, _ = process.communicate(timeout=300)
    finally:
        process.kill()
    return subprocess.CompletedProcess(command, process.returncode, output)


@pytest.mark.parametrize(("signum", "code", "name"), [(signal.SIGINT, 130, "SIGINT"),
                                                      (signal.SIGTERM, 143, "SIGTERM")])
@pytest.mark.parametrize("concurrency", ["1", "16"])
def test_an_interrupted_run_says_so(gateway, tmp_path: Path, signum: int, code: int, name: str,
                                    concurrency: str) -> None:
    done = run_and_signal(gateway, tmp_path, signum, concurrency, recorded=2)
    assert done.returncode == code, done.stdout[-3000:]
    document = json.loads((tmp_path / "results.json").read_text())
    validate_document(document)
    assert len(document["exchanges"]) >= 2  # what was recorded before the signal is kept
    assert document["run"]["status"] == "interrupted"
    assert document["run"]["interruption"]["signal"] == name
    assert document["summary"]["verdict"] == "incomplete"
    not_run = [r["id"] for r in document["results"] if r["outcome"] == "not_run"]
    assert any(i.startswith("responses.") for i in not_run)  # held there when interrupted
    assert not (tmp_path / "results.jsonl").exists()  # the journal became results.json
    assert f"interrupted by {name}" in done.stdout
    assert '<testcase classname="run" name="run.verdict"' in (tmp_path / "junit.xml").read_text()
    assert '<error message="incomplete: interrupted by' in (tmp_path / "junit.xml").read_text()


def test_a_killed_run_leaves_a_journal_that_report_renders(gateway, tmp_path: Path) -> None:
    done = run_and_signal(gateway, tmp_path, signal.SIGKILL, recorded=3)
    assert done.returncode == -signal.SIGKILL
    assert not (tmp_path / "results.json").exists()
    journalled = _journalled(tmp_path)
    assert len(journalled) >= 3  # recorded while the run was held at another endpoint
    assert cli.main(["report", str(tmp_path)]) == 4
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["run"]["status"] == "interrupted"
    assert document["run"]["interruption"]["signal"] is None
    # Killed while recording (held at Responses): every exchange recorded before is kept ...
    assert sorted(document["exchanges"]) == sorted(journalled)
    assert document["summary"]["counts"]["not_run"] > 0  # ... and no check is passed off as run
    assert (tmp_path / "index.html").exists()


def test_a_killed_run_never_leaves_an_earlier_verdict_standing(gateway, tmp_path: Path) -> None:
    earlier = run_suite(gateway.base_url, tmp_path, "--select", "chat.response.*")
    assert earlier.exit_code == 0
    done = run_and_signal(gateway, tmp_path, signal.SIGKILL)
    assert done.returncode == -signal.SIGKILL
    assert not (tmp_path / "results.json").exists()  # the stale green report is gone
    assert cli.main(["report", str(tmp_path)]) == 4


@pytest.mark.parametrize("concurrency", ["1", "16"])
def test_an_unreachable_target_exits_3_with_results(tmp_path: Path, concurrency: str) -> None:
    run = run_suite("http://127.0.0.1:9/v1", tmp_path, "--concurrency", concurrency)
    assert run.exit_code == 3
    assert run.document["run"]["status"] == "unreachable"
    assert run.document["summary"]["verdict"] == "not-judged"
    assert set(run.outcomes().values()) <= {"error", "skipped"}


# The families whose paths sit under the base URL's /v1 (Gemini's sit beside it, under the
# root's /v1beta, which a base URL without /v1 still names: its checks are judged there).
UNDER_V1 = ("--select", "chat.*", "--select", "responses.*", "--select", "models.*",
            "--select", "messages.*")


def test_a_base_url_without_v1_is_not_judged(gateway, tmp_path: Path, capfd) -> None:
    run = run_suite(gateway.root_url, tmp_path, *UNDER_V1)
    assert run.exit_code == 4
    assert run.document["summary"]["verdict"] == "not-judged"
    assert "/v1" in run.document["summary"]["cause"]
    assert "/v1" in capfd.readouterr().out


def test_a_wrong_api_key_is_one_clear_error(gateway, tmp_path: Path) -> None:
    run = run_suite(gateway.base_url, tmp_path, api_key="sk-wrong-key-0123456789")
    assert run.exit_code == 4
    summary = run.document["summary"]
    assert summary["verdict"] == "not-judged" and "API key" in summary["cause"]
    assert "fail" not in run.outcomes().values()


def test_a_claimed_endpoint_that_is_absent_fails(gateway, tmp_path: Path) -> None:
    async def no_responses(request: Request, body: bytes) -> Response | None:
        if request.url.path.endswith("/responses"):
            return Response('{"error": {"message": "Not found", "type": "invalid_request_error",'
                            ' "param": null, "code": null}}', status_code=404,
                            media_type="application/json")
        return None

    with proxy(gateway.root_url, no_responses) as root:
        claimed = run_suite(root + "/v1", tmp_path / "claimed", "--endpoints", "chat,responses",
                            "--select", "responses.response.*", "--select", "chat.response.*")
        unclaimed = run_suite(root + "/v1", tmp_path / "unclaimed",
                              "--select", "responses.response.*", "--select", "chat.response.*")
    assert claimed.exit_code == 1
    # Every Responses check fails at its level: MUST ones fail, SHOULD ones warn.
    assert {o for i, o in claimed.outcomes().items() if i.startswith("responses.")} == {
        "fail", "warn"}
    assert unclaimed.exit_code == 0, unclaimed.document["summary"]
    assert unclaimed.document["summary"]["scope"]["POST /v1/responses"] == "not served"


def refuse_with(status: int, error: dict, when) -> object:
    """An intercept answering `status` with the error envelope `error` when `when(path)`."""
    body = json.dumps({"error": {"type": "invalid_request_error", "param": None, "code": None,
                                 **error}})

    async def intercept(request: Request, _: bytes) -> Response | None:
        if when(request.url.path):
            return Response(body, status_code=status, media_type="application/json")
        return None

    return intercept


@pytest.mark.parametrize(("status", "error"), [
    (404, {"message": "The model `gpt-4o-mini` does not exist", "code": "model_not_found"}),
    (400, {"message": "Unsupported model", "param": "model"}),
])
def test_a_model_the_target_does_not_serve_is_one_clear_error(
        gateway, tmp_path: Path, status: int, error: dict) -> None:
    refusal = refuse_with(status, error, lambda path: not path.endswith("/models"))
    with proxy(gateway.root_url, refusal) as root:
        run = run_suite(root + "/v1", tmp_path)
    assert run.exit_code == 4
    summary = run.document["summary"]
    assert summary["verdict"] == "not-judged" and "--model" in summary["cause"]
    assert "fail" not in run.outcomes().values()


def test_a_wrong_model_on_the_reference_gateway(gateway, tmp_path: Path) -> None:
    run = run_suite(gateway.base_url, tmp_path, "--model", "gpt-4o-mini-typo")
    assert run.exit_code == 4 and "--model" in run.document["summary"]["cause"]


def test_rate_limiting_mid_run_is_an_error_not_a_failure(gateway, tmp_path: Path) -> None:
    sent = itertools.count()

    async def late_429(request: Request, body: bytes) -> Response | None:
        if next(sent) >= 10:
            return Response('{"error": {"message": "Rate limit reached", "type": "requests", '
                            '"param": null, "code": "rate_limit_exceeded"}}', status_code=429,
                            media_type="application/json")
        return None

    with proxy(gateway.root_url, late_429) as root:
        run = run_suite(root + "/v1", tmp_path)
    assert "fail" not in run.outcomes().values(), {
        r["id"]: r["message"] for r in run.document["results"] if r["outcome"] == "fail"}
    assert run.exit_code == 4
    assert "rate-limit" in run.document["summary"]["cause"]


def test_a_gateway_serving_only_its_model_list_is_not_judged(gateway, tmp_path: Path) -> None:
    only_models = refuse_with(404, {"message": "Not found"},
                              lambda path: not path.endswith("/models"))
    with proxy(gateway.root_url, only_models) as root:
        run = run_suite(root + "/v1", tmp_path)
    assert run.exit_code == 4
    assert run.document["summary"]["verdict"] == "not-judged"
    assert "/v1" in run.document["summary"]["cause"]


def test_a_model_list_that_never_answers_does_not_make_the_target_unreachable(
        gateway, tmp_path: Path) -> None:
    hold = Hold()
    hold.path = "/models"
    with proxy(gateway.root_url, hold) as root:
        try:
            run = run_suite(root + "/v1", tmp_path, "--select", "chat.response.*",
                            "--select", "models.*", "--timeout", "20")
        finally:
            hold.released.set()
    assert run.document["run"]["status"] == "completed"
    assert {o for i, o in run.outcomes().items() if i.startswith("chat.")} == {"pass"}
    assert run.exit_code == 4  # the model list could not be judged


def test_a_gateway_asking_to_retry_later_is_waited_out(gateway, tmp_path: Path) -> None:
    seen: set[str] = set()

    async def first_429(request: Request, body: bytes) -> Response | None:
        if request.url.path not in seen:  # the first request of every path
            seen.add(request.url.path)
            return Response('{"error": {"message": "Rate limit reached", "type": "requests", '
                            '"param": null, "code": "rate_limit_exceeded"}}', status_code=429,
                            headers={"Retry-After": "1"}, media_type="application/json")
        return None

    with proxy(gateway.root_url, first_429) as root:
        run = run_suite(root + "/v1", tmp_path, "--select", "chat.response.*",
                        "--select", "models.*")
    assert run.exit_code == 0, run.document["summary"]
    retried = [x for x in run.document["exchanges"].values() if x["retries"]]
    assert retried and all(x["retries"][0]["status"] == 429 for x in retried)


def test_a_gateway_that_stays_unavailable_is_an_error_not_a_failure(gateway,
                                                                    tmp_path: Path) -> None:
    """Sibling of the 429 case: a 503 whose Retry-After never clears is about load."""
    always_503 = refuse_with(503, {"message": "Overloaded", "type": "server_error"},
                             lambda path: True)

    async def with_retry_after(request: Request, body: bytes) -> Response | None:
        answer = await always_503(request, body)
        answer.headers["Retry-After"] = "0"
        return answer

    with proxy(gateway.root_url, with_retry_after) as root:
        run = run_suite(root + "/v1", tmp_path, "--select", "chat.errors.*",
                        "--select", "chat.response.*")
    assert "fail" not in run.outcomes().values()
    assert run.exit_code == 4 and "rate-limit" in run.document["summary"]["cause"]


def test_a_request_the_harness_cut_fails_no_check(gateway, tmp_path: Path) -> None:
    """A bad request left unanswered until --timeout is the harness's bound, not the gateway
    dropping the connection: the checks judging it end `error` (cause timeout)."""
    hold = Hold()
    hold.path = "/chat/completions"

    async def hold_invalid_json(request: Request, body: bytes) -> Response | None:
        return await hold(request, body) if body.endswith(b"[") else None

    with proxy(gateway.root_url, hold_invalid_json) as root:
        try:
            run = run_suite(root + "/v1", tmp_path, "--select", "chat.errors.*",
                            "--timeout", "10")
        finally:
            hold.released.set()
    assert run.outcome("chat.errors.bad-request-status") == "error"
    cut = next(r for r in run.document["results"] if r["id"] == "chat.errors.bad-request-status")
    assert cut["cause"] == "timeout" and "invalid JSON" in cut["message"]
    assert "fail" not in run.outcomes().values()


def test_listing_the_checks_writes_no_report(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = pytest.main([*map(str, check_dirs()), "-q", "-p", "no:cacheprovider", "--collect-only",
                        "--output", str(tmp_path / "out")])
    assert code == 0 and not (tmp_path / "out").exists() and not (tmp_path / "reports").exists()
