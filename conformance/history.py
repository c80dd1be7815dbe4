"""Run history: every run's results recorded in an embedded SQLite database.

results.json stays the contract: the database holds nothing a results document does not, and
`conformance history --rebuild DIR` builds it again from a folder of them. Runs form series of
comparable runs: the same target (its base URL without credentials), the same model per API
family, the same suite and spec versions. A run is told what changed since the previous completed
run of its series and each endpoint's recent scores (`run.history`, `summary.changes`,
`summary.trends` in its results.json), so the HTML report renders them from the document alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from conformance import diff
from conformance.config import DEFAULT_HISTORY, ConfigError
from conformance.results import as_current, load_document, score

TREND_RUNS = 10  # runs a trend shows, the newest last

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    series TEXT NOT NULL,           -- what makes runs comparable, as canonical JSON
    target TEXT NOT NULL,
    models TEXT NOT NULL,           -- {api: model}
    suite_version TEXT NOT NULL,
    spec_versions TEXT NOT NULL,    -- {document: version}
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    status TEXT NOT NULL,
    verdict TEXT NOT NULL,
    score REAL,
    source TEXT NOT NULL,           -- the results.json it was recorded from
    UNIQUE (series, started_at, finished_at)
);
CREATE INDEX IF NOT EXISTS runs_by_series ON runs (series, id);
CREATE TABLE IF NOT EXISTS endpoints (
    run INTEGER NOT NULL REFERENCES runs (id),
    api TEXT NOT NULL,
    model TEXT NOT NULL,
    endpoint TEXT NOT NULL,         -- its title, 'POST /v1/chat/completions'
    endpoint_id TEXT NOT NULL,      -- the first part of its check ids, 'chat'
    scope TEXT NOT NULL,
    score REAL,
    PRIMARY KEY (run, api, endpoint)
);
CREATE TABLE IF NOT EXISTS results (
    run INTEGER NOT NULL REFERENCES runs (id),
    check_id TEXT NOT NULL,
    api TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    level TEXT NOT NULL,
    outcome TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (run, check_id)
);
"""


def located(path: Path | None) -> Path:
    """The database a command reads: the one named, else the one runs record in by default."""
    return path or Path(os.environ.get("CONFORMANCE_HISTORY") or DEFAULT_HISTORY)


@contextlib.contextmanager
def database(path: Path) -> Iterator[sqlite3.Connection]:
    """The database at `path`, created if need be; one transaction, committed on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
        conn.row_factory = sqlite3.Row
        with conn:
            conn.executescript(_SCHEMA)
            yield conn


@contextlib.contextmanager
def existing(path: Path) -> Iterator[sqlite3.Connection]:
    """The database at `path`, which a run or a rebuild must have made."""
    if not path.is_file():
        raise ConfigError(f"no history at {path}: every `conformance run` records one there "
                          "(--history PATH), or build it with `conformance history --rebuild DIR`")
    with database(path) as conn:
        yield conn


def series_of(document: dict[str, Any]) -> dict[str, Any]:
    """What a comparable run shares: target, each judged API's model, suite and spec versions."""
    run = document["run"]
    # a document older than 1.4 names one model, the first family's: its best guess for each
    models = run.get("models") or {}
    return {"target": diff.target_name(run),
            "models": {api: models.get(api, run["model"]) for api in document["summary"]["apis"]},
            "suite_version": run["suite_version"], "spec_versions": run["spec_versions"]}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def record(conn: sqlite3.Connection, document: dict[str, Any], source: Path) -> int:
    """File one run (idempotent: the same run recorded twice is one entry); its id."""
    document = as_current(document)
    run, summary, series = document["run"], document["summary"], series_of(document)
    cursor = conn.execute(
        "INSERT OR IGNORE INTO runs (series, target, models, suite_version, spec_versions, "
        "started_at, finished_at, status, verdict, score, source) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (_canonical(series), series["target"], _canonical(series["models"]),
         series["suite_version"], _canonical(series["spec_versions"]), run["started_at"],
         run["finished_at"], run["status"], summary["verdict"], summary["score"],
         str(source.resolve())))
    if not cursor.rowcount:
        return conn.execute("SELECT id FROM runs WHERE series = ? AND started_at = ? AND "
                            "finished_at = ?", (_canonical(series), run["started_at"],
                                                run["finished_at"])).fetchone()["id"]
    run_id = int(cursor.lastrowid or 0)
    ids = {(r["api"], r["endpoint"]): r["id"].split(".", 1)[0] for r in document["results"]}
    conn.executemany(
        "INSERT INTO endpoints VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(run_id, api, series["models"][api], endpoint, ids[(api, endpoint)], data["scope"],
          _endpoint_score(data["levels"]))
         for api, block in summary["apis"].items()
         for endpoint, data in block["endpoints"].items()])
    conn.executemany(
        "INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(run_id, r["id"], r["api"], r["endpoint"], r["level"], r["outcome"], r["message"])
         for r in document["results"]])
    return run_id


def _endpoint_score(levels: dict[str, dict[str, Any]]) -> float | None:
    counts: Counter[str] = Counter()
    for data in levels.values():
        counts.update(data["counts"])
    return score(counts)


