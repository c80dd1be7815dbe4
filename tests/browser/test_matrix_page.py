"""matrix.html as a reader opens it, in headless Chromium (issue 13): the runs of the clean
reference gateway and two of its faults, three columns."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.gateway.server import EmbeddedGateway
from tests.browser.harness import Browser
from tests.browser.test_report_page import NARROW
from tests.suite.harness import API_KEY
from tests.suite.test_matrix import FAULTS, KEY_VARIABLE, targets_run


@pytest.fixture(scope="module")
def matrix_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("matrix")
    with EmbeddedGateway(api_key=API_KEY) as gateway:
        # in a process of its own: the run's event loop cannot start inside Playwright's
        subprocess.run([sys.executable, "-m", "conformance", *targets_run(gateway, root)],
                       env={**os.environ, KEY_VARIABLE: API_KEY}, capture_output=True,
                       timeout=300, check=False)
    return root / "matrix.html"


@pytest.mark.parametrize("width", [1280, NARROW])
def test_three_columns_in_view_and_no_sideways_scroll(browser: Browser, matrix_page: Path,
                                                      width: int, tmp_path: Path) -> None:
    with browser.open(matrix_page, width=width) as page:
        page.screenshot(tmp_path / f"matrix-{width}.png")
        assert page.console_errors == []
        assert page.page.locator("table").first.locator("thead th").count() == 4  # check + 3
        for text in ("clean", FAULTS[0], "non-conformant"):
            assert page.visible_without_interaction(text), f"{text!r} not in view at {width} px"
        overflow, elements = page.horizontal_overflow()
        assert overflow == 0, f"the page scrolls {overflow} px sideways at {width} px: {elements}"


def test_a_cell_opens_that_runs_evidence(browser: Browser, matrix_page: Path) -> None:
    with browser.open(matrix_page, width=NARROW) as page:
        page.page.locator(f'a.fail[href^="{FAULTS[0]}/"]').first.click()
        page.page.wait_for_load_state()
        assert page.page.url.endswith(f"/{FAULTS[0]}/index.html#chat.response.object")
        assert page.page.locator("#chat\\.response\\.object").is_visible()
        assert page.console_errors == []
