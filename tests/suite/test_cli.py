"""The CLI contract: exit codes, reports, selection, redaction, one engine behind two front ends."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance import cli
from tests.suite.harness import API_KEY, run_suite


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_run_without_target_uses_the_embedded_gateway(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "CONFORMANCE_MODEL"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["run", "--select", "chat.response.*"]) == 0
    latest = tmp_path / "reports" / "latest"
    assert latest.is_symlink()
    document = json.loads((latest / "results.json").read_text())
    assert document["run"]["embedded_gateway"] is True
    assert {r["id"] for r in document["results"]} >= {"chat.response.schema"}
    assert (latest / "index.html").exists() and (latest / "junit.xml").exists()


def test_selection_limits_the_checks(gateway, tmp_path: Path) -> None:
    run = run_suite(gateway.base_url, tmp_path, "--select", "chat.stream.*")
    ids = set(run.outcomes())
    assert ids and all(i.startswith("chat.stream.") for i in ids)


def test_a_must_failure_exits_1(gateway, tmp_path: Path) -> None:
    run = run_suite(gateway.fault_base_url("chat-stream-no-done"), tmp_path,
                    "--select", "chat.stream.*")
    assert run.outcome("chat.stream.done-sentinel") == "fail"
    assert run.exit_code == 1


def test_a_should_violation_alone_exits_0(gateway, tmp_path: Path) -> None:
    run = run_suite(gateway.fault_base_url("chat-stream-no-space"), tmp_path,
                    "--select", "chat.stream.*")
    assert run.outcome("chat.stream.framing") == "warn"
    assert run.exit_code == 0


@pytest.mark.parametrize("argv", [
    ["run", "--header", "no-colon-here"],
    ["run", "--base-url", "ftp://example.com/v1"],
    ["run", "--timeout", "0"],
    ["run", "--concurrency", "0"],
    ["run", "--max-time", "0"],
    ["run", "--select", "no.such.check-*"],
    ["run", "--tokenizer", "nope"],
])
def test_bad_usage_exits_2(argv: list[str], tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2


BILLING = ("--select", "chat.billing.*", "--select", "responses.usage.billing",
           "--select", "chat.limits.max-*")


def test_the_named_tokenizer_is_recorded_and_billing_still_judged(gateway, tmp_path: Path,
                                                                   monkeypatch) -> None:
    """The reference gateway serves only the models it knows (an alias is a 404), so the default
    model with `--tokenizer` shows the plumbing: the run info says which encoding and why, and
    the checks that count tokens locally still judge (and pass) with it."""
    monkeypatch.delenv("CONFORMANCE_TOKENIZER", raising=False)
    run = run_suite(gateway.base_url, tmp_path, "--tokenizer", "o200k_base", *BILLING)
    assert run.document["run"]["tokenizer"] == {"encoding": "o200k_base",
                                               "reason": "--tokenizer o200k_base"}
    assert run.outcomes() == {"chat.billing.prompt-tokens": "pass",
                              "responses.usage.billing": "pass",
                              "chat.limits.max-completion-tokens": "pass",
                              "chat.limits.max-tokens": "pass"}
    assert run.exit_code == 0
    billing = next(r for r in run.document["results"] if r["id"] == "responses.usage.billing")
    assert billing["details"]["encoding"] == "o200k_base"
    assert "--tokenizer o200k_base" in (tmp_path / "index.html").read_text()


def test_the_tokenizer_from_the_environment_says_so(gateway, tmp_path: Path,
                                                    monkeypatch) -> None:
    monkeypatch.setenv("CONFORMANCE_TOKENIZER", "cl100k_base")
    run = run_suite(gateway.base_url, tmp_path, "--select", "chat.billing.*")
    assert run.document["run"]["tokenizer"] == {
        "encoding": "cl100k_base", "reason": "CONFORMANCE_TOKENIZER=cl100k_base; the model "
        "name gpt-4o-mini suggests o200k_base"}
    assert run.outcome("chat.billing.prompt-tokens") == "pass"  # short English: same count


def test_the_key_never_appears_in_any_output(gateway, tmp_path: Path, capfd) -> None:
    # A fault run has failures, so the reports carry full evidence (requests, headers, curl).
    run = run_suite(gateway.fault_base_url("auth-not-enforced"), tmp_path)
    assert run.outcome("chat.errors.auth") == "fail"
    captured = capfd.readouterr()
    for name in ("results.json", "junit.xml", "index.html"):
        assert API_KEY not in (tmp_path / name).read_text(), name
    assert API_KEY not in captured.out + captured.err
    assert "$OPENAI_API_KEY" in (tmp_path / "results.json").read_text()


def test_html_report_is_self_contained(gateway, tmp_path: Path) -> None:
    run = run_suite(gateway.fault_base_url("chat-usage-total-wrong"), tmp_path)
    html = (run.out_dir / "index.html").read_text()
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?https?:""", html)
    assert "chat.usage.total" in html and "curl" in html


