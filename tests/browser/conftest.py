"""One headless Chromium per page-test module (tests/browser/harness.py).

Module scope, not session: Playwright keeps an event loop running in the test's thread while it
is open, and a suite run in the same process (another module on the same xdist worker) needs
to start its own; pytest closes a module's fixtures before the next module's tests run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.harness import Browser, launch


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch() as opened:
        yield opened
