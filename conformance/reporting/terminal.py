"""Terminal output: the progress letters and the end-of-run summary, rendered from results."""

from __future__ import annotations

import io
import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from conformance import diff
from conformance.check import Cause, Check, Outcome
from conformance.expectations import ORDER, headline, marked
from conformance.results import as_current

# pytest_report_teststatus answers: (category, progress letter, verbose word).
STATUS: dict[str, tuple[str, str, Any]] = {
    Outcome.PASS: ("passed", ".", "PASS"),
    Outcome.WARN: ("warn", "W", ("WARN", {"yellow": True})),
    Outcome.FAIL: ("failed", "F", ("FAIL", {"red": True})),
    Outcome.ERROR: ("error", "E", ("ERROR", {"red": True})),
    Outcome.NOT_SUPPORTED: ("not supported", "n", ("NOT SUPPORTED", {"cyan": True})),
    Outcome.INCONCLUSIVE: ("inconclusive", "i", ("INCONCLUSIVE", {"purple": True})),
    Outcome.SKIPPED: ("skipped", "s", "SKIPPED"),
    Outcome.NOT_RUN: ("not run", "-", "NOT RUN"),
}
# ... and of a check whose outcome the run's expectations name (conformance.expectations).
EXPECTED = ("expected", "x", ("EXPECTED", {"yellow": True}))
_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "error": "red",
          "not_supported": "cyan", "inconclusive": "magenta", "skipped": "dim",
          "not_run": "dim"}
_VERDICT_STYLE = {"conformant": "bold green", "conformant-with-warnings": "bold yellow",
                  "non-conformant": "bold red", "incomplete": "bold red",
                  "not-judged": "bold red"}
# Outcomes listed one line each under the table (passes and skips are only counted).
_LISTED = ("fail", "error", "warn", "inconclusive")


def failure_text(
    meta: Check, outcome: Outcome, message: str, expected: Any, actual: Any,
    evidence: list[dict[str, Any]], root_cause: Cause | None = None,
) -> str:
    """The concise failure shown by pytest instead of a traceback."""
    lines = [f"[{meta.level}] {meta.id}: {outcome.value}", f"  requirement: {meta.requirement}",
             f"  {message}"]
    if root_cause is not None:
        lines.append(f"  root cause: {root_cause.text} (exchange {root_cause.exchange})")
    if expected is not None:
        lines.append(f"  expected: {_short(expected)}")
    if actual is not None:
        lines.append(f"  actual:   {_short(actual)}")
    lines.append(f"  spec: {meta.spec} ({meta.source})")
    if meta.fix:
        lines.append(f"  how to fix: {meta.fix}")
    lines += [f"  reproduce: {e['curl'][:600]}" for e in evidence[:2]]
    return "\n".join(lines)


def render(document: dict[str, Any], color: bool) -> str:
    document = as_current(document)
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, width=130, highlight=False)
    summary = document["summary"]
    console.rule("conformance summary")
    console.print(_overview(document))
    outcomes = {r["id"]: r["outcome"] for r in document["results"]}
    causes = summary.get("root_causes", [])  # a results.json of 1.1 has none
    for cause in causes:  # one line per cause, then its checks by outcome: not one line each
        console.print(f"[bold]{'ROOT CAUSE':12}[/] {escape(cause['title'])}", markup=True,
                      soft_wrap=True)
        for outcome in _LISTED:
            ids = [i for i in cause["checks"] if outcomes.get(i) == outcome]
            if ids:
                console.print(f"{'':12} [{_STYLE[outcome]}]{outcome}[/]: {', '.join(ids)}",
                              markup=True, soft_wrap=True)
    grouped = {check_id for cause in causes for check_id in cause["checks"]}
    # the expected ones are listed apart (_expectations): what is listed here is new
    expected = {r["id"] for r in document["results"] if marked(r) == "expected"}
    for result in sorted(document["results"], key=lambda r: _LISTED.index(r["outcome"])
                         if r["outcome"] in _LISTED else len(_LISTED)):
        if result["outcome"] in _LISTED and result["id"] not in grouped | expected:
            style = _STYLE[result["outcome"]]
            console.print(f"[{style}]{result['outcome'].upper():12}[/] [{result['level']}] "
                          f"{result['id']}: {escape(result['message'])}", markup=True,
                          soft_wrap=True)
    apis = summary["apis"]
    for api, block in apis.items():  # each API's endpoints in scope (and, of several, its cause)
        scope = ", ".join(f"{e}: {data['scope']}" for e, data in block["endpoints"].items())
        why = f" ({block['verdict']}: {block['cause']})" if len(apis) > 1 and block["cause"] else ""
        console.print(f"{api} endpoints: {scope}{why}", markup=False, soft_wrap=True)
    tokenizer = tokenizer_line(document["run"])
    if tokenizer:
        console.print(f"tokenizer: {tokenizer}", markup=False)
    known = summary.get("expectations")
    if known:
        _expectations(console, document["results"], known)
    if summary.get("changes"):  # a run recorded in the history, with a previous comparable run
        console.print(changes_line(summary["changes"]), markup=False, soft_wrap=True)
    verdict = summary["verdict"]
    stats = document["stats"]
    if summary["cause"]:
        console.print(f"[{_VERDICT_STYLE.get(verdict, 'bold')}]{verdict}:[/] {summary['cause']}")
    console.print(
        f"[{_VERDICT_STYLE.get(verdict, 'bold')}]verdict: {verdict}"
        f"{', ' + escape(headline(known)) if known else ''}[/]  "
        f"requests: {stats['requests']}  tokens: {stats['input_tokens']} in / "
        f"{stats['output_tokens']} out  report: {document.get('__dir__', '?')}/index.html"
    )
    return buffer.getvalue()


