"""Opens a local HTML file in headless Chromium, as a reader would, and says what they see.

Debian's Chromium (`/usr/bin/chromium`, or `$CHROMIUM`) is driven through Playwright's Python
package, which is pointed at it: nothing downloads a browser. A report page must be
self-contained, so every request that is not for a `file:` URL is refused and counted as an
error. Reused by every page test (the report, the matrix): `Browser.open(path, width)`, and
`run_in_subprocess` to make the pages: Playwright's synchronous API keeps an event loop running
in the test's thread, where a run of the suite in the same process cannot start its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.suite.harness import API_KEY, SuiteRun

HEIGHT = 900  # the first viewport: what a reader sees before scrolling

# Where `text` is drawn, and whether a reader sees it there without scrolling or clicking: in
# the viewport, with a size (a closed <details> draws nothing), not hidden by CSS.
_FIND_TEXT = """(text) => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(text);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + text.length);
    const box = range.getBoundingClientRect();
    const shown = node.parentElement.checkVisibility(
      {visibilityProperty: true, opacityProperty: true});
    if (shown && box.width > 0 && box.height > 0 && box.bottom > 0 && box.right > 0
        && box.top < window.innerHeight && box.left < window.innerWidth) return true;
  }
  return false;
}"""

# How far the page scrolls past the viewport's right edge and, when it does, the outermost
# elements that reach past it (a table inside a box that scrolls itself reaches past it too).
_OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const overflow = document.documentElement.scrollWidth - width;
  const wide = overflow <= 0 ? [] : [...document.body.querySelectorAll('*')].filter(
    e => e.getBoundingClientRect().right > width + 0.5
      && !(e.parentElement && e.parentElement.getBoundingClientRect().right > width + 0.5));
  return {overflow, elements: wide.slice(0, 5).map(e => e.tagName.toLowerCase()
    + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''))};
}"""


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium")


@dataclass
class Page:
    """One page as loaded at one viewport size."""

    page: Any  # playwright.sync_api.Page
    errors: list[str] = field(default_factory=list)

    @property
    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and refused external requests, in order."""
        return list(self.errors)

    def visible_without_interaction(self, text: str) -> bool:
        """True when `text` is drawn inside the first viewport, as loaded (no click, no
        scroll)."""
        return bool(self.page.evaluate(_FIND_TEXT, text))

    def horizontal_overflow(self) -> tuple[int, list[str]]:
        """CSS pixels the page scrolls sideways (0: none), and the elements that stick out."""
        found = self.page.evaluate(_OVERFLOW)
        return int(found["overflow"]), found["elements"]

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


class Browser:
    """A headless Chromium that opens local files; one per test session."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser

    @contextmanager
    def open(self, path: Path, width: int = 1280, height: int = HEIGHT) -> Iterator[Page]:
        context = self.browser.new_context(viewport={"width": width, "height": height})
        page = Page(context.new_page())
        page.page.on("console", lambda message: message.type == "error"
                     and page.errors.append(f"console: {message.text}"))
        page.page.on("pageerror", lambda error: page.errors.append(f"exception: {error}"))
        page.page.route("**/*", lambda route: _local_only(route, page.errors))
        try:
            page.page.goto(path.resolve().as_uri(), wait_until="load")
            yield page
        finally:
            context.close()


def _local_only(route: Any, errors: list[str]) -> None:
    url = route.request.url
    if url.startswith(("file:", "data:", "about:")):
        route.continue_()
    else:
        errors.append(f"external request refused: {url}")
        route.abort()


@contextmanager
def launch() -> Iterator[Browser]:
    """Start Debian's Chromium headless; skip (fail under CI) when it or Playwright is
    missing: `.ci/run` installs Chromium, the test extras Playwright."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        executable = None
    if executable is None:
        reason = ("headless Chromium is not available (apt-get install chromium; "
                  "pip install playwright)")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield Browser(browser)
        finally:
            browser.close()


def run_in_subprocess(base_url: str, out_dir: Path, *args: str) -> SuiteRun:
    """`conformance run` against `base_url` in a process of its own, as a user runs it (its
    history kept beside `out_dir`, not in the checkout's reports/)."""
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--base-url", base_url, "--api-key",
         API_KEY, "--output", str(out_dir), "--history", str(out_dir.parent / "history.sqlite"),
         *args],
        capture_output=True, text=True, timeout=600, check=False)
    document = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))
    return SuiteRun(done.returncode, document, out_dir)
