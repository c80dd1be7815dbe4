"""The run journal: every exchange and result is on disk the moment it is recorded.

`DIR/results.jsonl` holds one JSON line for the run's header (with every check the run meant to
run), then one line per recorded exchange and one per finished check (its result and the
evidence exchanges not written before). A finished run replaces it by `results.json`; a run
that was killed leaves the journal, from which `conformance report DIR` rebuilds a results
document marked interrupted, the checks that never finished listed `not_run`. Lines are already
redacted by the plugin.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from conformance.family import load_checks
from conformance.results import RunInfo, add_result

NAME = "results.jsonl"
# What a finished run writes: a new run in the same directory removes them first, so that a run
# that dies never leaves an earlier run's verdict standing.
REPORT_FILES = ("results.json", "index.html", "junit.xml")


class Journal:
    """Appends to DIR/results.jsonl, one flushed line per recorded exchange and finished check.

    `expected` maps each node id the run means to run to its check id.
    """

    def __init__(self, out_dir: Path, run: RunInfo, extra: dict[str, Any],
                 expected: dict[str, str]) -> None:
        for name in REPORT_FILES:
            (out_dir / name).unlink(missing_ok=True)
        self.path = out_dir / NAME
        self._written: set[str] = set()
        header = {**asdict(run), "status": "running", "started_at": run.started_at.isoformat(),
                  "extra": extra, "expected": expected}
        self._file = self.path.open("w", encoding="utf-8")
        self._line({"run": header})

    def exchange(self, evidence: dict[str, Any]) -> None:
        """An exchange, the moment it is recorded (before any check reads it)."""
        self._written.add(evidence["id"])
        self._line({"exchange": evidence})

    def add(self, result: dict[str, Any], evidence: list[dict[str, Any]]) -> None:
        fresh = [e for e in evidence if e["id"] not in self._written]
        self._written.update(e["id"] for e in fresh)
        self._line({"result": result, "evidence": fresh})

    def _line(self, entry: dict[str, Any]) -> None:
        self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._file.flush()

    def remove(self) -> None:
        """The run finished and results.json holds everything: the journal goes."""
        self._file.close()
        self.path.unlink(missing_ok=True)


def not_run(expected: dict[str, str], results: list[dict[str, Any]],
            message: str) -> list[dict[str, Any]]:
    """A `not_run` result for every expected check that has no result (node id -> check id)."""
    registry = load_checks() if expected else {}
    done = {r.get("nodeid") for r in results}
    return [{**registry[check_id].as_dict(), "outcome": "not_run", "message": message,
             "cause": None, "expected": None, "actual": None, "observed": {}, "details": {},
             "duration": 0.0, "exchanges": [], "nodeid": nodeid}
            for nodeid, check_id in expected.items() if nodeid not in done]


def exists(out_dir: Path) -> bool:
    return (out_dir / NAME).exists()


def read(out_dir: Path) -> tuple[RunInfo, dict[str, Any], list[dict[str, Any]],
                                 dict[str, dict[str, Any]]]:
    """The run header, its extra run fields, the results (with `not_run` ones for the checks
    that never finished) and the exchanges of a journal.

    A last line cut by the kill is ignored. Raises OSError or ValueError when there is no
    readable header.
    """
    lines = (out_dir / NAME).read_text(encoding="utf-8").splitlines()
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            break  # the line being written when the process died
    if not entries or "run" not in entries[0]:
        raise ValueError(f"{out_dir / NAME} has no run header")
    header = dict(entries[0]["run"])
    extra = header.pop("extra", {})
    expected = header.pop("expected", {})
    header["started_at"] = datetime.fromisoformat(header["started_at"])
    results: list[dict[str, Any]] = []
    for entry in entries[1:]:
        if "result" in entry:
            add_result(results, entry["result"])
    results += not_run(expected, results, "the run ended before this check finished")
    exchanges = {x["id"]: x for e in entries[1:]
                 for x in [*e.get("evidence", ()), *([e["exchange"]] if "exchange" in e else [])]}
    return RunInfo(**header), extra, results, exchanges
