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
from conformance.check import Outcome
from conformance.family import families, family, family_of_endpoint
from conformance.redact import Redactor

RESULTS_VERSION = "1.4"
SCHEMA_PATH = Path(__file__).resolve().parent / "results.schema.json"


@dataclass
class RunInfo:
    target: str
    embedded: bool
    model: str
    select: list[str]
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: str = "completed"  # "interrupted", "unreachable"; "running" only in the journal
    status_detail: str = ""
    interruption: dict[str, Any] | None = None  # {"signal": "SIGINT"|"SIGTERM"|None, "at": iso}
    endpoints: list[str] = field(default_factory=list)  # claimed with --endpoints

    def interrupt(self, signal_name: str | None, detail: str) -> None:
        self.status, self.status_detail = "interrupted", detail
        self.interruption = {"signal": signal_name, "at": iso(datetime.now(UTC))}


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def build_document(
    run: RunInfo,
    results: list[dict[str, Any]],
    exchanges: dict[str, dict[str, Any]],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    finished = datetime.now(UTC)
    results = sorted((_with_api(r) for r in results), key=lambda r: r["id"])
    if run.status == "completed" and _all_unreachable(results):
        run.status = "unreachable"
        run.status_detail = results[0]["message"]
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
            "interruption": run.interruption,
            "endpoints_claimed": run.endpoints,
            "python": platform.python_version(),
            **(extra or {}),
        },
        "summary": summarize(results, run),
        "stats": usage_stats(exchanges),
        "results": results,
        "exchanges": exchanges,
    }


def _all_unreachable(results: list[dict[str, Any]]) -> bool:
    causes = {r.get("cause") for r in results if r["outcome"] != Outcome.SKIPPED}
    return causes == {"unreachable"}


# What a judged check looks like: it reached a verdict on the gateway.
JUDGED = frozenset({Outcome.PASS, Outcome.WARN, Outcome.FAIL})


def api_of(check_id: str) -> str:
    """The API family (its registered name) that declares the endpoint a check id starts with."""
    endpoint_id = check_id.split(".", 1)[0]
    try:
        return family_of_endpoint(endpoint_id).name
    except StopIteration:
        raise ValueError(f"check {check_id}: no registered API family declares the endpoint "
                         f"{endpoint_id!r}") from None


def _with_api(result: dict[str, Any]) -> dict[str, Any]:
    # `api` right after `id`: the results a check run journals, and those of a 1.2 document,
    # do not carry it
    return result if "api" in result else {"id": result["id"], "api": api_of(result["id"]),
                                           **result}


