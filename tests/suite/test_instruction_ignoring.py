"""Verdicts do not depend on the model obeying the prompt.

The reference gateway's ``fixed-reply`` behaviour is a clean gateway whose model ignores every
instruction, like the fixed-reply mocks and tiny models real gateways serve: it answers one
fixed sentence, never counts on request, never picks a tool under "auto", while the server
still honours every API parameter (caps, ``stop``, ``n``, forced tools, JSON modes, usage).
A correct gateway must never fail or error because of what its model chose to write: where the
exchange shows nothing to judge, a check ends inconclusive.

The other direction holds too: a faulty gateway must not pass because its model ignores the
prompt. The fixed reply is longer than every cap the suite sets, so each cap has something to
cut, and the cap and stop faults are caught behind it exactly as behind an obedient model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.cli import load_checks
from conformance.gateway.behaviours import FIXED_REPLY
from conformance.gateway.faults import FAULTS
from tests.suite.harness import SuiteRun, run_suite
from tests.suite.test_faults import DECLINED_BY_REFERENCE, expected_outcome

CHECKS = load_checks()
# Outcomes a correct gateway may get whatever its model writes.
ALLOWED = {"pass", "inconclusive"}
# The complete list of checks the fixed reply leaves without a subject, and why. Anything else
# inconclusive is a gap a prompt-ignoring model opens: it must show up here, named.
INCONCLUSIVE_WITH_FIXED_REPLY = {
    "chat.stream.error-shape": "no stream of a healthy gateway fails mid-way",
    "responses.stream.failure-shape": "no stream of a healthy gateway fails mid-way",
    "chat.stream.utf8-text": "the fixed reply does not repeat the non-ASCII phrase: no "
    "multi-byte character is streamed",
}
# Faults whose checks judge what the model wrote (caps and stop sequences), caught behind the
# fixed reply too: a verdict must not depend on model obedience in either direction.
MODEL_DEPENDENT_FAULTS = {
    "responses-max-output-ignored": "responses.*",
    "responses-cut-reported-completed": "responses.*",
    "chat-max-completion-tokens-ignored": "chat.*",
    "chat-length-as-stop": "chat.*",
    "chat-stop-ignored": "chat.*",
    "messages-cut-reported-end-turn": "messages.*",
    "messages-stream-cut-reported-end-turn": "messages.*",
    "messages-stop-sequence-as-end-turn": "messages.*",
    "messages-stop-sequence-leaked": "messages.*",
    "gemini-max-output-tokens-ignored": "gemini.*",
    "gemini-max-tokens-as-stop": "gemini.*",
    "gemini-stop-sequences-ignored": "gemini.*",
}


@pytest.fixture(scope="module")
def fixed_reply_run(gateway, tmp_path_factory) -> SuiteRun:
    return run_suite(gateway.behaviour_base_url(FIXED_REPLY),
                     tmp_path_factory.mktemp("fixed-reply"))


def _listed(run: SuiteRun, outcomes: set[str]) -> dict[str, str]:
    return {r["id"]: f"{r['outcome']}: {r.get('message')}" for r in run.document["results"]
            if r["outcome"] in outcomes}


def _inconclusive(run: SuiteRun) -> str:
    found = ", ".join(sorted(_listed(run, {"inconclusive"}))) or "(none)"
    return f"inconclusive against the fixed reply: {found}"


def test_exactly_the_named_checks_are_inconclusive(fixed_reply_run: SuiteRun) -> None:
    """Each inconclusive check is named above and says why in its result."""
    found = _listed(fixed_reply_run, {"inconclusive"})
    assert sorted(found) == sorted(INCONCLUSIVE_WITH_FIXED_REPLY), found
    reasons = {r["id"]: r.get("message") for r in fixed_reply_run.document["results"]
               if r["id"] in found}
    assert {i: why for i, why in reasons.items() if not (why or "").strip()} == {}


@pytest.mark.parametrize("fault", sorted(MODEL_DEPENDENT_FAULTS))
def test_a_fault_is_caught_behind_the_fixed_reply(fault: str, fixed_reply_run: SuiteRun,
                                                  gateway, tmp_path: Path) -> None:
    """The fault changes exactly its declared checks, against the fixed-reply baseline."""
    declared = FAULTS[fault]
    base = f"{gateway.root_url}/behaviour/{FIXED_REPLY}/fault/{fault}/v1"
    run = run_suite(base, tmp_path, "--select", MODEL_DEPENDENT_FAULTS[fault])
    outcomes = run.outcomes()
    assert {c: outcomes.get(c) for c in declared.trips} == \
        {c: expected_outcome(fault, c) for c in declared.trips}, _listed(run, {"fail", "warn"})
    baseline = fixed_reply_run.outcomes()
    changed = {c: o for c, o in outcomes.items() if o != baseline[c]}
    assert set(changed) == {*declared.trips, *declared.collateral}, changed
    assert run.exit_code == 1


def test_every_check_ran(fixed_reply_run: SuiteRun) -> None:
    assert set(fixed_reply_run.outcomes()) == set(CHECKS), fixed_reply_run.document


def test_no_failure_and_no_error(fixed_reply_run: SuiteRun) -> None:
    assert _listed(fixed_reply_run, {"fail", "error"}) == {}, _inconclusive(fixed_reply_run)


def test_no_warning(fixed_reply_run: SuiteRun) -> None:
    assert _listed(fixed_reply_run, {"warn"}) == {}, _inconclusive(fixed_reply_run)


def test_conformant(fixed_reply_run: SuiteRun) -> None:
    results: list[dict[str, Any]] = fixed_reply_run.document["results"]
    assert fixed_reply_run.exit_code == 0, _listed(fixed_reply_run, {"fail", "error"}) or results


def test_supported_features_stay_supported(fixed_reply_run: SuiteRun) -> None:
    """A feature the gateway serves is not "not supported" (nor the check "skipped") because the
    model ignored the prompt: only the clean gateway's own declines end that way."""
    unexpected = {check_id: found for check_id, found in fixed_reply_run.outcomes().items()
                  if found not in ALLOWED
                  and not (found == "not_supported" and check_id in DECLINED_BY_REFERENCE)}
    details = _listed(fixed_reply_run, {"not_supported", "skipped"})
    assert {i: details.get(i, found) for i, found in unexpected.items()} == {}, \
        _inconclusive(fixed_reply_run)
