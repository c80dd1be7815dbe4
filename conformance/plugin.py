"""The pytest plugin: the one engine behind `conformance run` and plain `pytest`.

It turns pytest options and the environment into the run's Config, starts the embedded reference
gateway when no target is given, gives checks their fixtures, maps each check's exception to an
outcome, and writes results.json plus the reports rendered from it.
"""

from __future__ import annotations

import fnmatch
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance import check as check_model
from conformance.check import CheckFailed, HarnessError, Level, NotSupported, Outcome
from conformance.checks import CHECKS_DIR
from conformance.config import Config, ConfigError, build_config
from conformance.http import Client, Exchange
from conformance.redact import Redactor
from conformance.reporting import terminal, write_reports
from conformance.results import RunInfo, build_document, exit_code
from conformance.target import Target, TargetUnreachable

RESULT_PROPERTY = "conformance-result"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "OpenAI-compatible gateway conformance")
    group.addoption("--base-url", help="target base URL including /v1 (env OPENAI_BASE_URL); "
                    "none: start the embedded reference gateway")
    group.addoption("--api-key", help="API key (env OPENAI_API_KEY); never written out")
    group.addoption("--model", help="model under test (env CONFORMANCE_MODEL)")
    group.addoption("--header", action="append", default=[], metavar="'Name: value'",
                    help="extra request header, repeatable")
    group.addoption("--output", help="report directory (default reports/<UTC timestamp>)")
    group.addoption("--select", action="append", default=[], metavar="GLOB",
                    help="run only checks whose id matches, repeatable (e.g. 'chat.stream.*')")
    group.addoption("--request-timeout", type=float, help="per-request timeout in seconds")
    group.addoption("--cases", type=int, help="schema-generated cases per operation and mode")
    group.addoption("--seed", type=int, help="seed of the schema-generated cases (for replay)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance(id): a conformance check with a stable id")
    option = config.option
    try:
        settings = build_config(
            base_url=option.base_url, api_key=option.api_key, model=option.model,
            headers=option.header, output=option.output, select=option.select,
            timeout=option.request_timeout, cases=option.cases, seed=option.seed,
        )
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.pluginmanager.register(ConformanceRun(config, settings), "conformance-run")


def _run(config: pytest.Config) -> ConformanceRun:
    return config.pluginmanager.get_plugin("conformance-run")


@pytest.fixture(scope="session")
def conformance(pytestconfig: pytest.Config) -> Target:
    """The reachable target of this run (starts the embedded gateway on first use)."""
    run = _run(pytestconfig)
    try:
        run.target.ensure_reachable()
    except TargetUnreachable as exc:
        run.run.status, run.run.status_detail = "unreachable", str(exc)
        pytest.exit(f"target unreachable: {exc}", returncode=3)
    return run.target


@pytest.fixture(scope="session")
def client(conformance: Target) -> Client:
    return conformance.client


@pytest.fixture(scope="session")
def model(conformance: Target) -> str:
    return conformance.config.model


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    # Check modules are named after the API surface (chat/streaming.py), not test_*.py.
    if (file_path.suffix == ".py" and CHECKS_DIR in file_path.parents
            and file_path.name not in ("__init__.py", "conftest.py")):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


