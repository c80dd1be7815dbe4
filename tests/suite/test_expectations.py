"""Expectations end to end: a gateway with a known deviation passes the run "with 2 expected
failures" in every report; once fixed, the expectations are stale, which fails a strict run; a
glob the user wrote governs the same checks and survives an update."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance import cli
from conformance.expectations import load, parse
from tests.suite.harness import run_suite

FAULT = "chat-length-as-stop"  # a length cut reported as `stop`: two MUST checks fail
CHECKS = ["chat.limits.max-completion-tokens", "chat.limits.max-tokens"]
SELECTION = ("--select", "chat.limits.*")


def expected_cases(out_dir: Path) -> dict[str, str]:
    """JUnit's test cases skipped as expected, and their message."""
    root = ET.parse(out_dir / "junit.xml").getroot()
    return {c.get("name"): s.get("message") for c in root.iter("testcase")
            if (s := c.find("skipped")) is not None and s.get("message").startswith("expected")}


def test_known_deviations_pass_the_run_and_go_stale_once_fixed(
        gateway, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    faulty = gateway.fault_base_url(FAULT)
    first = run_suite(faulty, tmp_path / "first", *SELECTION)
    assert first.exit_code == 1 and [first.outcome(c) for c in CHECKS] == ["fail", "fail"]
    written = tmp_path / "expectations.yaml"
    assert cli.main(["expectations", str(first.out_dir), "--file", str(written)]) == 0
    assert [(e.check, e.outcome) for e in load(written).entries] == [(c, "fail") for c in CHECKS]
    capsys.readouterr()

    known = ("--expectations", str(written))
    second = run_suite(faulty, tmp_path / "second", *SELECTION, *known)
    out = capsys.readouterr().out
    assert second.exit_code == 0
    assert "verdict: non-conformant, 2 expected failures" in out
    assert second.document["summary"]["verdict"] == "non-conformant"  # still the truth
    assert second.document["summary"]["expectations"]["expected"] == {"fail": 2}
    assert sorted(expected_cases(second.out_dir)) == CHECKS
    page = (second.out_dir / "index.html").read_text()
    assert 'id="expected">Expected (2)' in page and "Problems (0)" in page

    fixed = run_suite(gateway.base_url, tmp_path / "fixed", *SELECTION, *known,
                      "--strict-expectations")
    assert fixed.exit_code == 5 and "2 stale expectations" in capsys.readouterr().out
    stale = fixed.document["summary"]["expectations"]["stale"]
    assert [(e["check"], e["why"]) for e in stale] == [(c, "expected fail, got pass")
                                                      for c in CHECKS]


def test_a_glob_the_user_wrote_governs_its_checks_and_survives_an_update(
        gateway, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    written = tmp_path / "expectations.yaml"
    written.write_text("version: 1\nexpectations:\n  'chat.limits.max-*':\n    outcome: fail\n"
                       "    reason: cuts are reported as stop\n    link: https://t.example/9\n")
    run = run_suite(gateway.fault_base_url(FAULT), tmp_path / "run", *SELECTION,
                    "--expectations", str(written))
    assert run.exit_code == 0 and "2 expected failures" in capsys.readouterr().out
    assert set(expected_cases(run.out_dir).values()) == {
        f"expected fail (cuts are reported as stop; https://t.example/9): {r['message']}"
        for r in run.document["results"] if r["id"] in CHECKS}
    before = written.read_text()
    assert cli.main(["expectations", str(run.out_dir / "results.json"), "--file",
                     str(written)]) == 0
    assert load(written).entries == parse(before).entries  # nothing added, nothing lost
