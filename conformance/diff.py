"""`conformance diff A B`: what changed between two runs, check by check.

A and B are results.json files (or run directories) or run ids of the history database. The
comparison reads only what a results document holds, so a document and a history entry compare
alike: `Snapshot` is what both give.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from conformance.config import ConfigError
from conformance.redact import is_credential_header
from conformance.results import as_current, load_document

# Better to worse: a check that moves down this ladder regressed, one that moves up was fixed.
# Declining an optional feature, having nothing to judge and not running sit between a verdict
# that holds and one that does not.
RANK = {"pass": 3, "warn": 2, "not_supported": 1, "inconclusive": 1, "skipped": 1, "not_run": 1,
        "fail": 0, "error": 0}

EXIT_REGRESSION = 1
EMBEDDED = "embedded reference gateway"
# Query parameters that carry a key at some gateways (Azure `code`, SAS `sig`, Google `key`).
_SECRET_PARAMS = frozenset({"key", "code", "sig", "signature"})


@dataclass(frozen=True)
class Snapshot:
    """One run as the comparison sees it."""

    label: str  # where it came from: a path, or "history run 3"
    target: str
    started_at: str
    verdict: str
    # check id -> {"api", "endpoint", "level", "outcome", "message"}
    results: dict[str, dict[str, str]]
    # (api, endpoint title) -> "judged" | "not served" | "not judged"
    scope: dict[tuple[str, str], str] = field(default_factory=dict)

    def describe(self) -> dict[str, str]:
        return {"label": self.label, "target": self.target, "started_at": self.started_at,
                "verdict": self.verdict}


def target_name(run: dict[str, Any]) -> str:
    """The target a run is filed under: its base URL without user info or key-carrying query
    parameters (nothing secret goes into the database), or the embedded gateway's name."""
    if run["embedded_gateway"]:
        return EMBEDDED
    parts = urlsplit(run["target"])
    query = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True)
             if not (is_credential_header(name) or name.lower() in _SECRET_PARAMS)]
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path.rstrip("/"),
                       urlencode(query), ""))


def from_document(document: dict[str, Any], label: str) -> Snapshot:
    document = as_current(document)
    run = document["run"]
    return Snapshot(
        label=label, target=target_name(run), started_at=run["started_at"],
        verdict=document["summary"]["verdict"],
        results={r["id"]: {"api": r["api"], "endpoint": r["endpoint"], "level": r["level"],
                           "outcome": r["outcome"], "message": r["message"]}
                 for r in document["results"]},
        scope={(api, endpoint): data["scope"]
               for api, block in document["summary"]["apis"].items()
               for endpoint, data in block["endpoints"].items()},
    )


def compare(before: Snapshot, after: Snapshot) -> dict[str, Any]:
    """Regressions and fixes check by check, endpoints newly not served, and the checks only one
    side ran. The checks of an endpoint that is no longer served are not listed one by one: the
    endpoint is, with their number (one cause, one line)."""
    gone = {key for key, state in after.scope.items()
            if state == "not served" and before.scope.get(key, "not served") != "not served"}
    changes: dict[str, Any] = {"regressions": [], "fixes": [], "changed": []}
    for check_id in sorted(before.results.keys() & after.results.keys()):
        old, new = before.results[check_id], after.results[check_id]
        if old["outcome"] == new["outcome"] or (new["api"], new["endpoint"]) in gone:
            continue
        step = RANK[new["outcome"]] - RANK[old["outcome"]]
        kind = "regressions" if step < 0 else "fixes" if step > 0 else "changed"
        changes[kind].append({"id": check_id, "api": new["api"], "endpoint": new["endpoint"],
                              "level": new["level"], "before": old["outcome"],
                              "after": new["outcome"], "message": new["message"]})
    changes["newly_not_served"] = [
        {"api": api, "endpoint": endpoint, "before": before.scope[(api, endpoint)],
         "checks": sum(1 for r in after.results.values()
                       if (r["api"], r["endpoint"]) == (api, endpoint))}
        for api, endpoint in sorted(gone)]
    changes["added"] = sorted(after.results.keys() - before.results.keys())
    changes["removed"] = sorted(before.results.keys() - after.results.keys())
    changes["compared"] = len(before.results.keys() & after.results.keys())
    return changes


def regressed(changes: dict[str, Any]) -> bool:
    return bool(changes["regressions"] or changes["newly_not_served"])


