"""Run-level verdicts and exit codes: interrupted, unreachable, nothing judged, rejected key.

A run is `conformant` (exit 0) only when every endpoint in scope was judged and no MUST failed;
every other ending says why, in results.json and in its exit code, with or without workers.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import Response

from conformance import cli
from conformance.results import validate_document
from tests.suite.harness import API_KEY, run_suite
from tests.suite.proxy import proxy


class Hold:
    """A gateway whose Responses endpoint answers only when released: a run is sure to be
    mid-way once `held` is set."""

    def __init__(self) -> None:
        self.held = threading.Event()
        self.released = threading.Event()

    async def __call__(self, request: Request, body: bytes) -> Response | None:
        if request.url.path.endswith("/responses"):
            self.held.set()
            while not self.released.is_set():
                await asyncio.sleep(0.05)
            return Response(status_code=503)
        return None


def run_and_signal(gateway, out_dir: Path, signum: int,
                   workers: int) -> subprocess.CompletedProcess[str]:
    """Run the suite in a process of its own, and send it `signum` once it is held mid-way."""
    hold = Hold()
    with proxy(gateway.root_url, hold) as root:
        try:
            return _signal_when_held(root + "/v1", out_dir, hold.held, signum, workers)
        finally:
            hold.released.set()


def _signal_when_held(base_url: str, out_dir: Path, held: threading.Event, signum: int,
                      workers: int) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "conformance", "run", "--base-url", base_url,
               "--output", str(out_dir), "--timeout", "600", "--workers", str(workers)]
    env = {**os.environ, "OPENAI_API_KEY": API_KEY}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env)
    try:
        while not held.wait(timeout=0.2):  # no deadline: a run that ends instead fails below
            if process.poll() is not None:
                pytest.fail(f"the run ended before it was held: {process.stdout.read()[-3000:]}")
        process.send_signal(signum)
        output, _ = process.communicate(timeout=300)
    finally:
        process.kill()
    return subprocess.CompletedProcess(command, process.returncode, output)


@pytest.mark.parametrize(("signum", "code", "name"), [(signal.SIGINT, 130, "SIGINT"),
                                                      (signal.SIGTERM, 143, "SIGTERM")])
@pytest.mark.parametrize("workers", [1, 2])
def test_an_interrupted_run_says_so(gateway, tmp_path: Path, signum: int, code: int, name: str,
                                    workers: int) -> None:
    done = run_and_signal(gateway, tmp_path, signum, workers)
    assert done.returncode == code, done.stdout[-3000:]
    document = json.loads((tmp_path / "results.json").read_text())
    validate_document(document)
    assert document["run"]["status"] == "interrupted"
    assert document["run"]["interruption"]["signal"] == name
    assert document["summary"]["verdict"] == "incomplete"
    not_run = [r["id"] for r in document["results"] if r["outcome"] == "not_run"]
    assert any(i.startswith("responses.") for i in not_run)  # held there when interrupted
    assert not (tmp_path / "results.jsonl").exists()  # the journal became results.json
    assert f"interrupted by {name}" in done.stdout


def test_a_killed_run_leaves_a_journal_that_report_renders(gateway, tmp_path: Path) -> None:
    done = run_and_signal(gateway, tmp_path, signal.SIGKILL, 1)
    assert done.returncode == -signal.SIGKILL
    assert not (tmp_path / "results.json").exists()
    assert cli.main(["report", str(tmp_path)]) == 4
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["run"]["status"] == "interrupted"
    assert document["run"]["interruption"]["signal"] is None
    assert document["summary"]["counts"]["pass"] > 0  # what finished before the kill is kept
    assert (tmp_path / "index.html").exists()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_unreachable_target_exits_3_with_results(tmp_path: Path, workers: str) -> None:
    run = run_suite("http://127.0.0.1:9/v1", tmp_path, "--workers", workers)
    assert run.exit_code == 3
    assert run.document["run"]["status"] == "unreachable"
    assert run.document["summary"]["verdict"] == "not-judged"
    assert set(run.outcomes().values()) <= {"error", "skipped"}


def test_a_base_url_without_v1_is_not_judged(gateway, tmp_path: Path, capfd) -> None:
    run = run_suite(gateway.root_url, tmp_path)
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
