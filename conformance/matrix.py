"""The matrix: several runs side by side, as one self-contained HTML page and its Markdown twin.

Rows are checks grouped by API family, then endpoint; columns are runs (a target and its models);
each cell is the check's outcome in that run, linking to that run's own evidence in its
index.html. Like every renderer it reads results.json documents and nothing else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.config import ConfigError
from conformance.expectations import marked
from conformance.reporting.html import PROBLEMS, _environment, anchor
from conformance.results import as_current, load_document, sections

HTML_NAME, MARKDOWN_NAME = "matrix.html", "matrix.md"


@dataclass(frozen=True)
class Column:
    """One run: its label (unique within the matrix) and where its report lies."""

    label: str
    document: dict[str, Any]
    report: str  # its index.html, relative to the matrix's directory

    @property
    def run(self) -> dict[str, Any]:
        return self.document["run"]

    @property
    def summary(self) -> dict[str, Any]:
        return self.document["summary"]


@dataclass(frozen=True)
class Cell:
    outcome: str
    expectation: str | None  # expected, unexpected or stale: a run given an expectations file
    link: str


def results_path(path: Path) -> Path:
    """A run's results.json: the path itself, or the run directory holding it."""
    found = path / "results.json" if path.is_dir() else path
    if not found.is_file():
        raise ConfigError(f"{path}: no results.json there")
    return found


def load_columns(paths: list[Path], out_dir: Path) -> list[Column]:
    """The runs at `paths`, each labelled by its target and models; a label two runs share
    gets the run's start time (and then its position) so that no two columns read the same."""
    loaded = []
    for path in paths:
        found = results_path(path)
        try:
            document = as_current(load_document(found))
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"{found}: not a readable results document ({exc})") from None
        report = os.path.relpath(found.parent / "index.html", out_dir.resolve())
        loaded.append((document, Path(report).as_posix()))
    labels = _distinct([_label(d["run"]) for d, _ in loaded],
                       [d["run"]["started_at"] for d, _ in loaded])
    return [Column(label, d, report) for label, (d, report) in zip(labels, loaded, strict=True)]


def _label(run: dict[str, Any]) -> str:
    """`target · model`, a model per API family when the run names several (results 1.4)."""
    models = _models(run)
    named = ", ".join(f"{api} {m}" if api and len(models) > 1 else m for api, m in models.items())
    return f"{run.get('target_name') or run['target']} · {named}"


def _distinct(labels: list[str], started: list[str]) -> list[str]:
    def repeated(items: list[str]) -> set[str]:
        return {x for x in items if items.count(x) > 1}

    same = repeated(labels)
    labels = [f"{label} @ {at}" if label in same else label
              for label, at in zip(labels, started, strict=True)]
    same = repeated(labels)
    return [f"{label} #{n}" if label in same else label for n, label in enumerate(labels, 1)]


def rows(columns: list[Column]) -> dict[str, dict[str, dict[str, list[Cell | None]]]]:
    """API -> endpoint -> check id -> one cell per column (None: the run had no such check), in
    the order the runs list them; checks sorted by id within an endpoint."""
    found: dict[str, dict[str, dict[str, list[Cell | None]]]] = {}
    for index, column in enumerate(columns):
        for api, endpoints in sections(column.document).items():
            for endpoint, results in endpoints.items():
                checks = found.setdefault(api, {}).setdefault(endpoint, {})
                for result in results:
                    cells = checks.setdefault(result["id"], [None] * len(columns))
                    cells[index] = _cell(result, column.report)
    return {api: {endpoint: dict(sorted(checks.items())) for endpoint, checks in eps.items()}
            for api, eps in found.items()}


def _cell(result: dict[str, Any], report: str) -> Cell:
    # The report gives a problem, and an expected outcome, its own entry (id = check id); any
    # other check is a row of its endpoint's table, whose heading carries the anchor.
    status = marked(result)
    own = result["outcome"] in PROBLEMS or status == "expected"
    target = result["id"] if own else anchor(result["api"], result["endpoint"])
    return Cell(result["outcome"], status, f"{report}#{target}")


def render_html(columns: list[Column]) -> str:
    return _environment().get_template("matrix.html.j2").render(
        columns=columns, rows=rows(columns), apis=_titles(columns))


def _titles(columns: list[Column]) -> dict[str, str]:
    return {api: block["title"] for column in columns
            for api, block in column.summary["apis"].items()}


def render_markdown(columns: list[Column]) -> str:
    lines = ["# Conformance matrix", "",
             "| run | target | models | verdict | score | report |", "|---|---|---|---|---|---|"]
    for n, column in enumerate(columns, 1):
        models = ", ".join(f"{a} `{m}`" for a, m in _models(column.run).items())
        lines.append(f"| {n}. {_md(column.label)} | `{column.run['target']}` | {models} | "
                     f"**{column.summary['verdict']}** | {_percent(column.summary['score'])} | "
                     f"[index.html]({column.report}) |")
    titles = _titles(columns)
    header = " | ".join(str(n) for n in range(1, len(columns) + 1))
    for api, endpoints in rows(columns).items():
        for endpoint, checks in endpoints.items():
            lines += ["", f"## {titles.get(api, api)} (`{api}`): {endpoint}", "",
                      f"| check | {header} |", "|---" * (len(columns) + 1) + "|"]
            for check_id, cells in checks.items():
                shown = " | ".join(_md_cell(c) for c in cells)
                lines.append(f"| `{check_id}` | {shown} |")
    return "\n".join(lines) + "\n"


def _models(run: dict[str, Any]) -> dict[str, str]:
    return run.get("models") or {"": run["model"]}


def _md_cell(cell: Cell | None) -> str:
    if cell is None:
        return "–"
    text = cell.outcome.replace("_", " ")
    if cell.expectation:
        text += f" ({cell.expectation})"
    return f"[{text}]({cell.link})"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def write(paths: list[Path], out_dir: Path) -> tuple[Path, Path]:
    """Write matrix.html and matrix.md into `out_dir` (created): the two matrix files."""
    if not paths:
        raise ConfigError("matrix: name at least one results.json or run directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    columns = load_columns(paths, out_dir)
    page, markdown = out_dir / HTML_NAME, out_dir / MARKDOWN_NAME
    page.write_text(render_html(columns), encoding="utf-8")
    markdown.write_text(render_markdown(columns), encoding="utf-8")
    return page, markdown


def command(paths: list[Path], out_dir: Path) -> int:
    """`conformance matrix RESULTS... [--output DIR]`."""
    page, markdown = write(paths, out_dir)
    print(f"{page}\n{markdown}")
    return 0