def track(document: dict[str, Any], path: Path, source: Path) -> None:
    """Record a finished run and write into its document what changed since the previous
    comparable run and each endpoint's trend. A database that cannot be used costs the run its
    history, never its report."""
    try:
        with database(path) as conn:
            run_id = record(conn, document, source)
            series = _canonical(series_of(document))
            before = conn.execute(
                "SELECT * FROM runs WHERE series = ? AND status = 'completed' AND id < ? "
                "ORDER BY id DESC LIMIT 1", (series, run_id)).fetchone()
            document["run"]["history"] = {
                "database": str(path), "run": run_id, "target": diff.target_name(document["run"]),
                "previous": _brief(before) if before else None}
            # an interrupted run's unrun checks are no regressions: it gets its trend only
            if before and document["run"]["status"] == "completed":
                changes = diff.compare(_snapshot(conn, before), diff.from_document(document, ""))
                document["summary"]["changes"] = {"since": before["id"], **changes}
            document["summary"]["trends"] = _trends(conn, series, run_id)
    except (sqlite3.Error, OSError) as exc:
        print(f"conformance: history not recorded in {path}: {exc}", file=sys.stderr)


def _brief(row: sqlite3.Row) -> dict[str, Any]:
    return {"run": row["id"], "started_at": row["started_at"], "verdict": row["verdict"],
            "score": row["score"], "source": row["source"]}


def _series_runs(conn: sqlite3.Connection, series: str, upto: int, limit: int = TREND_RUNS,
                 completed: bool = True) -> list[sqlite3.Row]:
    """The last `limit` runs of a series up to run `upto`, oldest first: with `completed`, only
    the completed ones (an interrupted run's score says little) and `upto` itself."""
    rows = conn.execute(
        "SELECT * FROM runs WHERE series = ? AND id <= ? AND (status = 'completed' OR id = ? "
        "OR NOT ?) ORDER BY id DESC LIMIT ?", (series, upto, upto, completed, limit)).fetchall()
    return rows[::-1]


def _trends(conn: sqlite3.Connection, series: str, run_id: int) -> dict[str, Any]:
    """Per API, per endpoint: the scores of the series' last runs, oldest first."""
    runs = _series_runs(conn, series, run_id)
    found: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for row in conn.execute(
            f"SELECT e.api, e.endpoint, e.score, r.id, r.started_at FROM endpoints e "
            f"JOIN runs r ON r.id = e.run WHERE e.run IN ({','.join('?' * len(runs))}) "
            "ORDER BY r.id", [r["id"] for r in runs]):
        found.setdefault(row["api"], {}).setdefault(row["endpoint"], []).append(
            {"run": row["id"], "started_at": row["started_at"], "score": row["score"]})
    return found


def snapshot(path: Path | None, run_id: int) -> diff.Snapshot:
    """A recorded run, as `conformance diff` compares it."""
    path = located(path)
    with existing(path) as conn:
        row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise ConfigError(f"{path}: no run {run_id} (see `conformance history`)")
        return _snapshot(conn, row)


def _snapshot(conn: sqlite3.Connection, row: sqlite3.Row) -> diff.Snapshot:
    results = conn.execute("SELECT * FROM results WHERE run = ?", (row["id"],))
    endpoints = conn.execute("SELECT * FROM endpoints WHERE run = ?", (row["id"],))
    return diff.Snapshot(
        label=f"history run {row['id']}", target=row["target"], started_at=row["started_at"],
        verdict=row["verdict"],
        results={r["check_id"]: {"api": r["api"], "endpoint": r["endpoint"], "level": r["level"],
                                 "outcome": r["outcome"], "message": r["message"]}
                 for r in results},
        scope={(e["api"], e["endpoint"]): e["scope"] for e in endpoints})


def rebuild(path: Path, folder: Path) -> int:
    """Build the database again from every results.json under `folder`, oldest run first (the
    old database is replaced only once the new one is complete); the number of runs filed."""
    documents = []
    for found in sorted({p.resolve() for p in folder.rglob("results.json")}):
        try:
            documents.append((as_current(load_document(found)), found))
        except (OSError, ValueError, KeyError) as exc:
            print(f"conformance: skipped {found}: {exc}", file=sys.stderr)
    documents.sort(key=lambda pair: (pair[0]["run"]["started_at"], str(pair[1])))
    fresh = path.with_name(path.name + ".rebuild")
    fresh.unlink(missing_ok=True)
    with database(fresh) as conn:
        for document, source in documents:
            record(conn, document, source)
    os.replace(fresh, path)
    return len(documents)


# --- `conformance history` ---------------------------------------------------------------------

# How an outcome reads in a trend column: failures in capitals, so they stand out.
_SHORT = {"pass": "pass", "warn": "warn", "fail": "FAIL", "error": "ERROR", "not_supported": "n/s",
          "inconclusive": "inc", "skipped": "skip", "not_run": "-"}
_BARS = "▁▂▃▄▅▆▇█"