def test_list_formats() -> None:
    out = subprocess.run([sys.executable, "-m", "conformance", "list", "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    checks = json.loads(out)
    assert {"id", "endpoint", "level", "feature", "requirement", "spec", "source"} <= set(checks[0])
    markdown = subprocess.run([sys.executable, "-m", "conformance", "list", "--format",
                               "markdown", "--select", "chat.*"],
                              capture_output=True, text=True, check=True).stdout
    assert markdown.startswith("| id |") and "chat.stream.done-sentinel" in markdown


def test_plain_pytest_is_the_same_engine(gateway, tmp_path: Path) -> None:
    """`pytest --base-url` writes the same results as `conformance run`."""
    out = tmp_path / "pytest"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conformance.plugin", "--base-url",
         gateway.fault_base_url("chat-stream-no-done"), "--api-key", API_KEY, "--output", str(out),
         "--select", "chat.stream.*", str(Path(cli.__file__).parent / "apis")],
        capture_output=True, text=True, check=False,
    )
    document = json.loads((out / "results.json").read_text())
    outcomes = {r["id"]: r["outcome"] for r in document["results"]}
    assert outcomes["chat.stream.done-sentinel"] == "fail"
    assert proc.returncode == 1


def test_run_against_a_gateway_in_another_process(tmp_path: Path) -> None:
    """The gateway served by `conformance serve`, judged over the network like any other."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "conformance", "serve", "--port", str(port), "--api-key", API_KEY],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        run = run_suite(f"http://127.0.0.1:{port}/v1", tmp_path, "--select", "chat.*")
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert run.exit_code == 0, run.document["results"]
    assert run.document["run"]["embedded_gateway"] is False
    assert run.document["stats"]["requests"] > 0


def wait_for_port(port: int, deadline: float = 15.0) -> None:
    stop = time.monotonic() + deadline
    while time.monotonic() < stop:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port}")


def test_reports_render_again_from_results_json_alone(gateway, tmp_path: Path) -> None:
    run = run_suite(gateway.fault_base_url("chat-stream-no-done"), tmp_path,
                    "--select", "chat.stream.*")
    for name in ("index.html", "junit.xml"):
        (tmp_path / name).unlink()
    assert cli.main(["report", str(tmp_path)]) == run.exit_code == 1
    assert "chat.stream.done-sentinel" in (tmp_path / "index.html").read_text()
    assert 'name="chat.stream.done-sentinel"' in (tmp_path / "junit.xml").read_text()


def test_report_of_a_directory_without_results_is_a_usage_error(tmp_path: Path) -> None:
    assert cli.main(["report", str(tmp_path)]) == 2


def test_concurrency_changes_neither_verdicts_nor_requests(gateway, tmp_path: Path) -> None:
    """One request at a time or many: the same requests (each sent once), the same verdicts."""
    runs = [run_suite(gateway.fault_base_url("chat-object-wrong"), tmp_path / level,
                      "--concurrency", level) for level in ("1", "16")]
    serial, parallel = runs
    assert parallel.outcomes() == serial.outcomes()
    assert parallel.outcome("chat.response.object") == "fail"
    assert parallel.exit_code == serial.exit_code == 1
    assert parallel.document["stats"]["requests"] == serial.document["stats"]["requests"]
    for run in runs:
        plan = run.document["run"]["plan"]
        assert plan["sent"] == plan["exchanges"] == run.document["stats"]["requests"]
    assert _requests(parallel) == _requests(serial)


def _requests(run) -> dict[str, tuple[str, str | None]]:
    """Exchange id -> (URL, body): what was sent, by the id the plan gave it (the ids the
    gateway made up, which follow-ups send back, made equal)."""
    def same(text: str | None) -> str:
        return re.sub(r"\b(resp|call|fc|msg)_\w+", r"\1_*", text or "")

    return {key: (same(e["request"]["url"]), same(e["request"]["body"]))
            for key, e in run.document["exchanges"].items()}
