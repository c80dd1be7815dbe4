"""index.html as a vendor opens it, in headless Chromium (issue 13): a run against the
reference gateway with a streaming fault (the stream loses its last delta)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.gateway.server import EmbeddedGateway
from tests.browser.harness import Browser, run_in_subprocess
from tests.suite.harness import API_KEY, SuiteRun

NARROW = 420  # a phone held upright: nothing may scroll sideways


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    with EmbeddedGateway(api_key=API_KEY) as gateway:
        run = run_in_subprocess(gateway.fault_base_url("chat-stream-text-differs"),
                                tmp_path_factory.mktemp("report"))
    assert run.document["summary"]["verdict"] == "non-conformant"
    return run


def _first_problem(run: SuiteRun) -> tuple[dict, dict]:
    """The first failure the report lists, and the exchange that shows it (listed first)."""
    first = next(r for r in sorted(run.document["results"], key=lambda r: r["id"])
                 if r["outcome"] == "fail")
    return first, run.document["exchanges"][first["exchanges"][0]]


@pytest.mark.parametrize("width", [1280, NARROW])
def test_the_verdict_and_the_first_failures_evidence_show_at_once(
    browser: Browser, faulty_run: SuiteRun, width: int, tmp_path: Path
) -> None:
    problem, exchange = _first_problem(faulty_run)
    assert json.loads(exchange["request"]["body"]).get("stream") is True  # its stream
    with browser.open(faulty_run.out_dir / "index.html", width=width) as page:
        page.screenshot(tmp_path / f"index-{width}.png")
        assert page.console_errors == []
        for text in ("non-conformant", problem["id"], exchange["id"], "reproduce"):
            assert page.visible_without_interaction(text), f"{text!r} not in view at {width} px"
        overflow, elements = page.horizontal_overflow()
        assert overflow == 0, f"the page scrolls {overflow} px sideways at {width} px: {elements}"


def test_the_filters_show_one_outcome_then_one_api(browser: Browser, faulty_run: SuiteRun) -> None:
    counts = faulty_run.document["summary"]["counts"]
    with browser.open(faulty_run.out_dir / "index.html", width=NARROW) as page:
        rows = page.page.locator("tr.o-pass")
        problems = page.page.locator("#problems ~ .problem")
        assert problems.first.is_visible()
        page.page.check("#show-pass")
        assert problems.first.is_hidden() and rows.first.is_visible()
        assert page.page.locator("tr.o:visible").count() == counts["pass"]
        page.page.check("#api-anthropic-only")  # the pass rows of the other API go too
        assert page.page.locator("tr.o-pass.o:visible").count() == sum(
            1 for r in faulty_run.document["results"]
            if r["outcome"] == "pass" and r["api"] == "anthropic") > 0
        overflow, elements = page.horizontal_overflow()
        assert overflow == 0, elements