def _expectations(console: Console, results: list[dict[str, Any]],
                  known: dict[str, Any]) -> None:
    """The expected outcomes, one line per outcome, apart from the new problems listed above;
    each stale expectation; and the verdict the exit code follows."""
    for outcome in ORDER:
        ids = [r["id"] for r in results if marked(r) == "expected" and r["outcome"] == outcome]
        if ids:
            console.print(f"[dim]{'EXPECTED':12}[/] [{_STYLE[outcome]}]{outcome}[/]: "
                          f"{', '.join(ids)}", markup=True, soft_wrap=True)
    for entry in known["stale"]:
        why = "; ".join(entry[k] for k in ("reason", "link") if entry.get(k))
        console.print(f"[bold yellow]{'STALE':12}[/] {escape(entry['check'])}: "
                      f"{escape(entry['why'])}{escape(f' ({why})') if why else ''}",
                      markup=True, soft_wrap=True)
    rest = known["verdict"] + (f": {known['cause']}" if known["cause"] else "")
    strict = ", strict" if known["strict"] else ""
    console.print(f"expectations ({known['file']}{strict}): {headline(known)}; apart from the "
                  f"expected: {rest}", markup=False, soft_wrap=True)


def changes_line(changes: dict[str, Any]) -> str:
    """What changed since the previous comparable run, naming the checks that regressed."""
    worse = [f"{c['id']} ({c['before']} -> {c['after']})" for c in changes["regressions"]]
    worse += [f"{e['api']} {e['endpoint']} not served" for e in changes["newly_not_served"]]
    return (f"since history run {changes['since']}: {diff.headline(changes)}"
            + (f": {', '.join(worse)}" if worse else ""))


def tokenizer_line(run: dict[str, Any]) -> str:
    """The run's tokenizer and why, in one line ("" for a document that does not record it)."""
    found = run.get("tokenizer")
    if not isinstance(found, dict):
        return ""
    return f"{found.get('encoding') or 'none'} ({found.get('reason', '')})"


def _overview(document: dict[str, Any]) -> Table:
    """Counts by endpoint and level, under a heading row for each API (a section each)."""
    table = Table(show_header=True, header_style="bold")
    table.add_column("api / endpoint", no_wrap=True)
    table.add_column("level")
    for outcome in Outcome:
        table.add_column(outcome.value, justify="right")
    table.add_column("score", justify="right")
    for api, block in document["summary"]["apis"].items():
        table.add_row(f"[bold]{escape(api)}[/] [{_VERDICT_STYLE.get(block['verdict'], 'bold')}]"
                      f"{block['verdict']}[/]")
        for endpoint, data in block["endpoints"].items():
            for level, numbers in data["levels"].items():
                counts = numbers["counts"]
                score = "-" if numbers["score"] is None else f"{numbers['score']:.0%}"
                table.add_row(f"  {escape(endpoint)}", level,
                              *[_cell(o.value, counts[o.value]) for o in Outcome], score)
        table.add_section()
    return table


def _cell(outcome: str, count: int) -> str:
    return f"[{_STYLE[outcome]}]{count}[/]" if count else "0"


def _short(value: Any, limit: int = 800) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[: limit - 3] + "..."