def trends(path: Path, target: str | None = None, checks: Sequence[str] = (),
           endpoint: str | None = None, last: int = TREND_RUNS) -> list[dict[str, Any]]:
    """Per series of comparable runs (of the targets matching `target`, a name or glob): its
    last runs, each endpoint's scores and the outcomes of the checks matching `checks` (globs;
    none given: the checks whose outcome changed) over them, newest run last."""
    with existing(path) as conn:
        found = []
        for row in conn.execute("SELECT series, MAX(id) AS last FROM runs GROUP BY series "
                                "ORDER BY last"):
            series = json.loads(row["series"])
            if target and not fnmatchcase(series["target"], target):
                continue
            runs = _series_runs(conn, row["series"], row["last"], last, completed=False)
            found.append({**series, "runs": [{**_brief(r), "status": r["status"]} for r in runs],
                          **_columns(conn, runs, checks, endpoint)})
        return found


def _columns(conn: sqlite3.Connection, runs: list[sqlite3.Row], checks: Sequence[str],
             endpoint: str | None) -> dict[str, Any]:
    ids = [r["id"] for r in runs]
    marks = ",".join("?" * len(ids))
    endpoints: dict[tuple[str, str], list[float | None]] = {}
    kept: set[tuple[str, str]] = set()
    for e in conn.execute(f"SELECT * FROM endpoints WHERE run IN ({marks})", ids):
        key = (e["api"], e["endpoint"])
        endpoints.setdefault(key, [None] * len(ids))[ids.index(e["run"])] = e["score"]
        if endpoint is None or endpoint in (e["endpoint_id"], e["endpoint"],
                                            f"{e['api']} {e['endpoint']}"):
            kept.add(key)
    outcomes: dict[str, list[str | None]] = {}
    for r in conn.execute(f"SELECT * FROM results WHERE run IN ({marks}) ORDER BY check_id", ids):
        if (r["api"], r["endpoint"]) in kept:
            outcomes.setdefault(r["check_id"], [None] * len(ids))[ids.index(r["run"])] = (
                r["outcome"])
    return {
        "endpoints": [{"api": api, "endpoint": title, "scores": scores}
                      for (api, title), scores in sorted(endpoints.items())
                      if (api, title) in kept],
        "checks": [{"id": check_id, "outcomes": series}
                   for check_id, series in outcomes.items()
                   if (any(fnmatchcase(check_id, glob) for glob in checks) if checks
                       else len(set(series)) > 1)]}


def render(found: list[dict[str, Any]], checks: Sequence[str]) -> str:
    """The trends as terminal text: per series its runs, then endpoints and checks by run."""
    if not found:
        return "no recorded run matches\n"
    lines: list[str] = []
    for series in found:
        runs = series["runs"]
        models = ", ".join(f"{api}={model}" for api, model in series["models"].items())
        specs = ", ".join(f"{name} {v}" for name, v in series["spec_versions"].items())
        lines += [f"target {series['target']}",
                  f"  models {models or '-'}; suite {series['suite_version']}; specs {specs}"]
        lines += [f"  run {r['run']:>4}  {r['started_at']}  {r['verdict']:24} score "
                  f"{_percent(r['score']):>4}  {'' if r['status'] == 'completed' else r['status']}"
                  .rstrip() for r in runs]
        head = "".join(f"{'#' + str(r['run']):>7}" for r in runs)
        lines.append(f"  {'endpoint':48}{head}")
        lines += [f"  {(e['api'] + ' ' + e['endpoint'])[:48]:48}"
                  + "".join(f"{_percent(s):>7}" for s in e["scores"])
                  + f"  {sparkline(e['scores'])}" for e in series["endpoints"]]
        lines.append(f"  {'check' if checks else 'check (outcome changed)':48}{head}")
        lines += [f"  {c['id'][:48]:48}" + "".join(f"{_SHORT.get(o or '', '·'):>7}"
                                                    for o in c["outcomes"])
                  for c in series["checks"]]
        if not series["checks"]:
            lines.append("  (no check matches)" if checks else
                         "  (every check kept its outcome over these runs)")
        lines.append("")
    return "\n".join(lines)


def sparkline(scores: Sequence[float | None]) -> str:
    """Scores from 0 to 1 as block characters ("·" where a run did not judge the endpoint)."""
    return "".join("·" if s is None else _BARS[min(int(s * len(_BARS)), len(_BARS) - 1)]
                   for s in scores)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def command(path: Path | None, rebuild_from: Path | None, target: str | None, checks: Sequence[str],
            endpoint: str | None, last: int, as_json: bool) -> int:
    """`conformance history`: rebuild when asked, then print the trends."""
    path = located(path)
    if rebuild_from is not None:
        if not rebuild_from.is_dir():
            raise ConfigError(f"--rebuild: {rebuild_from} is not a directory")
        print(f"rebuilt {path} from {rebuild(path, rebuild_from)} results.json under "
              f"{rebuild_from}", file=sys.stderr)
    found = trends(path, target, checks, endpoint, last)
    print(json.dumps({"database": str(path), "series": found}, indent=2) if as_json
          else render(found, checks), end="\n" if as_json else "")
    return 0