def _by_endpoint(results: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The results of each endpoint, keyed by its title, or by `api title` where two APIs share
    the title (two families' `GET /v1/models`), so that neither hides the other."""
    titles = Counter(title for _, title in {(r["api"], r["endpoint"]) for r in results})
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        title = result["endpoint"]
        key = title if titles[title] == 1 else f"{result['api']} {title}"
        groups.setdefault(key, []).append(result)
    return dict(sorted(groups.items()))


def endpoint_scope(results: list[dict[str, Any]]) -> dict[str, str]:
    """Per endpoint: "judged" (some check reached a verdict), "not served" (absent and not
    claimed) or "not judged" (in scope, but nothing could be judged)."""
    scope: dict[str, str] = {}
    for endpoint, mine in _by_endpoint(results).items():
        if any(r["outcome"] in JUDGED for r in mine):
            scope[endpoint] = "judged"
        elif any(r.get("cause") == "absent" for r in mine):
            scope[endpoint] = "not served"
        else:
            scope[endpoint] = "not judged"
    return scope


def _levels(results: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per endpoint (keyed as in `endpoint_scope`), per level: outcome counts and score."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for endpoint, mine in _by_endpoint(results).items():
        levels: dict[str, Counter[str]] = {}
        for result in mine:
            levels.setdefault(result["level"], Counter())[result["outcome"]] += 1
        found[endpoint] = {level: {"counts": _counts(c), "score": score(c)}
                           for level, c in sorted(levels.items())}
    return found


def _counts(counts: Counter[str]) -> dict[str, int]:
    return {o.value: counts.get(o.value, 0) for o in Outcome}


def summarize(results: list[dict[str, Any]], run: RunInfo) -> dict[str, Any]:
    totals = Counter(r["outcome"] for r in results)
    scope = endpoint_scope(results)
    apis = api_summaries(results, run)
    outcome, cause = verdict(results, scope, run)
    if outcome == "incomplete":
        cause = "; ".join([*_unjudged_apis(apis), cause])
    return {
        "verdict": outcome,
        "cause": cause,
        "root_causes": root_causes(results),
        "scope": scope,
        "counts": _counts(totals),
        "score": score(totals),
        "endpoints": _levels(results),
        "apis": apis,
    }


def _unjudged_apis(apis: dict[str, dict[str, Any]]) -> list[str]:
    """Why each API in scope that nothing could judge was not judged ("openai: ... check
    --model"): another family's verdicts must not bury its one-line cause."""
    return [f"{api}: {block['cause']}" for api, block in apis.items()
            if block["verdict"] == "not-judged"
            and any(e["scope"] == "not judged" for e in block["endpoints"].values())]


def api_summaries(results: list[dict[str, Any]], run: RunInfo) -> dict[str, dict[str, Any]]:
    """Per API family of the results, in the registry's order: its verdict as if it were judged
    alone, its counts, and each of its endpoints' scope and counts by level."""
    order = [f.name for f in families()]
    apis = sorted({r["api"] for r in results},
                  key=lambda api: (order.index(api) if api in order else len(order), api))
    return {api: _api_summary(api, [r for r in results if r["api"] == api], run) for api in apis}


def _api_summary(api: str, results: list[dict[str, Any]], run: RunInfo) -> dict[str, Any]:
    totals = Counter(r["outcome"] for r in results)
    scope = endpoint_scope(results)  # one family's endpoint titles are distinct
    levels = _levels(results)
    outcome, cause = verdict(results, scope, run, api)
    return {
        # a document rendered where its family is no longer registered keeps the name
        "title": next((f.title for f in families() if f.name == api), api),
        "verdict": outcome,
        "cause": cause,
        "counts": _counts(totals),
        "score": score(totals),
        "endpoints": {e: {"scope": state, "levels": levels[e]} for e, state in scope.items()},
    }


def as_current(document: dict[str, Any]) -> dict[str, Any]:
    """`document` as the renderers read it: a 1.2 document's results gain their `api` (from the
    registry, by the endpoint of their check id) and its summary the per-API block."""
    if "apis" in document["summary"]:
        return document
    results = [_with_api(r) for r in document["results"]]
    return {**document, "results": results, "summary": {
        **document["summary"], "apis": api_summaries(results, run_info(document["run"]))}}


def run_info(run: dict[str, Any]) -> RunInfo:
    """The RunInfo a document's `run` block was written from, as far as a verdict needs it."""
    return RunInfo(target=run["target"], embedded=run["embedded_gateway"], model=run["model"],
                   select=run.get("select", []), status=run["status"],
                   status_detail=run.get("status_detail", ""))


def sections(document: dict[str, Any]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The results of a (current) document by API, then endpoint title, in the summary's order:
    how every report groups them."""
    found: dict[str, dict[str, list[dict[str, Any]]]] = {
        api: {endpoint: [] for endpoint in block["endpoints"]}
        for api, block in document["summary"]["apis"].items()}
    for result in document["results"]:
        found[result["api"]][result["endpoint"]].append(result)
    return found


def root_causes(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The defects that several checks met in the exchanges they read (`root_cause` of each
    result), one entry each, the one behind most checks first: a vendor fixes one cause, not
    each of its checks. A cause behind a single check is that check's own message."""
    groups: dict[str, dict[str, Any]] = {}
    for result in results:
        cause = result.get("root_cause")
        if not cause:
            continue
        group = groups.setdefault(cause["text"], {"cause": cause["text"], "checks": [],
                                                  "exchanges": [], "counts": Counter()})
        group["checks"].append(result["id"])
        if cause["exchange"] not in group["exchanges"]:
            group["exchanges"].append(cause["exchange"])
        group["counts"][result["outcome"]] += 1
    shared = [g for g in groups.values() if len(g["checks"]) > 1]
    for group in shared:
        group["title"] = f"{group['cause']}: {_affected(group['counts'])}"
        group["counts"] = dict(group["counts"])
    return sorted(shared, key=lambda g: (-len(g["checks"]), g["cause"]))


# How each outcome a root cause can have reads in its title ("20 checks could not be judged").
_AFFECTED = {"fail": "failed", "warn": "warned", "inconclusive": "could not be judged"}


def _affected(counts: Counter[str]) -> str:
    return ", ".join(f"{counts[o]} check{'s' if counts[o] > 1 else ''} {words}"
                     for o, words in _AFFECTED.items() if counts[o])


def score(counts: Counter[str] | dict[str, int]) -> float | None:
    """Share of applicable checks that passed; warnings count as half a pass."""
    judged = sum(counts.get(o, 0) for o in ("pass", "warn", "fail", "error"))
    if not judged:
        return None
    return round((counts.get("pass", 0) + 0.5 * counts.get("warn", 0)) / judged, 4)


def verdict(
    results: list[dict[str, Any]], scope: dict[str, str], run: RunInfo, api: str | None = None
) -> tuple[str, str]:
    """The run's verdict (or, given its name, one API family's) and, unless it is conformant,
    its cause in one line.

    `conformant` needs every endpoint in scope judged, no MUST failure and no error; an
    interrupted or unreachable run is never more than `incomplete` / `not-judged`.
    """
    outcomes = Counter(r["outcome"] for r in results)
    if run.status == "interrupted":
        return "incomplete", f"{run.status_detail}; {outcomes[Outcome.NOT_RUN]} check(s) not run"
    if run.status == "unreachable":
        return "not-judged", f"the target could not be reached: {run.status_detail}"
    if outcomes[Outcome.FAIL]:
        return "non-conformant", f"{outcomes[Outcome.FAIL]} MUST requirement(s) failed"
    if not any(r["level"] == "MUST" and r["outcome"] in JUDGED for r in results):
        # e.g. only the (SHOULD-level) model list answered: no LLM endpoint was judged at all
        return "not-judged", _nothing_judged(results, scope, api)
    unjudged = [e for e, s in scope.items() if s == "not judged"]
    if outcomes[Outcome.ERROR] or unjudged or outcomes[Outcome.NOT_RUN]:
        return "incomplete", _incomplete(results, unjudged)
    if outcomes[Outcome.WARN]:
        return "conformant-with-warnings", f"{outcomes[Outcome.WARN]} SHOULD deviation(s)"
    return "conformant", ""


def _error_causes(results: list[dict[str, Any]]) -> Counter[str]:
    return Counter(r.get("cause") or "harness" for r in results if r["outcome"] == Outcome.ERROR)


def _nothing_judged(results: list[dict[str, Any]], scope: dict[str, str],
                    api: str | None) -> str:
    if not results:
        return "no check was run"
    causes = _error_causes(results)
    if causes and set(causes) <= {"auth"}:
        return ("the target rejected the API key on every endpoint (HTTP 401/403): check "
                "--api-key or the key's environment variable")
    if causes and set(causes) <= {"model"}:
        return "the target does not serve the model under test on any endpoint: check --model"
    if "not served" in scope.values() and "not judged" not in scope.values():
        if api:  # one family of the run: the base URL is only in question when none is served
            return (f"the {api} API is not served at this base URL (its requests got "
                    "404/405)")
        return ("no endpoint with MUST requirements is served at this base URL (their requests "
                "got 404/405). Is the base URL right? It must include the API prefix, e.g. "
                "http://host:8000/v1")
    return "; ".join([*_stopped(results), "no check could reach a verdict" + _causes_text(causes)])


def _stopped(results: list[dict[str, Any]]) -> list[str]:
    """What ended the run's sending early (a gateway that stopped answering, the deadline)."""
    return list(dict.fromkeys(r["message"].removeprefix("not sent: ") for r in results
                              if r["outcome"] == Outcome.ERROR
                              and r.get("cause") in ("stopped", "deadline")))[:3]


def _incomplete(results: list[dict[str, Any]], unjudged: list[str]) -> str:
    parts = _stopped(results)
    if unjudged:
        parts.append(f"not judged: {', '.join(unjudged)}")
    causes = _error_causes(results)
    if causes:
        parts.append(f"{sum(causes.values())} check(s) ended in error{_causes_text(causes)}")
    not_run = sum(1 for r in results if r["outcome"] == Outcome.NOT_RUN)
    if not_run:
        parts.append(f"{not_run} check(s) did not run")
    return "; ".join(parts)


def _causes_text(causes: Counter[str]) -> str:
    return (" (" + ", ".join(f"{c}: {n}" for c, n in causes.most_common()) + ")") if causes else ""


# Exit codes: one meaning each, the same with or without worker processes.
EXIT_CONFORMANT = 0
EXIT_NON_CONFORMANT = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INCOMPLETE = 4
EXIT_STALE = 5  # only with --strict-expectations: nothing unexpected, but a stale expectation
EXIT_SIGNAL = {"SIGINT": 130, "SIGTERM": 143}  # the shell's 128 + signal number


def exit_code(document: dict[str, Any]) -> int:
    """0 conformant; 1 a MUST failed; 3 unreachable; 4 incomplete or nothing judged;
    130/143 interrupted by SIGINT/SIGTERM (4 when the signal is unknown). A run given
    expectations exits by the verdict it would have had were every expected outcome a pass
    (conformance.expectations), and 5 for a stale expectation under --strict-expectations."""
    run = document["run"]
    if run["status"] == "interrupted":
        return EXIT_SIGNAL.get((run.get("interruption") or {}).get("signal"), EXIT_INCOMPLETE)
    if run["status"] == "unreachable":
        return EXIT_UNREACHABLE
    expectations = document["summary"].get("expectations")
    verdict_ = (expectations or document["summary"])["verdict"]
    if verdict_ == "non-conformant":
        return EXIT_NON_CONFORMANT
    if verdict_ in ("incomplete", "not-judged"):
        return EXIT_INCOMPLETE
    if expectations and expectations["strict"] and expectations["stale"]:
        return EXIT_STALE
    return EXIT_CONFORMANT


def usage_stats(exchanges: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Requests sent (second attempts included) and the tokens the gateway reported for them
    (what the run cost), each answer read the way its API family reports usage."""
    exchanges = {key: e for key, e in exchanges.items() if not e.get("not_sent")}
    sent = sum(1 + len(e.get("retries") or ()) for e in exchanges.values())
    tokens = Counter[str]()
    for exchange in exchanges.values():
        api = families()[0] if not exchange.get("api") else family(exchange["api"])
        if api.reported_tokens is not None:
            used_in, used_out = api.reported_tokens(_payloads(exchange))
            tokens["input"] += used_in
            tokens["output"] += used_out
    return {"requests": sent, "input_tokens": tokens["input"],
            "output_tokens": tokens["output"]}


def _payloads(exchange: dict[str, Any]) -> list[Any]:
    """The JSON an answer carried: each event's data for an event stream, else the body (a
    JSON array of chunks counts as its elements)."""
    response = exchange["response"]
    body = response.get("body") or ""
    if response.get("sse"):
        return [_loads(line[5:].strip()) for line in body.splitlines()
                if line.startswith("data:")]
    parsed = _loads(body)
    return parsed if isinstance(parsed, list) else [parsed]


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


@cache
def results_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


# Which of two results for one check stands: the one that says more is wrong.
SEVERITY = (Outcome.NOT_RUN, Outcome.PASS, Outcome.SKIPPED, Outcome.INCONCLUSIVE,
            Outcome.NOT_SUPPORTED, Outcome.WARN, Outcome.FAIL, Outcome.ERROR)


def add_result(results: list[dict[str, Any]], result: dict[str, Any]) -> None:
    """Add one check's result: one result per check, always. Should pytest report a check
    twice (a setup and a teardown problem), the more severe result stands."""
    for index, earlier in enumerate(results):
        if earlier.get("nodeid") == result.get("nodeid"):
            if SEVERITY.index(result["outcome"]) > SEVERITY.index(earlier["outcome"]):
                results[index] = result
            return
    results.append(result)


def validate_document(document: dict[str, Any]) -> None:
    Draft202012Validator(results_schema()).validate(document)


def write_document(document: dict[str, Any], path: Path, redactor: Redactor) -> None:
    # Last line of defence: the serialized text passes the redactor once more.
    validate_document(document)
    path.write_text(redactor.text(json.dumps(document, indent=2, ensure_ascii=False)) + "\n",
                    encoding="utf-8")


def load_document(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))
