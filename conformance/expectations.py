"""Expectations: a target's known deviations, kept outside the checks.

One YAML file per target (format: expectations.schema.json beside this module) maps a check id
or a glob (fnmatch, as `--select`) to the outcome the target is known to end it with, why, and
a link. A check's entry is the one naming its id, else the longest glob matching it (the first
in the file on a tie): an exact entry beats any glob, a narrower glob a broader one.

A run given the file judges every check exactly as without it; `apply` then marks each result
it concerns (`expectation.status` in results.json):

- `expected`: the check ended with its entry's outcome (other than a pass);
- `unexpected`: a problem (fail, warn, error, not_run) that no entry foresaw;
- `stale`: its exact entry names another outcome, and the check settled it otherwise without a
  problem (it passes now, or the feature is now cleanly declined);

and lists in the summary every stale entry: one whose outcome none of its checks ended with
while one of them showed a definite other one, or, in a run without `--select`, one that matches
no check at all (a renamed or removed check). The verdict stays what the results say (a MUST
failed: `non-conformant`, expected or not); the exit code follows the verdict the run would have
had with every expected outcome a pass (`summary.expectations.verdict`), so a run whose only
problems are expected exits 0 and says "non-conformant, 7 expected failures". With
`--strict-expectations` a stale entry fails an otherwise passing run (exit 5).
"""

from __future__ import annotations

import fnmatch
import json
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from conformance.config import ConfigError
from conformance.results import endpoint_scope, load_document, run_info, verdict

SCHEMA_PATH = Path(__file__).resolve().parent / "expectations.schema.json"
FORMAT_VERSION = 1
# Outcomes worth a look: one that no entry foresaw is `unexpected`.
PROBLEMS = ("fail", "warn", "error", "not_run")
# Outcomes that settle what the gateway does without a problem: against an exact entry naming
# another outcome, the entry is stale (inconclusive, skipped: the run could not tell).
SETTLED = ("pass", "not_supported")
# Outcomes that show what the gateway does: an entry none of whose checks ended with its own
# outcome, but one of them with one of these, is stale.
DEFINITE = ("pass", "fail", "warn", "not_supported")
# The outcomes `conformance expectations` writes an entry for: what the report lists as problems.
RECORDED = ("fail", "warn", "error")
# How the reports count outcomes, most severe first.
ORDER = ("fail", "error", "warn", "not_run", "not_supported", "inconclusive", "skipped")
_NOUNS = {"fail": "failure", "error": "error", "warn": "warning"}
HEADER = """\
# What conformance runs against one target are known to find: check id or glob -> the outcome
# the check ends with, why (reason) and a link. Format: conformance/expectations.schema.json
# (README, "Expectations"). `conformance expectations RESULTS --file THIS` updates this file,
# keeping every reason, link and glob; it does not keep comments: write the why in `reason`.
"""


@dataclass(frozen=True)
class Entry:
    check: str  # a check id or a glob
    outcome: str
    reason: str = ""
    link: str = ""

    @property
    def glob(self) -> bool:
        return any(c in self.check for c in "*?[")

    def matches(self, check_id: str) -> bool:
        return fnmatch.fnmatchcase(check_id, self.check)

    def fields(self) -> dict[str, str]:
        """The entry as the file writes it: no empty reason or link."""
        return {k: v for k, v in (("outcome", self.outcome), ("reason", self.reason),
                                  ("link", self.link)) if v}

    def described(self) -> dict[str, str]:
        """The entry as results.json records it, the check id or glob included."""
        return {"check": self.check, **self.fields()}


@dataclass(frozen=True)
class Expectations:
    entries: tuple[Entry, ...] = ()
    source: str = ""  # the file, as the user named it

    def entry_for(self, check_id: str) -> Entry | None:
        """The entry naming the check, else the longest glob matching it (the first on a tie)."""
        exact = next((e for e in self.entries if e.check == check_id), None)
        globs = [e for e in self.entries if e.glob and e.matches(check_id)]
        return exact or max(globs, key=lambda e: len(e.check), default=None)


