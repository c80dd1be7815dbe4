"""A gateway that lacks an endpoint gets `not_supported` for it, not a wall of failures."""

from __future__ import annotations

from pathlib import Path

from tests.suite.harness import run_suite


def test_a_base_url_that_serves_nothing_is_not_judged(gateway, tmp_path: Path, capfd) -> None:
    # Under an unknown prefix the reference gateway answers every route with a 404 envelope.
    run = run_suite(gateway.root_url + "/nowhere/v1", tmp_path)
    outcomes = set(run.outcomes().values())
    assert outcomes <= {"not_supported", "skipped"}, run.document["results"]
    assert "not_supported" in outcomes
    # Nothing judged is never conformant: a distinct exit code and a one-line cause.
    assert run.exit_code == 4
    assert run.document["summary"]["verdict"] == "not-judged"
    assert set(run.document["summary"]["scope"].values()) == {"not served"}
    assert "Is the base URL right?" in capfd.readouterr().out
