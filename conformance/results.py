"""The results document: the one output every report renders.

Its shape is versioned and described by results.schema.json beside this module.
"""

from __future__ import annotations

import json
import platform
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from conformance import __version__, schemas
from conformance.check import Level, Outcome
from conformance.redact import Redactor
from conformance.shapes import member

RESULTS_VERSION = "1.0"
SCHEMA_PATH = Path(__file__).resolve().parent / "results.schema.json"


@dataclass
class RunInfo:
    target: str
    embedded: bool
    model: str
    select: list[str]
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: str = "completed"  # or "unreachable"
    status_detail: str = ""


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def build_document(
    run: RunInfo,
    results: list[dict[str, Any]],
    exchanges: dict[str, dict[str, Any]],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    finished = datetime.now(UTC)
    results = sorted(results, key=lambda r: r["id"])
    return {
        "version": RESULTS_VERSION,
        "run": {
            "suite_version": __version__,
            "spec_versions": schemas.versions(),
            "target": run.target,
            "embedded_gateway": run.embedded,
            "model": run.model,
            "select": run.select,
            "started_at": iso(run.started_at),
            "finished_at": iso(finished),
            "duration": round((finished - run.started_at).total_seconds(), 3),
            "status": run.status,
            "status_detail": run.status_detail,
            "python": platform.python_version(),
            **(extra or {}),
        },
        "summary": summarize(results),
        "stats": usage_stats(exchanges),
        "results": results,
        "exchanges": exchanges,
    }


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    by_endpoint: dict[str, dict[str, Counter[str]]] = {}
    for result in results:
        levels = by_endpoint.setdefault(result["endpoint"], {})
        levels.setdefault(result["level"], Counter())[result["outcome"]] += 1
    totals = Counter(r["outcome"] for r in results)
    return {
        "verdict": verdict(results),
        "counts": {o.value: totals.get(o.value, 0) for o in Outcome},
        "score": score(totals),
        "endpoints": {
            endpoint: {
                level: {"counts": {o.value: c.get(o.value, 0) for o in Outcome}, "score": score(c)}
                for level, c in sorted(levels.items())
            }
            for endpoint, levels in sorted(by_endpoint.items())
        },
    }


def score(counts: Counter[str] | dict[str, int]) -> float | None:
    """Share of applicable checks that passed; warnings count as half a pass."""
    judged = sum(counts.get(o, 0) for o in ("pass", "warn", "fail", "error"))
    if not judged:
        return None
    return round((counts.get("pass", 0) + 0.5 * counts.get("warn", 0)) / judged, 4)


def verdict(results: list[dict[str, Any]]) -> str:
    outcomes = {(r["level"], r["outcome"]) for r in results}
    if any(o == Outcome.FAIL for _, o in outcomes):
        return "non-conformant"
    if any(o == Outcome.ERROR for _, o in outcomes):
        return "incomplete"
    if any(o == Outcome.WARN for _, o in outcomes):
        return "conformant-with-warnings"
    return "conformant" if results else "no-checks-run"


def exit_code(document: dict[str, Any]) -> int:
    """0: no MUST failure; 1: a MUST failure or an error (never a silent pass); 3: unreachable."""
    if document["run"]["status"] == "unreachable":
        return 3
    bad = {Outcome.FAIL.value, Outcome.ERROR.value}
    failed = any(r["outcome"] in bad and r["level"] == Level.MUST for r in document["results"])
    errored = any(r["outcome"] == Outcome.ERROR for r in document["results"])
    return 1 if failed or errored else 0


def usage_stats(exchanges: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Requests sent and tokens the gateway reported for them (what the run cost)."""
    tokens = Counter[str]()
    for exchange in exchanges.values():
        for usage in _usages(exchange):
            tokens["input"] += _int(usage.get("prompt_tokens", usage.get("input_tokens")))
            tokens["output"] += _int(usage.get("completion_tokens", usage.get("output_tokens")))
    return {"requests": len(exchanges), "input_tokens": tokens["input"],
            "output_tokens": tokens["output"]}


def _usages(exchange: dict[str, Any]) -> list[dict[str, Any]]:
    response = exchange["response"]
    body = response.get("body") or ""
    if not response.get("sse"):
        parsed = _loads(body)
        return [parsed["usage"]] if isinstance(parsed, dict) and isinstance(
            parsed.get("usage"), dict) else []
    # Streams: the last usage object seen (chat usage chunk or Responses terminal event).
    last: dict[str, Any] | None = None
    for line in body.splitlines():
        parsed = _loads(line[5:].strip()) if line.startswith("data:") else None
        if isinstance(parsed, dict):
            usage = parsed.get("usage") or member(parsed.get("response"), "usage")
            last = usage if isinstance(usage, dict) else last
    return [last] if last else []


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


@cache
def results_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate_document(document: dict[str, Any]) -> None:
    Draft202012Validator(results_schema()).validate(document)


def write_document(document: dict[str, Any], path: Path, redactor: Redactor) -> None:
    # Last line of defence: the serialized text passes the redactor once more.
    validate_document(document)
    path.write_text(redactor.text(json.dumps(document, indent=2, ensure_ascii=False)) + "\n",
                    encoding="utf-8")


def load_document(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))
