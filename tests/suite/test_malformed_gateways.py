"""A gateway that answers with malformed JSON is judged, never crashes the suite.

Every check that meets a shape it did not expect must end `fail` (MUST) or `warn` (SHOULD),
saying what it expected and what arrived; `error` is reserved for transport and harness trouble.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.suite.harness import run_suite
from tests.suite.malformed_gateway import MODES, serve


@pytest.fixture(scope="session", params=sorted(MODES))
def malformed_base_url(request: pytest.FixtureRequest) -> Iterator[str]:
    with serve(request.param) as base_url:
        yield base_url


def test_a_malformed_gateway_fails_without_harness_errors(malformed_base_url: str,
                                                          tmp_path: Path) -> None:
    run = run_suite(malformed_base_url, tmp_path, "--cases", "2")
    errors = {r["id"]: r["message"] for r in run.document["results"] if r["outcome"] == "error"}
    assert errors == {}
    assert run.exit_code == 1
