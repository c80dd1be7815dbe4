"""Reports are renderers of results.json: JUnit XML, a self-contained HTML page, the terminal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conformance.redact import Redactor
from conformance.reporting import html, junit
from conformance.results import write_document

DEFAULT_ROOT = Path("reports")


def output_dir(output: Path | None) -> Path:
    """The run's report directory, created: `output`, or reports/<UTC timestamp>/."""
    out_dir = output or DEFAULT_ROOT / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def write_reports(document: dict[str, Any], out_dir: Path, redactor: Redactor,
                  latest: bool = False) -> Path:
    """Write results.json, junit.xml and index.html into `out_dir` (and point reports/latest
    at it when `latest`)."""
    write_document(document, out_dir / "results.json", redactor)
    render_reports(document, out_dir, redactor)
    if latest:
        _point_latest(out_dir)
    return out_dir


def render_reports(document: dict[str, Any], out_dir: Path, redactor: Redactor) -> None:
    """The renderers: each needs nothing but the results document."""
    junit.write(document, out_dir / "junit.xml", redactor)
    html.write(document, out_dir / "index.html", redactor)


def _point_latest(out_dir: Path) -> None:
    latest = out_dir.parent / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(out_dir.name, target_is_directory=True)
