"""A hostile gateway cannot hang, flood or crash a run, nor make it look conformant.

Each mode of `hostile_gateway` is judged by `conformance run` in a subprocess, exactly as a user
runs it, inside a fresh wrapper process whose only child is that run, so the wrapper's
RUSAGE_CHILDREN peak RSS is the run's own. The run must end by itself well within a bound of a
few request timeouts, stay small in memory, exit non-conformant, and write a valid results.json
in which nothing passes on a body the gateway never properly sent and every error says why.

Self-contained (no shared fixtures), so it runs alone:

    .venv/bin/pytest tests/suite/test_hostile_gateways.py -v -s

HOSTILE_RUN_LIMIT (seconds, default 600) bounds each run from outside, only so that a broken
engine cannot hang CI; the assertions use their own, generous, bounds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.suite.hostile_gateway import MODES, HostileServer

API_KEY = "sk-hostile-selftest-5f2c9a7d13e84b60"
TIMEOUT = 10.0  # --timeout of every run
WALL_LIMIT = 20 * TIMEOUT  # generous: CI machines are busy, never assert tight timings
# Each recorded exchange keeps up to --max-bytes of body and its events: the peak grows with the
# requests a run plans (136 with two API families), not with how long a gateway keeps sending.
RSS_LIMIT_KIB = 400 * 1024
RUN_LIMIT = float(os.environ.get("HOSTILE_RUN_LIMIT", "600"))
SCHEMA = Path(__file__).parents[2] / "conformance" / "results.schema.json"
NOT_CONFORMANT = (1, 3, 4)  # MUST failure, unreachable, incomplete

# Checks that may pass against a mode: those judging only a header the mode sends right. Every
# other check needs a body, and no transport mode sends one that deserves a pass.
SSE_TYPE = {"chat.stream.content-type", "responses.stream.content-type",
            "messages.stream.content-type"}
JSON_TYPE = {"chat.response.content-type"}
LEGITIMATE_PASSES: dict[str, set[str]] = {mode: set() for mode in MODES} | {
    "drip": SSE_TYPE, "endless": SSE_TYPE, "reset": SSE_TYPE,
    "big-body": JSON_TYPE, "gzip-bomb": JSON_TYPE}
# invalid-utf8 sends whole answers with invalid UTF-8 in their text (and, in a stream, in its
# first event): a body or an event whose bytes are not UTF-8 is not JSON (RFC 8259 §8.1), so the
# checks that own "is it JSON" fail, and nothing judging a non-streamed body passes; the stream's
# valid events are still judged on their own.
UTF8_MUST_FAIL = {"chat.stream.data-json", "chat.response.schema", "responses.response.schema",
                  "responses.stream.event-schema"}

# Runs `conformance run` and reports its exit code and peak RSS; the conformance process is its
# only child, so RUSAGE_CHILDREN measures that run alone. A run past the limit is killed.
WRAPPER = """
import json, resource, subprocess, sys
command, limit, log = json.loads(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
with open(log, "wb") as out:
    try:
        code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT,
                              timeout=limit).returncode
    except subprocess.TimeoutExpired:
        code = None
print(json.dumps({"exit_code": code,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def run_in_subprocess(base_url: str, out_dir: Path, log: Path) -> dict[str, Any]:
    """One `conformance run` as a user runs it: exit code, peak RSS (KiB) and wall seconds."""
    command = [sys.executable, "-m", "conformance", "run", "--base-url", base_url,
               "--api-key", API_KEY, "--output", str(out_dir), "--timeout", f"{TIMEOUT:g}"]
    start = time.monotonic()
    wrapper = subprocess.run(
        [sys.executable, "-c", WRAPPER, json.dumps(command), str(RUN_LIMIT), str(log)],
        capture_output=True, text=True, timeout=RUN_LIMIT + 60, check=True,
        cwd=out_dir.parent,  # nothing lands in the checkout (no reports/latest)
    )
    measured = json.loads(wrapper.stdout.strip().splitlines()[-1])
    measured["wall"] = time.monotonic() - start
    return measured


def describe(mode: str, measured: dict[str, Any], document: dict[str, Any]) -> str:
    """One line of what the run did, printed so a failing (or -s) run shows it."""
    summary = document.get("summary", {})
    passed = sorted(r["id"] for r in document.get("results", []) if r["outcome"] == "pass")
    return (f"[{mode}] exit={measured['exit_code']} wall={measured['wall']:.1f}s "
            f"rss={measured['maxrss_kib'] // 1024}MiB received={measured['received']} "
            f"verdict={summary.get('verdict')} "
            f"cause={summary.get('cause')!r} counts={summary.get('counts')} "
            f"stats={document.get('stats')} plan={document.get('run', {}).get('plan')} "
            f"passed={passed}")


def files_holding(out_dir: Path, secret: str) -> list[str]:
    needle = secret.encode()
    return [str(p.relative_to(out_dir)) for p in sorted(out_dir.rglob("*"))
            if p.is_file() and needle in p.read_bytes()]


def undocumented_errors(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Error results that do not say what went wrong (a cause and a message)."""
    return {r["id"]: {"cause": r.get("cause"), "message": r.get("message")}
            for r in document["results"] if r["outcome"] == "error"
            and not (r.get("cause") and (r.get("message") or "").strip())}


def exchanges_without_evidence(document: dict[str, Any]) -> list[str]:
    """Recorded exchanges showing neither a status, a transport error, nor a harness cut."""
    return [exchange_id for exchange_id, e in document["exchanges"].items()
            if e.get("transport_error") is None and e.get("cut") is None
            and (e.get("response") or {}).get("status") is None]


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_hostile_gateway_is_judged_promptly_and_safely(mode: str, tmp_path: Path) -> None:
    out_dir, log = tmp_path / "report", tmp_path / "run.log"
    with HostileServer(mode) as server:
        measured = run_in_subprocess(server.base_url, out_dir, log)
    measured["received"] = server.requests
    results = out_dir / "results.json"
    document = json.loads(results.read_text(encoding="utf-8")) if results.exists() else {}
    print(describe(mode, measured, document))
    console = log.read_text(encoding="utf-8", errors="replace")[-3000:]

    assert measured["exit_code"] is not None, f"killed after {RUN_LIMIT:g}s\n{console}"
    assert measured["wall"] < WALL_LIMIT, console
    assert measured["maxrss_kib"] < RSS_LIMIT_KIB
    assert measured["exit_code"] in NOT_CONFORMANT, console
    assert document, f"no results.json\n{console}"
    Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8"))).validate(document)
    passed = {r["id"] for r in document["results"] if r["outcome"] == "pass"}
    if mode == "invalid-utf8":
        failed = {r["id"] for r in document["results"] if r["outcome"] == "fail"}
        assert sorted(UTF8_MUST_FAIL - failed) == []
        assert sorted(i for i in passed if ".response." in i) == sorted(JSON_TYPE)
    else:
        assert sorted(passed - LEGITIMATE_PASSES[mode]) == []
    assert undocumented_errors(document) == {}
    assert exchanges_without_evidence(document) == []
    assert files_holding(out_dir, API_KEY) == []
    # Counted by the gateway itself: what the run says it sent is what arrived, each once.
    assert document["stats"]["requests"] == server.requests
