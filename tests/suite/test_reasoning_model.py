"""The Responses checks against a reasoning model (o4-mini on the reference gateway).

The default run uses gpt-4o-mini, which does not reason: there the reasoning checks judge the
absence of reasoning. This run proves the other half: reasoning items, their stream events and
their token accounting pass on the clean gateway, and the reasoning faults trip on this model too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.suite.harness import SuiteRun, run_suite

REASONING_MODEL = ["--model", "o4-mini", "--select", "responses.*"]


@pytest.fixture(scope="module")
def clean_reasoning_run(gateway, tmp_path_factory) -> SuiteRun:
    return run_suite(gateway.base_url, tmp_path_factory.mktemp("o4-mini"), *REASONING_MODEL)


# A healthy gateway never fails mid-stream, so the failure rules have nothing to judge.
NOT_OBSERVABLE_WHEN_CLEAN = {"responses.stream.failure-shape": "inconclusive"}


def test_clean_gateway_passes_every_responses_check(clean_reasoning_run: SuiteRun) -> None:
    outcomes = clean_reasoning_run.outcomes()
    assert outcomes and {i: o for i, o in outcomes.items() if o != "pass"} == \
        NOT_OBSERVABLE_WHEN_CLEAN


def test_reasoning_is_actually_exercised(clean_reasoning_run: SuiteRun) -> None:
    """The reasoning checks saw reasoning items, and the engine judged their summary events."""
    results = {r["id"]: r for r in clean_reasoning_run.document["results"]}
    observed = results["responses.reasoning.tokens"]["details"]["observed"]
    assert all(o["reasoning_items"] > 0 and o["reasoning_tokens"] > 0 for o in observed.values())
    assert results["responses.reasoning.effort"]["details"]["reasoning"] == "accepted"


@pytest.mark.parametrize(("fault", "check_id"), [
    ("responses-reasoning-tokens-misreported", "responses.reasoning.tokens"),
    ("responses-reasoning-effort-ignored", "responses.reasoning.effort"),
    ("responses-stream-done-text-mismatch", "responses.stream.text-done-matches"),
])
def test_faults_trip_on_a_reasoning_model(fault: str, check_id: str, gateway,
                                          tmp_path: Path) -> None:
    run = run_suite(gateway.fault_base_url(fault), tmp_path, *REASONING_MODEL)
    assert run.outcome(check_id) == "fail", run.document["results"]
