"""The `conformance` command: run, list, serve.

`run` is a thin front end: it validates the flags into a Config, then calls pytest.main with the
plugin, exactly what plain `pytest --base-url ...` does. Exit codes (conformance.results): 0
conformant; 1 a MUST requirement failed; 2 bad usage or config; 3 the target could not be reached;
4 incomplete (errors, an endpoint in scope not judged, nothing judged at all); 5 nothing
unexpected, but a stale expectation under --strict-expectations; 130 / 143 the run was
interrupted by SIGINT / SIGTERM. With --expectations, an expected outcome fails nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from conformance import __version__, diff, expectations, history, matrix, targets, tokens
from conformance.config import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_TIME,
    DEFAULT_TIMEOUT,
    Config,
    ConfigError,
    build_config,
)
from conformance.family import APIS_DIR, check_dirs, family, load_checks, selected
from conformance.results import EXIT_INCOMPLETE, EXIT_USAGE, exit_code
from conformance.signals import signal_name, sigterm_raises
from conformance.tokens import ENCODINGS


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="conformance", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the checks against a gateway and write reports")
    run.add_argument("--base-url", help="base URL including /v1 (default: $OPENAI_BASE_URL; "
                     "none: the embedded reference gateway)")
    run.add_argument("--api-key", action="append", metavar="[FAMILY=]KEY",
                     help="API key, per API family when several (default: each family's "
                     "variable, e.g. $OPENAI_API_KEY); never written out")
    run.add_argument("--model", action="append", metavar="[FAMILY=]NAME",
                     help="model under test, per API family when several (default: each "
                     "family's variable, e.g. $CONFORMANCE_MODEL, or its default model)")
    run.add_argument("--header", action="append", default=[], metavar="'Name: value'",
                     help="extra header sent with every request (repeatable)")
    run.add_argument("--output", metavar="DIR", help="report directory "
                     "(default: reports/<UTC timestamp>/, and reports/latest points at it)")
    run.add_argument("--select", action="append", default=[], metavar="GLOB",
                     help="only checks whose id matches (repeatable), e.g. 'chat.stream.*'")
    run.add_argument("--concurrency", type=int, metavar="N", help="requests in flight at once "
                     f"(default {DEFAULT_CONCURRENCY}; 1 for a gateway that cannot take more)")
    run.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                     help="bound on each request, in total; longer responses are cut and "
                     "reported")
    run.add_argument("--max-time", type=float, metavar="SECONDS", help="bound on the whole run: "
                     f"nothing is sent after it (default {DEFAULT_MAX_TIME:g})")
    run.add_argument("--cases", type=int, metavar="N", help="schema-generated cases per "
                     "operation and mode (default 8; 0 turns generated checks off)")
    run.add_argument("--seed", type=int, metavar="N", help="seed of the generated cases; "
                     "results.json records it so a failure can be replayed")
    run.add_argument("--endpoints", metavar="LIST", help="endpoints the gateway serves, e.g. "
                     "'chat,responses' (default: judge every endpoint that answers; a claimed "
                     "endpoint that is absent fails)")
    run.add_argument("--tokenizer", metavar="NAME", help="encoding the billing checks count "
                     f"tokens with: {' or '.join(ENCODINGS)} (default: $CONFORMANCE_TOKENIZER, "
                     "else from the model name; needed for a model alias such as "
                     "'aimock-native')")
    run.add_argument("--history", metavar="PATH", help="history database the run is recorded "
                     "in (default: $CONFORMANCE_HISTORY, else reports/history.sqlite)")
    run.add_argument("--no-history", action="store_true", help="do not record the run")
    run.add_argument("--expectations", metavar="FILE", help="the target's known deviations "
                     "(YAML, see `conformance expectations`): a run whose only problems are "
                     "expected exits 0; stale expectations are reported")
    run.add_argument("--strict-expectations", action="store_true",
                     help="a stale expectation (the check now passes) fails the run (exit 5)")
    run.add_argument("--config", metavar="FILE", help="a targets file (TOML, see README): each "
                     "target in turn into OUTPUT/<name>/ (OUTPUT: --output, default reports/), "
                     "then their matrix into OUTPUT")
    run.add_argument("--target", metavar="NAME", help="with --config: only this target")
    run.set_defaults(handler=_run, target_name=None)

    listing = commands.add_parser("list", help="print every check with its metadata")
    listing.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    listing.add_argument("--select", action="append", default=[], metavar="GLOB")
    listing.set_defaults(handler=_list)

    expected = commands.add_parser("expectations", help="write or update an expectations file "
                                   "from a run's results (keeps reasons, links and globs)")
    expected.add_argument("results", metavar="RESULTS", type=Path,
                          help="a results.json, or the run directory holding it")
    expected.add_argument("--file", type=Path, default=Path("expectations.yaml"),
                          help="the expectations file (default: expectations.yaml)")
    expected.set_defaults(handler=lambda a: expectations.write_file(a.results, a.file))

    report = commands.add_parser("report", help="render index.html and junit.xml again from a "
                                 "results.json, or from the journal a killed run left")
    report.add_argument("dir", metavar="DIR", help="a run directory holding results.json")
    report.set_defaults(handler=_report)

    recorded = commands.add_parser("history", help="per-endpoint and per-check trends of the "
                                   "recorded runs, by series of comparable runs")
    recorded.add_argument("--history", metavar="PATH", type=Path, help="the database (default: "
                          "$CONFORMANCE_HISTORY, else reports/history.sqlite)")
    recorded.add_argument("--rebuild", metavar="DIR", type=Path, help="first build the database "
                          "again from every results.json under DIR")
    recorded.add_argument("--target", metavar="T", help="only this target (a name or glob)")
    recorded.add_argument("--check", action="append", default=[], metavar="GLOB",
                          help="these checks (repeatable; default: those whose outcome changed)")
    recorded.add_argument("--endpoint", metavar="E", help="only this endpoint: its id (chat) or "
                          "title ('POST /v1/chat/completions')")
    recorded.add_argument("--last", type=int, default=history.TREND_RUNS, metavar="N",
                          help=f"runs shown per series (default {history.TREND_RUNS})")
    recorded.add_argument("--json", action="store_true", help="as JSON, for tooling")
    recorded.set_defaults(handler=lambda a: history.command(
        a.history, a.rebuild, a.target, a.check, a.endpoint, a.last, a.json))

    comparison = commands.add_parser("diff", help="regressions and fixes from run A to run B, "
                                     "check by check (exit 1 on a regression)")
    comparison.add_argument("a", metavar="A",
                            help="results.json, its run directory, or a history run id")
    comparison.add_argument("b", metavar="B", help="the same, for the later run")
    comparison.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    comparison.add_argument("--history", metavar="PATH", type=Path,
                            help="the database run ids refer to (default as for history)")
    comparison.set_defaults(handler=lambda a: diff.run(a.a, a.b, a.history, a.format))

    grid = commands.add_parser("matrix", help="several runs side by side: one self-contained "
                               "HTML page (matrix.html) and its Markdown (matrix.md)")
    grid.add_argument("results", nargs="+", type=Path, metavar="RESULTS",
                      help="results.json files or run directories")
    grid.add_argument("--output", metavar="DIR", type=Path, default=Path("reports"),
                      help="where matrix.html and matrix.md go (default: reports/)")
    grid.set_defaults(handler=lambda a: matrix.command(a.results, a.output))

    serve = commands.add_parser("serve", help="run the reference gateway in the foreground")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--fault", help="violate exactly one requirement (see --list-faults)")
    serve.add_argument("--api-key", help="require this bearer key (default: none required)")
    serve.add_argument("--behaviour", default="obedient",
                       help="the model's clean behaviour: 'obedient' (default, follows the "
                       "prompt) or 'fixed-reply' (ignores it; every API parameter still holds)")
    serve.add_argument("--list-faults", action="store_true", help="print the fault modes and exit")
    serve.set_defaults(handler=_serve)
    return parser


def _run(args: argparse.Namespace) -> int:
    if args.config or args.target:
        return targets.run(args, _run)
    config = build_config(
        base_url=args.base_url, api_key=args.api_key, model=args.model, headers=args.header,
        output=args.output, select=args.select, timeout=args.timeout, cases=args.cases,
        seed=args.seed, endpoints=args.endpoints, concurrency=args.concurrency,
        max_time=args.max_time, tokenizer=args.tokenizer, history=args.history,
        no_history=args.no_history, expectations=args.expectations,
        strict_expectations=args.strict_expectations, target_name=args.target_name,
    )
    # `-c devnull`: the run must not pick up pytest settings of whatever project it runs from.
    pytest_args = [*map(str, check_dirs()), "-c", os.devnull, "--rootdir", str(APIS_DIR),
                   "-p", "conformance.plugin", "-p", "no:cacheprovider",
                   *[f"--model={name}={model}" for name, model in config.models],
                   "--request-timeout", str(config.timeout), "--cases", str(config.cases),
                   "--seed", str(config.seed), "--concurrency", str(config.concurrency),
                   "--max-time", str(config.max_time)]
    if config.base_url:
        pytest_args += ["--base-url", config.base_url]
    if config.output:
        pytest_args += ["--output", str(config.output)]
    for name, value in config.headers:
        pytest_args += ["--header", f"{name}: {value}"]
    for glob in config.select:
        pytest_args += ["--select", glob]
    pytest_args += ["--history", str(config.history)] if config.history else ["--no-history"]
    if config.expectations is not None:
        pytest_args += ["--expectations", config.expectations.source,
                        *["--strict-expectations"] * config.strict_expectations]
    if config.endpoints:
        pytest_args += ["--endpoints", ",".join(config.endpoints)]
    if config.target_name:
        pytest_args += ["--target-name", config.target_name]
    if config.tokenizer and config.tokenizer_origin == "--tokenizer":
        # (one named by CONFORMANCE_TOKENIZER is read there again, so the report says so)
        pytest_args += ["--tokenizer", config.tokenizer]
    capture = _CaptureDocument()
    # The key travels by environment, never in pytest's arguments. No plugin auto-loading: the
    # run loads only what it names above, so unrelated plugins of the environment neither change
    # it nor cost start-up time.
    try:
        with contextlib.ExitStack() as stack:
            for name, key in config.api_keys:  # each as the family's own variable
                stack.enter_context(_environment(family(name).key_env, key))
            stack.enter_context(_environment("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1"))
            stack.enter_context(sigterm_raises())
            status = pytest.main(pytest_args, plugins=[capture])
    except KeyboardInterrupt as exc:  # before pytest's session began: no plugin to report it
        return _interrupted_before_start(config, signal_name(exc))
    if capture.document is not None:
        return exit_code(capture.document)
    if status in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.NO_TESTS_COLLECTED):
        print("conformance: no check selected or bad options", file=sys.stderr)
        return EXIT_USAGE
    print("conformance: the run ended before it could write results (see above)", file=sys.stderr)
    return EXIT_INCOMPLETE


def _interrupted_before_start(config: Config, signal: str) -> int:
    """Write the report of a run interrupted while it was starting: every check `not_run`."""
    from conformance import journal
    from conformance.redact import Redactor
    from conformance.reporting import output_dir, write_reports
    from conformance.results import RunInfo, build_document

    run = RunInfo(target=config.base_url or "embedded reference gateway",
                  embedded=config.embedded, model=config.model, select=list(config.select),
                  endpoints=list(config.endpoints))
    run.interrupt(signal, f"interrupted by {signal} while starting")
    plan = {c: c for c in load_checks() if selected(c, config.select)}
    results = journal.not_run(plan, [], "the run was interrupted before this check ran")
    document = build_document(run, results, {},
                              extra={"tokenizer": tokens.encoding_for(config).as_dict()})
    write_reports(document, output_dir(config.output), Redactor(config.secrets()),
                  latest=config.output is None)
    print(f"conformance: interrupted by {signal} while starting", file=sys.stderr)
    return exit_code(document)


@contextlib.contextmanager
def _environment(name: str, value: str | None) -> Iterator[None]:
    previous = os.environ.pop(name, None)
    if value:
        os.environ[name] = value
    try:
        yield
    finally:
        os.environ.pop(name, None)
        if previous is not None:
            os.environ[name] = previous


class _CaptureDocument:
    """Reads the results document from the plugin once the session is over."""

    document: dict[str, Any] | None = None

    @pytest.hookimpl(trylast=True)  # after the plugin wrote it, even when interrupted early
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        run = config.pluginmanager.get_plugin("conformance-run")
        self.document = getattr(run, "document", None)


def _list(args: argparse.Namespace) -> int:
    checks = sorted(load_checks().values(), key=lambda c: c.id)
    if args.select:
        checks = [c for c in checks if selected(c.id, args.select)]
    if args.format == "json":
        print(json.dumps([c.as_dict() for c in checks], indent=2))
    elif args.format == "markdown":
        print("| id | endpoint | level | feature | requirement | how to fix | spec | source |")
        print("|---|---|---|---|---|---|---|---|")
        for c in checks:
            print(f"| `{c.id}` | {c.endpoint} | {c.level} | {c.feature} | {c.requirement} "
                  f"| {c.fix} | `{c.spec}` | {c.source} |")
    else:
        for c in checks:
            print(f"{c.id:48} {c.level:6} {c.feature:18} {c.requirement}")
            print(f"{'':48} {'fix:':25} {c.fix}")
    print(f"{len(checks)} checks", file=sys.stderr)
    return 0 if checks else EXIT_USAGE


def _report(args: argparse.Namespace) -> int:
    """Exit code as the run's own: the verdict lives in results.json, not in the renderer."""
    from conformance import journal
    from conformance.redact import Redactor
    from conformance.reporting import render_reports, terminal
    from conformance.results import load_document, validate_document, write_document

    out_dir = Path(args.dir)
    try:
        if journal.exists(out_dir):  # a run that never finished: its journal is the newest
            document = _rebuild(out_dir)
            write_document(document, out_dir / "results.json", Redactor())
        else:
            document = load_document(out_dir / "results.json")
        validate_document(document)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{out_dir}: no readable results.json or journal ({exc})") from None
    render_reports(document, out_dir, Redactor())
    document["__dir__"] = str(out_dir)
    print(terminal.render(document, sys.stdout.isatty()), end="")
    return exit_code(document)


def _rebuild(out_dir: Path) -> dict[str, Any]:
    """The results of a run that was killed before it wrote results.json, from its journal."""
    from conformance import journal
    from conformance.results import build_document

    run, extra, results, exchanges = journal.read(out_dir)
    run.interrupt(None, "the run ended without finishing (killed?); rebuilt from its journal")
    return build_document(run, results, exchanges, extra=extra)


def _serve(args: argparse.Namespace) -> int:
    from conformance.gateway.faults import FAULTS
    from conformance.gateway.server import serve

    if args.list_faults:
        for fault in FAULTS.values():
            print(f"{fault.name:36} {fault.description}  -> {', '.join(fault.trips)}")
        return 0
    if args.fault and args.fault not in FAULTS:
        raise ConfigError(f"unknown fault {args.fault!r}; see `conformance serve --list-faults`")
    from conformance.gateway.behaviours import BEHAVIOURS
    if args.behaviour not in BEHAVIOURS:
        raise ConfigError(f"unknown behaviour {args.behaviour!r}; one of {', '.join(BEHAVIOURS)}")
    serve(port=args.port, fault=args.fault, api_key=args.api_key, behaviour=args.behaviour)
    return 0
