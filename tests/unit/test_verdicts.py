"""The run's verdict and exit code follow from its results alone, one meaning each."""

from __future__ import annotations

import pytest

from conformance.results import RunInfo, build_document, exit_code, validate_document

CHAT = "POST /v1/chat/completions"
RESPONSES = "POST /v1/responses"


def result(endpoint: str, outcome: str, cause: str | None = None, level: str = "MUST") -> dict:
    name = "chat" if endpoint == CHAT else "responses"
    return {"id": f"{name}.unit.{outcome.replace('_', '-')}-{len(str(cause))}",
            "endpoint": endpoint, "family": "unit", "level": level, "feature": "core",
            "observes": "x", "operation": "op", "spec": "openapi/x.yaml#/", "source": "unit",
            "requirement": "X MUST hold.", "outcome": outcome, "message": "m", "cause": cause,
            "duration": 0.0, "exchanges": [], "observed": {}, "details": {}}


def document(*results: dict, status: str = "completed", signal: str | None = None) -> dict:
    run = RunInfo(target="t", embedded=False, model="m", select=[])
    if status == "interrupted":
        run.interrupt(signal, f"interrupted by {signal}")
    doc = build_document(run, list(results), {})
    validate_document(doc)
    return doc


@pytest.mark.parametrize(("results", "verdict", "code"), [
    ([result(CHAT, "pass"), result(RESPONSES, "pass")], "conformant", 0),
    ([result(CHAT, "pass"), result(CHAT, "warn", level="SHOULD")], "conformant-with-warnings", 0),
    ([result(CHAT, "pass"), result(CHAT, "inconclusive")], "conformant", 0),
    ([result(CHAT, "pass"), result(RESPONSES, "not_supported", "absent")], "conformant", 0),
    ([result(CHAT, "pass"), result(CHAT, "fail")], "non-conformant", 1),
    ([result(CHAT, "fail"), result(CHAT, "error", "transport")], "non-conformant", 1),
    ([result(CHAT, "pass"), result(CHAT, "error", "transport")], "incomplete", 4),
    ([result(CHAT, "pass"), result(RESPONSES, "inconclusive")], "incomplete", 4),
    ([result(CHAT, "not_supported", "absent"), result(RESPONSES, "not_supported", "absent")],
     "not-judged", 4),
    ([result(CHAT, "error", "auth"), result(RESPONSES, "error", "auth")], "not-judged", 4),
    ([result(CHAT, "error", "unreachable")], "not-judged", 3),
    ([result(CHAT, "error", "model"), result(RESPONSES, "error", "model")], "not-judged", 4),
    # Only SHOULD checks judged (a gateway serving nothing but its model list): not judged.
    ([result(CHAT, "pass", level="SHOULD"), result(RESPONSES, "not_supported", "absent")],
     "not-judged", 4),
])
def test_verdict_and_exit_code(results: list[dict], verdict: str, code: int) -> None:
    doc = document(*results)
    assert (doc["summary"]["verdict"], exit_code(doc)) == (verdict, code)
    assert bool(doc["summary"]["cause"]) == (verdict != "conformant")


@pytest.mark.parametrize(("signal", "code"), [("SIGINT", 130), ("SIGTERM", 143), (None, 4)])
def test_an_interrupted_run_is_incomplete_whatever_it_found(signal: str | None, code: int) -> None:
    doc = document(result(CHAT, "pass"), result(CHAT, "not_run"), status="interrupted",
                   signal=signal)
    assert doc["summary"]["verdict"] == "incomplete"
    assert exit_code(doc) == code
    assert "1 check(s) not run" in doc["summary"]["cause"]


def test_a_check_reported_twice_keeps_one_result_the_more_severe() -> None:
    from conformance.results import add_result

    results: list[dict] = []
    add_result(results, {"nodeid": "a", "outcome": "warn"})
    add_result(results, {"nodeid": "a", "outcome": "error"})
    add_result(results, {"nodeid": "a", "outcome": "pass"})
    add_result(results, {"nodeid": "b", "outcome": "pass"})
    assert results == [{"nodeid": "a", "outcome": "error"}, {"nodeid": "b", "outcome": "pass"}]