class ConformanceRun:
    """Per-process state of one run: target, client, collected results."""

    def __init__(self, pytest_config: pytest.Config, settings: Config) -> None:
        self.pytest_config = pytest_config
        self.settings = settings
        self.target = Target(settings, worker_id=_worker_id(pytest_config))
        self.results: list[dict[str, Any]] = []
        self.exchanges: dict[str, dict[str, Any]] = {}
        self.run = RunInfo(target=settings.base_url or "embedded reference gateway",
                           embedded=settings.embedded, model=settings.model,
                           select=list(settings.select))
        self.document: dict[str, Any] | None = None

    # --- collection -------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        for item in items:
            meta = _meta(item)
            if meta is not None:
                # With --workers, one endpoint's checks run in one worker, so the exchanges they
                # share are sent once per run, not once per worker (`--dist loadgroup`).
                item.add_marker(pytest.mark.xdist_group(meta.id.split(".", 1)[0]))
        if not self.settings.select:
            return
        keep, drop = [], []
        for item in items:
            meta = _meta(item)
            matched = meta is None or any(fnmatch.fnmatchcase(meta.id, g)
                                          for g in self.settings.select)
            (keep if matched else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    # --- outcomes ---------------------------------------------------------------------------

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        check_model.take_details()  # nothing recorded by an earlier check leaks into this one
        item.stash[_START] = (time.monotonic(), self.target.exchange_count())

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Iterator[pytest.TestReport]:
        report: pytest.TestReport = yield
        meta = _meta(item)
        if meta is None or call.when == "teardown" or (call.when == "setup" and report.passed):
            return report
        outcome, message, expected, actual = _classify(meta, call, report)
        message = self.target.redactor.text(message)
        started, first_exchange = item.stash.get(_START, (time.monotonic(), 0))
        evidence = self._evidence(item, first_exchange)
        result = {
            **meta.as_dict(),
            "outcome": outcome.value,
            "message": message,
            "expected": _jsonable(expected),
            "actual": _jsonable(actual),
            "duration": round(time.monotonic() - started, 4),
            "exchanges": [e["id"] for e in evidence],
            "nodeid": item.nodeid,
            "details": _jsonable(check_model.take_details()),
        }
        _apply_outcome(report, outcome, meta, message, expected, actual, evidence, item)
        if isinstance(report.longrepr, str):  # what pytest prints: redacted like everything else
            report.longrepr = self.target.redactor.text(report.longrepr)
        payload = json.dumps({"result": result, "evidence": evidence})
        report.user_properties.append((RESULT_PROPERTY, self.target.redactor.text(payload)))
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == RESULT_PROPERTY:
                payload = json.loads(value)
                self.results.append(payload["result"])
                for exchange in payload["evidence"]:
                    self.exchanges.setdefault(exchange["id"], exchange)

    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, str] | None:
        outcome = _reported_outcome(report)
        return terminal.STATUS.get(outcome) if outcome else None

    # --- end of run -------------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.target.close()
        if _worker_id(self.pytest_config) or not (self.results or self.run.status != "completed"):
            return  # xdist workers report to the controller; runs of the project's own tests
        generated = {"seed": self.settings.seed, "cases_per_operation": self.settings.cases}
        self.document = build_document(self.run, self.results, self.exchanges,
                                       extra={"generated": generated})
        out_dir = write_reports(self.document, self.settings.output,
                                Redactor(self.settings.secrets() + self.target.secrets()))
        self.document["__dir__"] = str(out_dir)
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, 3):
            session.exitstatus = exit_code(self.document)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.document is not None:
            terminalreporter.write(terminal.render(self.document, terminalreporter.isatty))

    def _evidence(self, item: pytest.Item, first_exchange: int) -> list[dict[str, Any]]:
        used: dict[str, Exchange] = {}
        for value in getattr(item, "funcargs", {}).values():
            for exchange in _exchanges_in(value):
                used.setdefault(exchange.id, exchange)
        for exchange in self.target.exchanges_since(first_exchange):
            used.setdefault(exchange.id, exchange)
        return [e.evidence() for e in used.values()]


_START = pytest.StashKey[tuple[float, int]]()


def _meta(item: pytest.Item) -> check_model.Check | None:
    return getattr(getattr(item, "obj", None), "conformance_check", None)


def _worker_id(config: pytest.Config) -> str:
    return getattr(config, "workerinput", {}).get("workerid", "")


def _classify(
    meta: check_model.Check, call: pytest.CallInfo[None], report: pytest.TestReport
) -> tuple[Outcome, str, Any, Any]:
    if call.excinfo is None:
        return Outcome.PASS, "", None, None
    exc = call.excinfo.value
    if isinstance(exc, check_model.ShouldViolation):
        return Outcome.WARN, exc.message, exc.expected, exc.actual
    if isinstance(exc, CheckFailed):
        outcome = Outcome.FAIL if meta.level == Level.MUST else Outcome.WARN
        return outcome, exc.message, exc.expected, exc.actual
    if isinstance(exc, NotSupported):
        return Outcome.NOT_SUPPORTED, str(exc), None, None
    if isinstance(exc, HarnessError):
        return Outcome.ERROR, str(exc), None, None
    if isinstance(exc, AssertionError):
        outcome = Outcome.FAIL if meta.level == Level.MUST else Outcome.WARN
        return outcome, str(exc).split("\nassert ")[0] or "assertion failed", None, None
    if call.excinfo.errisinstance(pytest.skip.Exception):
        return Outcome.SKIPPED, str(exc.msg), None, None
    return Outcome.ERROR, f"harness error: {type(exc).__name__}: {exc}", None, None


def _apply_outcome(
    report: pytest.TestReport,
    outcome: Outcome,
    meta: check_model.Check,
    message: str,
    expected: Any,
    actual: Any,
    evidence: list[dict[str, Any]],
    item: pytest.Item,
) -> None:
    """Make pytest's own verdict agree with ours (so plain pytest exits the same way)."""
    if outcome in (Outcome.PASS, Outcome.WARN):
        report.outcome = "passed"
        report.longrepr = None
    elif outcome in (Outcome.NOT_SUPPORTED, Outcome.SKIPPED):
        report.outcome = "skipped"
        path, lineno, _ = item.location
        report.longrepr = (path, (lineno or 0) + 1, f"{outcome.value}: {message}")
    else:
        report.outcome = "failed"
        report.longrepr = terminal.failure_text(meta, outcome, message, expected, actual, evidence)


def _reported_outcome(report: pytest.TestReport | pytest.CollectReport) -> str | None:
    # Collection reports (a module that fails to import) carry no user properties.
    for name, value in getattr(report, "user_properties", ()):
        if name == RESULT_PROPERTY:
            return str(json.loads(value)["result"]["outcome"])
    return None


def _exchanges_in(value: Any) -> Iterator[Exchange]:
    if isinstance(value, Exchange):
        yield value
    elif isinstance(value, (list, tuple)):
        for element in value:
            yield from _exchanges_in(element)
    elif isinstance(value, dict):
        for element in value.values():
            yield from _exchanges_in(element)
    elif isinstance(getattr(value, "exchange", None), Exchange):
        yield value.exchange  # decoded streams keep the exchange they came from


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)
