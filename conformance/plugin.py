"""The pytest plugin: the one engine behind `conformance run` and plain `pytest`.

It turns pytest options and the environment into the run's Config, starts the embedded reference
gateway when no target is given, has `conformance.plan` record every exchange the selected checks
use before the first check runs (concurrently, each once), gives checks their fixtures, maps each
check's exception to an outcome, journals each exchange and result as it arrives, and writes
results.json plus the reports rendered from it. SIGINT and SIGTERM end the run like this too:
the checks that did not run are listed `not_run` and the run is marked interrupted.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance import check as check_model
from conformance import expectations, history, journal, schemas, signals, tokens
from conformance.check import CheckFailed, HarnessError, Level, NotSupported, Outcome
from conformance.config import Config, ConfigError, build_config
from conformance.family import (
    APIS_DIR,
    check_dirs,
    families,
    family_of_module,
    in_checks,
    load_checks,
    selected,
)
from conformance.http import Exchange, get
from conformance.journal import Journal
from conformance.plan import PLAN, Recorder, Recordings, longest_chain, no_connection
from conformance.preconditions import EndpointAbsent
from conformance.redact import Redactor
from conformance.reporting import output_dir, terminal, write_reports
from conformance.results import RunInfo, add_result, build_document, exit_code
from conformance.target import Target, TargetUnreachable

RESULT_PROPERTY = "conformance-result"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "OpenAI-compatible gateway conformance")
    group.addoption("--base-url", help="target base URL including /v1 (env OPENAI_BASE_URL); "
                    "none: start the embedded reference gateway")
    group.addoption("--api-key", action="append", metavar="[FAMILY=]KEY",
                    help="API key, per API family when several (env: each family's, e.g. "
                    "OPENAI_API_KEY); never written out")
    group.addoption("--model", action="append", metavar="[FAMILY=]NAME",
                    help="model under test, per API family when several (env: each family's, "
                    "e.g. CONFORMANCE_MODEL)")
    group.addoption("--header", action="append", default=[], metavar="'Name: value'",
                    help="extra request header, repeatable")
    group.addoption("--output", help="report directory (default reports/<UTC timestamp>)")
    group.addoption("--select", action="append", default=[], metavar="GLOB",
                    help="run only checks whose id matches, repeatable (e.g. 'chat.stream.*')")
    group.addoption("--request-timeout", type=float, help="bound on each request in seconds")
    group.addoption("--concurrency", type=int, help="requests in flight at once")
    group.addoption("--max-time", type=float, help="bound on the whole run in seconds")
    group.addoption("--cases", type=int, help="schema-generated cases per operation and mode")
    group.addoption("--seed", type=int, help="seed of the schema-generated cases (for replay)")
    group.addoption("--endpoints", help="endpoints the gateway serves, e.g. 'chat,responses': "
                    "one that is absent fails (default: judge every endpoint that answers)")
    group.addoption("--tokenizer", metavar="NAME", help="encoding the billing checks count "
                    f"tokens with: {' or '.join(tokens.ENCODINGS)} (env CONFORMANCE_TOKENIZER; "
                    "default: from the model name)")
    group.addoption("--history", metavar="PATH", help="history database the run is recorded in "
                    "(env CONFORMANCE_HISTORY; default reports/history.sqlite)")
    group.addoption("--no-history", action="store_true", help="do not record the run")
    group.addoption("--expectations", metavar="FILE", help="the target's known deviations "
                    "(YAML): expected outcomes do not fail the run, stale ones are reported")
    group.addoption("--strict-expectations", action="store_true",
                    help="a stale expectation fails the run (exit 5)")
    group.addoption("--target-name", metavar="NAME", help="the target's name in a targets "
                    "file (conformance run --config), recorded as run.target_name")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance(id): a conformance check with a stable id")
    option = config.option
    try:
        settings = build_config(
            base_url=option.base_url, api_key=option.api_key, model=option.model,
            headers=option.header, output=option.output, select=option.select,
            timeout=option.request_timeout, cases=option.cases, seed=option.seed,
            endpoints=option.endpoints, concurrency=option.concurrency,
            max_time=option.max_time, tokenizer=option.tokenizer,
            history=option.history, no_history=option.no_history,
            expectations=option.expectations, strict_expectations=option.strict_expectations,
            target_name=option.target_name,
        )
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    run = ConformanceRun(config, settings)
    if run.suite_run and getattr(option, "numprocesses", None):
        # One process records and judges; more processes would send the exchanges again.
        raise pytest.UsageError("the checks run in one process: use --concurrency N for "
                                "parallel requests, not -n")
    config.pluginmanager.register(run, "conformance-run")
    if run.suite_run:
        run.install_sigterm()


def _run(config: pytest.Config) -> ConformanceRun:
    return config.pluginmanager.get_plugin("conformance-run")


@pytest.fixture(scope="session")
def conformance(pytestconfig: pytest.Config) -> Target:
    """The reachable target of this run.

    An unreachable target is one error, cached by pytest for every check: the results document
    then says "unreachable".
    """
    run = _run(pytestconfig)
    try:
        run.target.ensure_reachable()
    except TargetUnreachable as exc:
        raise HarnessError(f"target unreachable: {exc}", cause="unreachable") from None
    return run.target


@pytest.fixture(scope="session")
def recordings(pytestconfig: pytest.Config, conformance: Target) -> Recordings:
    """Every exchange recorded for this run (what `@exchange` fixtures read)."""
    return _run(pytestconfig).recordings


@pytest.fixture
def model(request: pytest.FixtureRequest, conformance: Target) -> str:
    """The model under test of the API family whose check asks (as its requests were built)."""
    declared = family_of_module(request.module.__name__)
    return conformance.config.model_for((declared or families()[0]).name)


@pytest.fixture(scope="session")
def tokenizer(conformance: Target) -> tokens.Tokenizer:
    """The encoding the checks that count tokens locally use, and why (`--tokenizer`)."""
    return tokens.encoding_for(conformance.config)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    # Check modules are named after the API surface (chat/streaming.py), not test_*.py.
    if (file_path.suffix == ".py" and in_checks(file_path.parent)
            and file_path.name not in ("__init__.py", "conftest.py")):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


class ConformanceRun:
    """Per-process state of one run: target, client, collected results."""

    def __init__(self, pytest_config: pytest.Config, settings: Config) -> None:
        self.pytest_config = pytest_config
        self.settings = settings
        self.started = time.monotonic()  # the run's --max-time counts from here
        self.worker = _worker_id(pytest_config)
        self.target = Target(settings)
        self.recordings = Recordings()
        self.results: list[dict[str, Any]] = []
        self.exchanges: dict[str, dict[str, Any]] = {}
        self.run = RunInfo(target=settings.base_url or "embedded reference gateway",
                           embedded=settings.embedded, model=settings.model,
                           select=list(settings.select), endpoints=list(settings.endpoints))
        self.extra: dict[str, Any] = {
            "generated": {"seed": settings.seed, "cases_per_operation": settings.cases},
            "tokenizer": tokens.encoding_for(settings).as_dict(),
            # what a run's history is keyed by, with the target and versions
            "models": {f.name: settings.model_for(f.name) for f in families()}}
        if settings.target_name:
            self.extra["target_name"] = settings.target_name
        self.expected: dict[str, str] = {}  # node id -> check id, of every check to run
        self.signal: str | None = None
        self.journal: Journal | None = None
        self.document: dict[str, Any] | None = None
        self._restore = ExitStack()  # the signal handlers to put back at the end
        # A run of the checks (`conformance run`, `pytest conformance/apis`), not of the
        # project's own tests: only such a run writes reports, even when interrupted early.
        self.suite_run = any(_within_checks(arg) for arg in pytest_config.args)

    # --- signals ----------------------------------------------------------------------------

    def install_sigterm(self) -> None:
        """From configuration on, SIGTERM ends the run like Ctrl-C: reports still get written."""
        if not self.worker:
            self._restore.enter_context(signals.sigterm_raises())

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.signal = signals.signal_name(excinfo.value)

    # --- collection -------------------------------------------------------------------------

    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        if not self.settings.select:
            return
        keep, drop = [], []
        for item in items:
            meta = _meta(item)
            matched = meta is None or selected(meta.id, self.settings.select)
            (keep if matched else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.expected = {i.nodeid: m.id for i in session.items if (m := _meta(i)) is not None}

    # --- recording --------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        """Record every exchange the collected checks use, before the first of them runs."""
        names = {name for item in session.items for name in getattr(item, "fixturenames", ())
                 if name in PLAN}
        if names and not session.config.option.collectonly:
            self._record(names)

    def _record(self, names: set[str]) -> None:
        self._journal()  # before the first request: an earlier run's reports go now
        config = self.target.start()
        schemas.preload()  # start-up stays outside the first request's timeout
        tokens.preload(tokens.encoding_for(config).encoding)
        recorder = Recorder(config, self._journal_exchange,
                            deadline=self.started + config.max_time)
        self.recordings = recorder.recordings  # an interrupted run keeps what it recorded
        probe = recorder.record(names, probe=get("/models"))
        if probe is not None and no_connection(probe):
            self.target.unreachable = probe.transport_error
        self.extra["plan"] = {"exchanges": recorder.planned, "sent": recorder.sent,
                              "longest_chain": longest_chain(names),
                              "concurrency": config.concurrency}

    def _journal_exchange(self, exchange: Exchange) -> None:
        self._journal().exchange(self._redacted(exchange))

    def _redacted(self, exchange: Exchange) -> dict[str, Any]:
        return json.loads(self.target.redactor.text(json.dumps(exchange.evidence())))

    # --- outcomes ---------------------------------------------------------------------------

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        check_model.begin(_meta(item))  # nothing observed by an earlier check leaks into it
        item.stash[_START] = time.monotonic()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Iterator[pytest.TestReport]:
        report: pytest.TestReport = yield
        meta = _meta(item)
        if meta is None or call.when == "teardown" or (call.when == "setup" and report.passed):
            return report
        running = check_model.finish()
        verdict = _classify(meta, call, running)
        verdict.message = self.target.redactor.text(verdict.message)
        started = item.stash.get(_START, time.monotonic())
        evidence = _evidence(item, _first(verdict, running))
        result = {
            **_result(meta, verdict),
            "duration": round(time.monotonic() - started, 4),
            "exchanges": [e["id"] for e in evidence],
            "nodeid": item.nodeid,
        }
        _apply_outcome(report, verdict, meta, evidence, item)
        if isinstance(report.longrepr, str):  # what pytest prints: redacted like everything else
            report.longrepr = self.target.redactor.text(report.longrepr)
        payload = json.dumps({"result": result, "evidence": evidence})
        report.user_properties.append((RESULT_PROPERTY, self.target.redactor.text(payload)))
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == RESULT_PROPERTY:
                payload = json.loads(value)
                add_result(self.results, payload["result"])
                for exchange in payload["evidence"]:
                    self.exchanges.setdefault(exchange["id"], exchange)
                self._journal().add(payload["result"], payload["evidence"])

    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, str] | None:
        outcome = _reported_outcome(report)
        if outcome and self._foreseen(report.nodeid, outcome):
            return terminal.EXPECTED  # counted apart from new failures, as in the summary
        return terminal.STATUS.get(outcome) if outcome else None

    def _foreseen(self, nodeid: str, outcome: str) -> bool:
        """True when the run's expectations name this outcome for the check (`expected`)."""
        known = self.settings.expectations
        check_id = self.expected.get(nodeid)
        return bool(known and check_id
                    and expectations.status(outcome, known.entry_for(check_id)) == "expected")

    def _journal(self) -> Journal:
        """Opened with the first result, so runs of the project's own tests write nothing."""
        if self.journal is None:
            out_dir = output_dir(self.settings.output)
            self.journal = Journal(out_dir, self.run, self.extra, self.expected)
        return self.journal

    # --- end of run -------------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.target.close()
        stopped_early = self.signal and self.suite_run
        if (self.worker or session.config.option.collectonly
                or not (self.results or self.expected or stopped_early)):
            # xdist workers report to the controller; the project's own tests, listing the
            # checks and a selection of no check (a usage error) write nothing
            return
        self._write_document(bool(self.signal)
                             or session.exitstatus == pytest.ExitCode.INTERRUPTED)
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED,
                                  pytest.ExitCode.INTERRUPTED):
            session.exitstatus = exit_code(self.document)

    @pytest.hookimpl(tryfirst=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        # Interrupted while configuring or starting workers: pytest skips sessionfinish.
        if self.signal and self.suite_run and not self.worker and self.document is None:
            self.target.close()
            self._write_document(interrupted=True)
        self._restore.close()

    def _write_document(self, interrupted: bool) -> None:
        if interrupted:
            self.run.interrupt(self.signal, f"interrupted by {self.signal or 'the user'}")
            self.expected = self.expected or self._selected_checks()  # stopped before collection
        self.results += journal.not_run(
            self.expected, self.results, "the run was interrupted before this check ran"
            if interrupted else "the run ended before this check ran")
        run_journal = self._journal()
        for exchange in self.recordings.exchanges.values():  # those no check used too
            self.exchanges.setdefault(exchange.id, self._redacted(exchange))
        self.document = build_document(self.run, self.results, self.exchanges, extra=self.extra)
        if self.settings.expectations is not None:
            expectations.apply(self.document, self.settings.expectations,
                               self.settings.strict_expectations)
        if self.settings.history:
            history.track(self.document, self.settings.history,
                          run_journal.path.parent / "results.json")
        out_dir = write_reports(self.document, run_journal.path.parent,
                                Redactor(self.settings.secrets() + self.target.secrets()),
                                latest=self.settings.output is None)
        run_journal.remove()
        self.document["__dir__"] = str(out_dir)

    def _selected_checks(self) -> dict[str, str]:
        """Every registered check the selection keeps (id -> id): the plan before collection."""
        return {i: i for i in load_checks() if selected(i, self.settings.select)}

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.document is not None:
            terminalreporter.write(terminal.render(self.document, terminalreporter.isatty))



@dataclass
class Verdict:
    """How one check ended: its outcome and what the report says about it."""

    outcome: Outcome
    message: str = ""
    expected: Any = None
    actual: Any = None
    cause: str | None = None  # error: auth, rate-limit, ...; not_supported: absent or declined
    observed: dict[str, int] | None = None
    # fail, warn, inconclusive: a defect of an exchange other checks meet too (grouped by it)
    root_cause: check_model.Cause | None = None
    details: dict[str, Any] | None = None


def _result(meta: check_model.Check, verdict: Verdict) -> dict[str, Any]:
    return {
        **meta.as_dict(),
        "outcome": verdict.outcome.value,
        "message": verdict.message,
        "cause": verdict.cause,
        "expected": _jsonable(verdict.expected),
        "actual": _jsonable(verdict.actual),
        "observed": verdict.observed or {},
        "details": _jsonable(verdict.details or {}),
        "root_cause": verdict.root_cause.as_dict() if verdict.root_cause else None,
    }


def _within_checks(arg: str) -> bool:
    """True for a path at or inside a family's checks, or above them within conformance/apis."""
    path = Path(arg.split("::", 1)[0]).resolve()
    return in_checks(path) or ((path == APIS_DIR or APIS_DIR in path.parents) and any(
        path in d.parents for d in check_dirs()))


def _first(verdict: Verdict, running: check_model.Running) -> list[str]:
    """Ids of the exchanges that show the check's defect: its root cause's, then those the
    check named when it found a problem (`shows=`)."""
    cause = [verdict.root_cause.exchange] if verdict.root_cause else []
    return list(dict.fromkeys(cause + running.shown))


def _evidence(item: pytest.Item, first: list[str]) -> list[dict[str, Any]]:
    """The exchanges a check read (every one in the values of its fixtures), the one that shows
    its defect first, so that the report opens it and lists its `curl` first: those in `first`;
    then those of the check's own arguments, a stream before a non-streamed answer (a check
    that reads both compares the stream with it); last, those it reached only through other
    fixtures (the gate that finds the endpoint served, the parent of a follow-up)."""
    own = set(inspect.signature(item.obj).parameters) if hasattr(item, "obj") else set()
    found: dict[str, tuple[tuple[int, bool, bool], Exchange]] = {}
    for name, value in getattr(item, "funcargs", {}).items():
        for exchange, streamed in _exchanges_in(value):
            rank = (first.index(exchange.id) if exchange.id in first else len(first),
                    name not in own, not streamed)
            if exchange.id not in found or rank < found[exchange.id][0]:
                found[exchange.id] = (rank, exchange)
    # sorted() is stable: exchanges of equal rank keep their fixtures' order
    return [e.evidence() for _, e in sorted(found.values(), key=lambda f: f[0])]


_START = pytest.StashKey[float]()


def _meta(item: pytest.Item) -> check_model.Check | None:
    return getattr(getattr(item, "obj", None), "conformance_check", None)


def _worker_id(config: pytest.Config) -> str:
    return getattr(config, "workerinput", {}).get("workerid", "")


def _classify(
    meta: check_model.Check, call: pytest.CallInfo[None], running: check_model.Running
) -> Verdict:
    verdict = _verdict_of(meta, call, running)
    verdict.observed, verdict.details = running.observed, running.details
    return verdict


def _verdict_of(
    meta: check_model.Check, call: pytest.CallInfo[None], running: check_model.Running
) -> Verdict:
    if call.excinfo is None:
        if not running.observed:  # a check never passes without having seen its subject
            return Verdict(Outcome.INCONCLUSIVE, "nothing to judge: the exchanges showed no "
                           f"{meta.observes or 'subject for this check'}")
        return Verdict(Outcome.PASS)
    exc = call.excinfo.value
    failed = Outcome.FAIL if meta.level == Level.MUST else Outcome.WARN
    if isinstance(exc, check_model.ShouldViolation):
        return Verdict(Outcome.WARN, exc.message, exc.expected, exc.actual,
                       root_cause=exc.root_cause)
    if isinstance(exc, CheckFailed):
        return Verdict(failed, exc.message, exc.expected, exc.actual, root_cause=exc.root_cause)
    if isinstance(exc, NotSupported):
        cause = "absent" if isinstance(exc, EndpointAbsent) else "declined"
        return Verdict(Outcome.NOT_SUPPORTED, str(exc), cause=cause)
    if isinstance(exc, check_model.Inconclusive):
        return Verdict(Outcome.INCONCLUSIVE, str(exc), root_cause=exc.root_cause)
    if isinstance(exc, HarnessError):
        return Verdict(Outcome.ERROR, str(exc), cause=exc.cause)
    if isinstance(exc, AssertionError):
        return Verdict(failed, str(exc).split("\nassert ")[0] or "assertion failed")
    if call.excinfo.errisinstance(pytest.skip.Exception):
        return Verdict(Outcome.SKIPPED, str(exc.msg))
    return Verdict(Outcome.ERROR, f"harness error: {type(exc).__name__}: {exc}", cause="harness")


def _apply_outcome(
    report: pytest.TestReport,
    verdict: Verdict,
    meta: check_model.Check,
    evidence: list[dict[str, Any]],
    item: pytest.Item,
) -> None:
    """Make pytest's own verdict agree with ours (so plain pytest exits the same way)."""
    outcome, message = verdict.outcome, verdict.message
    if outcome in (Outcome.PASS, Outcome.WARN) and report.when == "call":
        report.outcome = "passed"
        report.longrepr = None
    elif outcome in (Outcome.NOT_SUPPORTED, Outcome.SKIPPED, Outcome.INCONCLUSIVE, Outcome.WARN):
        # (a WARN found while setting up: the test body must not run after it)
        report.outcome = "skipped"
        path, lineno, _ = item.location
        report.longrepr = (path, (lineno or 0) + 1, f"{outcome.value}: {message}")
    else:
        report.outcome = "failed"
        report.longrepr = terminal.failure_text(meta, outcome, message, verdict.expected,
                                                verdict.actual, evidence, verdict.root_cause)


def _reported_outcome(report: pytest.TestReport | pytest.CollectReport) -> str | None:
    # Collection reports (a module that fails to import) carry no user properties.
    for name, value in getattr(report, "user_properties", ()):
        if name == RESULT_PROPERTY:
            return str(json.loads(value)["result"]["outcome"])
    return None


def _exchanges_in(value: Any) -> Iterator[tuple[Exchange, bool]]:
    """Each exchange in a fixture's value, and whether it was read as a stream."""
    if isinstance(value, Exchange):
        yield value, False
    elif isinstance(value, (list, tuple)):
        for element in value:
            yield from _exchanges_in(element)
    elif isinstance(value, dict):
        for element in value.values():
            yield from _exchanges_in(element)
    elif isinstance(getattr(value, "exchange", None), Exchange):
        yield value.exchange, True  # decoded streams keep the exchange they came from


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)
