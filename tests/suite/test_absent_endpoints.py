"""A gateway that lacks an endpoint gets `not_supported` for it, not a wall of failures."""

from __future__ import annotations

from pathlib import Path

from tests.suite.harness import run_suite


def test_a_base_url_that_serves_nothing_is_not_a_failure(gateway, tmp_path: Path, capfd) -> None:
    # Under an unknown prefix the reference gateway answers every route with a 404 envelope.
    run = run_suite(gateway.root_url + "/nowhere/v1", tmp_path)
    outcomes = set(run.outcomes().values())
    assert outcomes <= {"not_supported", "skipped"}, run.document["results"]
    assert "not_supported" in outcomes
    assert "Is the base URL right?" in capfd.readouterr().out
