"""The HTML report: one self-contained file rendered from results.json with a Jinja template."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from conformance.expectations import headline, marked
from conformance.redact import Redactor
from conformance.results import as_current, sections

PROBLEMS = ("fail", "error", "warn")
UNJUDGED = ("inconclusive", "not_run")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("conformance.reporting", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pretty"] = pretty
    env.filters["breakable"] = breakable
    env.filters["percent"] = lambda v: "–" if v is None else f"{v:.0%}"
    env.globals["anchor"] = anchor
    return env


def anchor(*parts: str) -> str:
    """An HTML id for an API or one of its endpoints: `openai-post-v1-chat-completions`."""
    return re.sub(r"[^a-z0-9]+", "-", " ".join(parts).lower()).strip("-")


def breakable(check_id: str) -> Markup:
    """A check id that may wrap after each dot (in a narrow table column), not inside a word."""
    return Markup(".<wbr>").join(escape(part) for part in check_id.split("."))


def pretty(value: Any) -> str:
    """Indented JSON for JSON-looking text or values; lines of text (transcripts) one per line."""
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, indent=2, ensure_ascii=False)


def render(document: dict[str, Any]) -> str:
    document = as_current(document)
    results = document["results"]
    # expected outcomes (a run given expectations) are listed apart: the problems are the new ones
    expected = [r for r in results if marked(r) == "expected"]
    problems = sorted((r for r in results if r["outcome"] in PROBLEMS and marked(r) != "expected"),
                      key=lambda r: (PROBLEMS.index(r["outcome"]), r["id"]))
    known = document["summary"].get("expectations")
    causes = document["summary"].get("root_causes", [])  # a results.json of 1.1 has none
    return _environment().get_template("report.html.j2").render(
        doc=document,
        run=document["run"],
        summary=document["summary"],
        stats=document["stats"],
        causes=causes,
        # each cause's anchor, by its text: a grouped problem links to its cause
        cause_anchors={c["cause"]: f"cause-{n}" for n, c in enumerate(causes, start=1)},
        outcomes={r["id"]: r["outcome"] for r in results},
        problems=problems,
        expected=expected,
        known=known,
        expectations_line=headline(known) if known else "",
        unjudged=[r for r in results if r["outcome"] in UNJUDGED],
        apis=document["summary"]["apis"],
        sections={api: {endpoint: _by_group(mine) for endpoint, mine in endpoints.items()}
                  for api, endpoints in sections(document).items()},
        exchanges=document["exchanges"],
    )


def _by_group(results: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """One endpoint's results by check group (`family`: the second part of the id)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        groups.setdefault(result["family"], []).append(result)
    return dict(sorted(groups.items()))


def write(document: dict[str, Any], path: Path, redactor: Redactor) -> None:
    path.write_text(redactor.text(render(document)), encoding="utf-8")
