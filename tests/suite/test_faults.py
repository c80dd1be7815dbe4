"""The suite proves itself: clean gateway passes everything, every fault trips its check."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.check import Level
from conformance.cli import load_checks
from conformance.gateway.faults import FAULTS
from tests.suite.harness import SuiteRun, run_suite

CHECKS = load_checks()


def expected_outcome(fault: str, check_id: str) -> str:
    if FAULTS[fault].outcome:
        return FAULTS[fault].outcome
    return "fail" if CHECKS[check_id].level == Level.MUST else "warn"


@pytest.fixture(scope="module")
def clean_run(gateway, tmp_path_factory) -> SuiteRun:
    return run_suite(gateway.base_url, tmp_path_factory.mktemp("clean"))


# Features the reference gateway deliberately lacks on its default model: their checks end
# `not_supported`, the honest outcome for any gateway that declines them cleanly.
DECLINED_BY_REFERENCE = {
    "responses.reasoning.effort": "gpt-4o-mini does not reason, and refuses reasoning.effort",
}


def test_clean_gateway_passes_every_check(clean_run: SuiteRun) -> None:
    expected = {i: "not_supported" if i in DECLINED_BY_REFERENCE else "pass" for i in CHECKS}
    assert clean_run.outcomes() == expected, clean_run.document["results"]
    assert set(clean_run.outcomes()) == set(CHECKS)
    assert clean_run.exit_code == 0


def test_every_check_is_tripped_by_some_fault() -> None:
    tripped = {check_id for fault in FAULTS.values() for check_id in fault.trips}
    assert sorted(set(CHECKS) - tripped) == []


def test_every_fault_names_real_checks() -> None:
    unknown = {f.name: [t for t in f.trips if t not in CHECKS] for f in FAULTS.values()}
    assert {name: ids for name, ids in unknown.items() if ids} == {}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_trips_its_check(fault: str, gateway, tmp_path: Path) -> None:
    trips = FAULTS[fault].trips
    run = run_suite(gateway.fault_base_url(fault), tmp_path)
    found = {c: run.outcome(c) for c in trips}
    assert found == {c: expected_outcome(fault, c) for c in trips}, run.document["results"]
    must_failed = any(r["outcome"] in ("fail", "error") and r["level"] == "MUST"
                      for r in run.document["results"])
    assert run.exit_code == (1 if must_failed else 0)
