"""The suite proves itself both ways: the clean gateway passes everything it can observe, and
each fault changes the outcome of exactly the checks it declares (its targets and its named
collateral), no fewer and no more."""

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


# Checks whose subject a healthy gateway never shows: they end `inconclusive` on a clean run and
# are judged only when a gateway (or a fault) produces it.
UNOBSERVABLE_WHEN_CLEAN = {
    "chat.stream.error-shape": "no stream of a healthy gateway fails mid-way",
    "responses.stream.failure-shape": "no stream of a healthy gateway fails mid-way",
}


def clean_outcome(check_id: str) -> str:
    if check_id in DECLINED_BY_REFERENCE:
        return "not_supported"
    return "inconclusive" if check_id in UNOBSERVABLE_WHEN_CLEAN else "pass"


def test_clean_gateway_passes_every_check(clean_run: SuiteRun) -> None:
    expected = {i: clean_outcome(i) for i in CHECKS}
    assert clean_run.outcomes() == expected, clean_run.document["results"]
    assert clean_run.exit_code == 0
    assert clean_run.document["summary"]["verdict"] == "conformant"


def test_every_check_is_tripped_by_some_fault() -> None:
    tripped = {check_id for fault in FAULTS.values() for check_id in fault.trips}
    assert sorted(set(CHECKS) - tripped) == []


def test_every_fault_names_real_checks() -> None:
    unknown = {f.name: [t for t in (*f.trips, *f.collateral) if t not in CHECKS]
               for f in FAULTS.values()}
    assert {name: ids for name, ids in unknown.items() if ids} == {}


def test_collateral_is_explained_and_not_a_target() -> None:
    bad = {f.name: [c for c, why in f.collateral.items() if not why.strip() or c in f.trips]
           for f in FAULTS.values()}
    assert {name: ids for name, ids in bad.items() if ids} == {}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_changes_exactly_its_declared_checks(fault: str, gateway, tmp_path: Path) -> None:
    declared = FAULTS[fault]
    run = run_suite(gateway.fault_base_url(fault), tmp_path)
    outcomes = run.outcomes()
    found = {c: outcomes.get(c) for c in declared.trips}
    assert found == {c: expected_outcome(fault, c) for c in declared.trips}, run.document
    changed = {c: f"{o}: {message(run, c)}" for c, o in outcomes.items() if o != clean_outcome(c)}
    undeclared = {c: m for c, m in changed.items()
                  if c not in declared.trips and c not in declared.collateral}
    assert undeclared == {}, "the fault changed checks it does not declare"
    unchanged = sorted(c for c in declared.collateral if c not in changed)
    assert unchanged == [], "declared collateral that the fault does not change"
    must_failed = any(o == "fail" for o in outcomes.values())
    errored = any(o == "error" for o in outcomes.values())
    assert run.exit_code == (1 if must_failed else 4 if errored else 0)


def message(run: SuiteRun, check_id: str) -> str:
    return next(r["message"] for r in run.document["results"] if r["id"] == check_id)[:300]
