"""Nothing the suite judges is vacuous (issue 10): every rule of the Responses event-order engine
can fire on an exchange of a normal run, and every check reads at least one exchange.

A rule that no exchange can trigger judges nothing, like a check that does not look. REACHES
maps each rule to the planned exchanges whose request can show its subject, each with a fault
of the reference gateway that breaks the rule there. The test sends that request, built by the
plan, to the reference gateway under the fault and asks the engine: reachability is shown on
the wire, not asserted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from conformance.apis.openai import FAMILY
from conformance.apis.openai.checks.responses import RULE_CHECKS, judge, stream_usable
from conformance.apis.openai.event_order import RULES
from conformance.apis.openai.streams import decode_responses_stream
from conformance.check import Check
from conformance.config import build_config
from conformance.family import check_dirs, load_checks
from conformance.gateway import FAULTS, EmbeddedGateway
from conformance.plan import PLAN, Recorder
from conformance.stream_rules import JudgedStream

from .conftest import API_KEY

CHECKS = load_checks()
REASONING_MODEL = "o4-mini"  # the reference gateway's reasoning model

TEXT = "responses_text_stream"
FUNCTION = "responses_function_stream"
CUT = "responses_cut_stream"
HOSTED = "responses_hosted_stream"
REASONING = "responses_reasoning_stream"


@dataclass(frozen=True)
class Reach:
    """`fault` breaks the rule on `exchange`, planned for `model`; with `subject`, the
    violation must name it (the kind of part the rule fired on, when several can break it)."""

    exchange: str
    fault: str
    model: str = FAMILY.default_model
    subject: str = ""


def on(exchange: str, *faults: str) -> tuple[Reach, ...]:
    return tuple(Reach(exchange, fault) for fault in faults)


def on_summary(fault: str) -> tuple[Reach, ...]:
    """The rule on reasoning summary parts: only a streamed reasoning request shows them."""
    return (Reach(REASONING, fault, REASONING_MODEL, "summary"),)


REACHES: dict[str, tuple[Reach, ...]] = {
    # lifecycle, sequence numbers and transport: every stream shows them
    "first-event-created": on(TEXT, "responses-stream-no-created"),
    "in-progress-after-created": on(TEXT, "responses-stream-no-in-progress"),
    "lifecycle-event-misplaced": on(TEXT, "responses-stream-in-progress-repeated"),
    "response-id-consistent": on(TEXT, "responses-stream-terminal-id-differs"),
    "sequence-number-present": on(TEXT, "responses-stream-no-sequence-number"),
    "sequence-number-increasing": on(TEXT, "responses-stream-sequence-not-increasing"),
    "sequence-number-contiguous": on(TEXT, "responses-stream-sequence-from-one"),
    "sse-event-name-matches-type": on(TEXT, "responses-stream-event-name-mismatch"),
    "sse-event-name-present": on(TEXT, "responses-stream-no-event-lines"),
    "event-type-present": on(TEXT, "responses-stream-untyped-keepalive"),
    "bare-error-payload": on(TEXT, "responses-stream-error-bare"),
    "error-followed-by-failed": on(TEXT, "responses-stream-error-without-failed"),
    # output items
    "output-index-order": on(TEXT, "responses-stream-output-index-from-one"),
    "item-event-before-added": on(TEXT, "responses-stream-item-added-late"),
    "item-event-after-done": on(HOSTED, "responses-hosted-tool-events-outside-item"),
    "event-item-mismatch": on(TEXT, "responses-stream-delta-item-id-wrong"),
    "event-item-type": on(TEXT, "responses-part-type-text"),
    "item-done-matches-added": on(TEXT, "responses-stream-item-id-placeholder")
    + on(FUNCTION, "responses-stream-item-id-placeholder"),
    "item-done-status": on(TEXT, "responses-stream-item-done-in-progress"),
    "incomplete-item-last": on(CUT, "responses-stream-empty-item-after-cut"),
    "incomplete-item-response-incomplete": on(CUT, "responses-stream-cut-ends-completed"),
    "item-closed-before-terminal": on(TEXT, "responses-stream-terminal-not-last"),
    # content parts and reasoning summary parts
    "part-index-order": on(TEXT, "responses-stream-part-index-from-one")
    + on_summary("responses-stream-part-index-from-one"),
    "part-event-outside-part": on(TEXT, "responses-stream-delta-after-part-done"),
    "delta-matches-part-type": on(TEXT, "responses-part-type-text"),
    "part-text-done-once": on(TEXT, "responses-stream-no-text-done")
    + on_summary("responses-stream-no-text-done"),
    "part-text-matches-deltas": on(TEXT, "responses-stream-done-text-mismatch"),
    "part-done-matches-text": on(TEXT, "responses-stream-part-done-empty")
    + on_summary("responses-stream-part-done-empty"),
    "part-closed-before-item-done": on(TEXT, "responses-stream-no-part-done")
    + on_summary("responses-stream-no-part-done"),
    "item-done-matches-text": on(TEXT, "responses-stream-item-done-without-text")
    + on_summary("responses-stream-item-done-without-text"),
    # annotations: only a web-search answer cites
    "annotation-in-text-part": on(HOSTED, "responses-stream-citation-after-part"),
    # function calls
    "arguments-stream-sequence": on(FUNCTION, "responses-stream-args-no-done"),
    "arguments-match-deltas": on(FUNCTION, "responses-stream-args-done-empty"),
    "arguments-match-item": on(FUNCTION, "responses-stream-args-redumped"),
    "function-args-done-name": on(FUNCTION, "responses-stream-args-done-no-name"),
    # terminal event
    "terminal-event-missing": on(TEXT, "responses-stream-no-terminal"),
    "terminal-event-not-last": on(TEXT, "responses-stream-terminal-not-last"),
    "terminal-event-duplicated": on(TEXT, "responses-stream-two-terminal"),
    "terminal-status-matches-type": on(TEXT, "responses-stream-status-mismatch"),
    "incomplete-details-reason": on(CUT, "responses-incomplete-no-details"),
    "failed-carries-error": on(TEXT, "responses-stream-failed-without-error"),
    "terminal-usage": on(TEXT, "responses-stream-terminal-no-usage"),
    "terminal-output-matches-items": on(TEXT, "responses-stream-terminal-output-empty"),
}
# Rules that no request a gateway can be sent can trigger, each with the reason. None today:
# a rule listed here judges nothing, so this list only grows with a reason and a new count.
UNREACHABLE: dict[str, str] = {}
KNOWN_UNREACHABLE = 0

CASES = [pytest.param(rule, reach, id=f"{rule}-{reach.exchange}")
         for rule, reaches in REACHES.items() for reach in reaches]


def test_every_rule_is_reachable_or_named() -> None:
    assert sorted(set(RULES) - set(REACHES) - set(UNREACHABLE)) == [], "rules nothing reaches"
    assert sorted((set(REACHES) | set(UNREACHABLE)) - set(RULES)) == [], "unknown rules"
    assert sorted(set(REACHES) & set(UNREACHABLE)) == []
    assert len(UNREACHABLE) == KNOWN_UNREACHABLE, UNREACHABLE
    assert all(reaches for reaches in REACHES.values())


def test_table_names_planned_exchanges_and_faults() -> None:
    reaches = [r for rs in REACHES.values() for r in rs]
    assert sorted({r.exchange for r in reaches} - set(PLAN)) == []
    assert sorted({r.fault for r in reaches} - set(FAULTS)) == []


def test_the_owning_check_reads_each_exchange(closures: dict[str, set[str]]) -> None:
    """The exchange feeds the check that owns the rule (through judged_streams)."""
    owner = {rule: check for check, rules in RULE_CHECKS.items() for rule in rules}
    unread = {rule: [r.exchange for r in reaches if r.exchange not in closures[owner[rule]]]
              for rule, reaches in REACHES.items()}
    assert {rule: names for rule, names in unread.items() if names} == {}


@pytest.mark.parametrize(("rule", "reach"), CASES)
def test_fault_fires_the_rule_on_its_exchange(gateway: EmbeddedGateway, rule: str,
                                              reach: Reach) -> None:
    fired = _fired(gateway.fault_base_url(reach.fault), reach.exchange, reach.model)
    assert [m for r, m in fired if r == rule and reach.subject in m], fired
    clean = _fired(gateway.base_url, reach.exchange, reach.model)
    assert [m for r, m in clean if r == rule] == [], "the rule fires on the clean gateway too"


@cache
def _fired(base_url: str, exchange: str, model: str) -> tuple[tuple[str, str], ...]:
    """(rule, message) of every violation the engine finds on the exchange's stream, as the
    judged streams see it: a stream they leave out (refused, unreadable) fires nothing."""
    judged = _judged(base_url, exchange, model)
    return () if judged is None else tuple((v.rule, v.message) for v in judged.violations)


def _judged(base_url: str, exchange: str, model: str) -> JudgedStream | None:
    config = build_config(base_url=base_url, api_key=API_KEY, model=model, environ={})
    recorder = Recorder(config, on_exchange=lambda _: None, deadline=time.monotonic() + 60)
    recorder.record([exchange])  # its parents too, were it a follow-up
    stream = decode_responses_stream(recorder.recordings.value(exchange))
    return judge(exchange, stream) if stream_usable(stream) else None


# --- checks -------------------------------------------------------------------------------------


class _Closures:
    """Collects each check's fixture closure, from its own arguments (autouse fixtures, such
    as the endpoint probe every Responses check shares, do not count as reading)."""

    def __init__(self) -> None:
        self.by_check: dict[str, set[str]] = {}

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            meta: Check | None = getattr(getattr(item, "obj", None), "conformance_check", None)
            if meta is not None:
                self.by_check[meta.id] = _closure(item)


def _closure(item: Any) -> set[str]:
    info = item._fixtureinfo
    seen: set[str] = set()
    todo = list(info.argnames)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(arg for d in info.name2fixturedefs.get(name, ()) for arg in d.argnames)
    return seen


@pytest.fixture(scope="module")
def closures() -> dict[str, set[str]]:
    collector = _Closures()
    code = pytest.main([*map(str, check_dirs()), "-q", "-p", "no:cacheprovider", "--collect-only"],
                       plugins=[collector])
    assert code == 0
    return collector.by_check


def test_every_check_reads_an_exchange(closures: dict[str, set[str]]) -> None:
    """A check judges recorded exchanges: one whose fixtures read none judges nothing."""
    assert sorted(set(CHECKS) - set(closures)) == [], "checks that were not collected"
    assert sorted(c for c, names in closures.items() if not names & set(PLAN)) == []