def headline(changes: dict[str, Any]) -> str:
    """One line: "1 regression, 2 fixes, 0 endpoints newly not served"."""
    return (f"{_count(len(changes['regressions']), 'regression')}, "
            f"{_count(len(changes['fixes']), 'fix', 'fixes')}, "
            f"{_count(len(changes['newly_not_served']), 'endpoint')} newly not served")


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


# --- the command -----------------------------------------------------------------------------

def run(before: str, after: str, history: Path | None, output_format: str) -> int:
    """Print the comparison of two runs; exit 1 when B regressed from A."""
    a, b = load(before, history), load(after, history)
    changes = compare(a, b)
    print(RENDERERS[output_format](a, b, changes), end="")
    return EXIT_REGRESSION if regressed(changes) else 0


_RUN_ID = re.compile(r"#?(\d+)")


def load(ref: str, history: Path | None) -> Snapshot:
    """A results.json, a run directory holding one, or a run id of the history database."""
    path = Path(ref)
    if path.is_dir():
        path = path / "results.json"
    if path.is_file():
        try:
            return from_document(load_document(path), str(path))
        except (ValueError, KeyError) as exc:
            raise ConfigError(f"{path}: not a readable results.json ({exc})") from None
    number = _RUN_ID.fullmatch(ref)
    if number is None:
        raise ConfigError(f"{ref}: neither a results.json, a run directory nor a history run id")
    from conformance import history as store  # the database only when an id names a run

    return store.snapshot(history, int(number.group(1)))


def text(a: Snapshot, b: Snapshot, changes: dict[str, Any]) -> str:
    lines = [f"A: {_side(a)}", f"B: {_side(b)}"]
    lines += [f"REGRESSION  [{c['level']}] {c['id']}: {c['before']} -> {c['after']}"
              + (f"  ({c['message']})" if c["message"] else "") for c in changes["regressions"]]
    lines += [f"NOT SERVED  {e['api']} {e['endpoint']} (was {e['before']}; "
              f"{_count(e['checks'], 'check')})" for e in changes["newly_not_served"]]
    lines += [f"FIX         [{c['level']}] {c['id']}: {c['before']} -> {c['after']}"
              for c in changes["fixes"]]
    lines += [f"CHANGED     [{c['level']}] {c['id']}: {c['before']} -> {c['after']}"
              for c in changes["changed"]]
    lines += _only_one_side(changes)
    lines.append(f"{headline(changes)} ({changes['compared']} checks compared)")
    return "\n".join(lines) + "\n"


def _side(side: Snapshot) -> str:
    return f"{side.label} ({side.target}, {side.started_at}, {side.verdict})"


def _only_one_side(changes: dict[str, Any]) -> list[str]:
    lines = []
    if changes["added"]:
        lines.append(f"only in B: {', '.join(changes['added'])}")
    if changes["removed"]:
        lines.append(f"only in A: {', '.join(changes['removed'])}")
    return lines


def markdown(a: Snapshot, b: Snapshot, changes: dict[str, Any]) -> str:
    lines = [f"## Conformance diff: {headline(changes)}", "",
             f"- **A**: {_side(a)}", f"- **B**: {_side(b)}", ""]
    for kind, title in (("regressions", "Regressions"), ("fixes", "Fixes"),
                        ("changed", "Other changes")):
        if changes[kind]:
            lines += [f"### {title}", "", "| check | level | endpoint | A | B | message |",
                      "|---|---|---|---|---|---|"]
            lines += [f"| `{c['id']}` | {c['level']} | {c['api']} `{c['endpoint']}` "
                      f"| {c['before']} | {c['after']} | {_cell(c['message'])} |"
                      for c in changes[kind]]
            lines.append("")
    if changes["newly_not_served"]:
        lines += ["### Newly not served", ""]
        lines += [f"- {e['api']} `{e['endpoint']}` (was {e['before']}; "
                  f"{_count(e['checks'], 'check')})" for e in changes["newly_not_served"]]
        lines.append("")
    lines += [f"{line}  " for line in _only_one_side(changes)]
    lines.append(f"{changes['compared']} checks compared.")
    return "\n".join(lines) + "\n"


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def as_json(a: Snapshot, b: Snapshot, changes: dict[str, Any]) -> str:
    document = {"a": a.describe(), "b": b.describe(), "regressed": regressed(changes), **changes}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


RENDERERS = {"text": text, "markdown": markdown, "json": as_json}