# --- the file -------------------------------------------------------------------------------


def load(path: str | Path) -> Expectations:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"expectations file {path}: {exc.strerror or exc}") from None
    return parse(text, str(path))


def parse(text: str, source: str = "<expectations>") -> Expectations:
    """The entries of an expectations file's text; ConfigError saying where it is wrong."""
    try:
        data = yaml.load(text, Loader=_UniqueKeys)  # a SafeLoader: builds plain data only
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    error = next(iter(sorted(_validator().iter_errors(data), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "the document"
        raise ConfigError(f"{source}: {where}: {error.message}")
    return Expectations(tuple(Entry(check, **fields)
                              for check, fields in data["expectations"].items()), source)


def dump(expectations: Expectations) -> str:
    body = {"version": FORMAT_VERSION,
            "expectations": {e.check: e.fields() for e in expectations.entries}}
    return HEADER + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)


class _UniqueKeys(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice: a second entry for one check would otherwise
    replace the first without a word."""


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: list[Any] = []
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"{key!r} is given twice",
                                                    key_node.start_mark)
        seen.append(key)
    return loader.construct_mapping(node)


_UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


# --- a run's results against them -----------------------------------------------------------


def status(outcome: str, entry: Entry | None) -> str | None:
    """`expected`, `unexpected` or `stale` for a result with this outcome and entry (None: none
    of them, e.g. a pass no entry names)."""
    if entry is not None and outcome == entry.outcome:
        return "expected" if outcome != "pass" else None
    if outcome in PROBLEMS:
        return "unexpected"
    if entry is not None and not entry.glob and outcome in SETTLED:
        return "stale"
    return None


def apply(document: dict[str, Any], expectations: Expectations, strict: bool) -> None:
    """Mark the document's results with their expectation and add `summary.expectations`."""
    results = document["results"]
    governed: dict[Entry, list[dict[str, Any]]] = {e: [] for e in expectations.entries}
    for result in results:
        entry = expectations.entry_for(result["id"])
        if entry is not None:
            governed[entry].append(result)
        found = status(result["outcome"], entry)
        if found:
            result["expectation"] = {"status": found, **(entry.described() if entry else {})}
    ids = [r["id"] for r in results]
    selection = document["run"].get("select")
    stale = [{**entry.described(), "why": why} for entry, mine in governed.items()
             if (why := _stale(entry, mine, ids, bool(selection)))]
    # what the exit code follows: the verdict had every expected outcome been a pass
    accepted = [{**r, "outcome": "pass"} if marked(r) == "expected" else r for r in results]
    outcome, cause = verdict(accepted, endpoint_scope(accepted), run_info(document["run"]))
    document["summary"]["expectations"] = {
        "file": expectations.source, "strict": strict,
        "expected": _by_outcome(r for r in results if marked(r) == "expected"),
        "unexpected": _by_outcome(r for r in results if marked(r) == "unexpected"),
        "stale": stale, "verdict": outcome, "cause": cause}


def marked(result: dict[str, Any]) -> str | None:
    """A result's expectation status: `expected`, `unexpected`, `stale`, or None."""
    return (result.get("expectation") or {}).get("status")


def _by_outcome(results: Any) -> dict[str, int]:
    counts = Counter(r["outcome"] for r in results)
    return {o: counts[o] for o in ORDER if counts[o]}


def _stale(entry: Entry, mine: list[dict[str, Any]], ids: list[str], selection: bool) -> str:
    """Why the entry no longer describes the run ("": it still does, or the run cannot tell)."""
    if not mine:  # a glob every match of which has its own entry is not stale
        if selection or any(entry.matches(i) for i in ids):
            return ""
        return "no check of this run matches it"
    seen = Counter(r["outcome"] for r in mine)
    if entry.outcome in seen or entry.outcome == "pass" or not set(seen) & set(DEFINITE):
        return ""  # (a `pass` entry whose check fails is an unexpected failure, not stale)
    got = ", ".join(o if n == 1 else f"{o} ×{n}" for o, n in seen.most_common())
    return f"expected {entry.outcome}, got {got}"


def headline(block: dict[str, Any]) -> str:
    """What the reports say of a run's expectations: "7 expected failures, 1 unexpected
    warning, 1 stale expectation"."""
    parts = [_counted(n, o, "expected") for o, n in block["expected"].items()]
    parts += [_counted(n, o, "unexpected") for o, n in block["unexpected"].items()]
    if block["stale"]:
        parts.append(_plural(len(block["stale"]), "stale expectation"))
    return ", ".join(parts) or "no problem, expected or unexpected"


def _counted(count: int, outcome: str, kind: str) -> str:
    noun = _NOUNS.get(outcome)
    return _plural(count, f"{kind} {noun}") if noun else f"{count} {kind} {outcome}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# --- `conformance expectations`: the file from a run's results ------------------------------


def updated(current: Expectations, document: dict[str, Any]) -> tuple[Expectations, list[str]]:
    """`current` brought up to date with a run, and one line per change.

    Globs, and the reason and link of every entry kept, stay as written. An exact entry whose
    check now passes, or that names no check of a full run, is dropped (and said); one whose
    check now ends with another problem takes that outcome; one whose check the run could not
    settle (inconclusive, skipped, or outside `--select`) stays. Each problem (fail, warn,
    error) no entry foresees gets an exact entry, its reason the run's message.
    """
    run = document["run"]
    if run["status"] != "completed":
        raise ConfigError(f"the run is {run['status']}: its results cannot say what to expect")
    outcomes = {r["id"]: r["outcome"] for r in document["results"]}
    entries: list[Entry] = []
    notes: list[str] = []
    for entry in current.entries:
        outcome = outcomes.get(entry.check)
        gone = outcome is None and not run.get("select")
        if entry.glob or outcome == entry.outcome:
            entries.append(entry)
        elif outcome in RECORDED:
            entries.append(Entry(entry.check, outcome, entry.reason, entry.link))
            notes.append(f"updated {entry.check}: {entry.outcome} -> {outcome}")
        elif gone or outcome == "pass":
            notes.append(_dropped(entry, "no check of this run has this id" if gone
                                  else "the check passes now"))
        else:  # the run could not settle it
            entries.append(entry)
    for result in document["results"]:
        known = Expectations(tuple(entries)).entry_for(result["id"])
        if result["outcome"] in RECORDED and (known is None or known.outcome != result["outcome"]):
            entries.append(Entry(result["id"], result["outcome"], _reason(result, run)))
            notes.append(f"added {result['id']}: {result['outcome']}")
    return Expectations(tuple(entries), current.source), notes


def _dropped(entry: Entry, why: str) -> str:
    """The note of a dropped entry, with the reason and link the user wrote: not lost unsaid."""
    return "\n  ".join([f"dropped {entry.check} (expected {entry.outcome}: {why})",
                        *(f"{k}: {v}" for k, v in entry.fields().items() if k != "outcome")])


def _reason(result: dict[str, Any], run: dict[str, Any]) -> str:
    """An added entry's reason until the user writes their own: what the run said, and when."""
    line = (result["message"].strip().splitlines() or ["no message"])[0]
    line = line if len(line) <= 200 else line[:197] + "..."
    return f"seen {run['started_at'][:10]}: {line}"


def write_file(results: Path, path: Path) -> int:
    """`conformance expectations`: write or update `path` from a results.json (or the run
    directory holding one), printing what changed."""
    source = results / "results.json" if results.is_dir() else results
    try:
        document = load_document(source)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{source}: no readable results.json ({exc})") from None
    current = load(path) if path.exists() else Expectations(source=str(path))
    new, notes = updated(current, document)
    path.write_text(dump(new), encoding="utf-8")
    for note in notes:
        print(note)
    print(f"{path}: {_plural(len(new.entries), 'expectation')}, {_plural(len(notes), 'change')}")
    return 0
