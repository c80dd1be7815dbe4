"""Checks that own rules of an event-order engine, judged over every recorded stream.

A family whose streams have an event-order engine (`conformance.event_rules`) gives a `RuleBook`:
the engine's rules, which check owns which rules, and what each check is about. Each check then
fails on the MUST rules it owns and warns on the SHOULD ones, over all the streams judged, and
passes only when those streams held its subject (no tool block: nothing to judge).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conformance import schemas
from conformance.check import Problems, inconclusive, observe, record, require_observed, warn
from conformance.delivery import delivery, judge_delivery
from conformance.event_rules import MUST, Violation
from conformance.http import Exchange
from conformance.preconditions import ignored_stream
from conformance.stream_contract import stream_contract

# A stream decoded for its engine (a `conformance.streams.TypedStream`).
Stream = Any
Validate = Callable[[Sequence[Any], Sequence[str | None]], tuple[list[Violation], Any]]


@dataclass(frozen=True)
class RuleBook:
    """An engine's rules (rule -> (level, text)), the rules each check owns, each check's
    subject (a noun, and how many of them a stream holds), and how a family's check ends when
    its plain stream did not answer (`require_answer`)."""

    rules: Mapping[str, tuple[str, str]]
    checks: Mapping[str, frozenset[str]]
    subjects: Mapping[str, tuple[str, Callable[[Stream], int]]]
    validate: Validate
    require_answer: Callable[[Stream], None]

    def judge(self, label: str, stream: Stream) -> JudgedStream:
        violations, summary = self.validate(*stream.judged_events())
        return JudgedStream(label, stream, violations, summary)

    def judge_all(self, text: Stream, streams: Mapping[str, Stream]) -> JudgedStreams:
        """Every usable stream of `streams` (label -> stream) judged; `text`, the plain stream,
        must answer."""
        return JudgedStreams(text, [self.judge(label, stream)
                                    for label, stream in streams.items() if usable(stream)],
                             self.require_answer)

    def problems(self, judged: Sequence[JudgedStream],
                 check_id: str) -> tuple[list[str], list[str]]:
        """The engine's MUST and SHOULD violations of one check's rules, over every stream."""
        rules = self.checks[check_id]
        musts: list[str] = []
        shoulds: list[str] = []
        for entry in judged:
            for violation in entry.violations:
                if violation.rule in rules:
                    line = (f"{entry.label} stream [{violation.rule}]: {violation.message}\n    "
                            + "\n    ".join(violation.context))
                    (musts if violation.level == MUST else shoulds).append(line)
        return musts, shoulds

    def judge_rules(self, judged: Sequence[JudgedStream], check_id: str, summary: str) -> None:
        """Fail on the check's MUST rules, warn on its SHOULD rules; inconclusive without subject.

        The subject is counted over the judged streams: a rule about tool calls passes only on
        streams that held a tool call.
        """
        if isinstance(judged, JudgedStreams):
            judged.required()
        rules = sorted(self.checks[check_id])
        record(streams_judged=[f"{j.label} ({len(j.stream.payloads)} events, exchange "
                               f"{j.exchange.id})" for j in judged],
               rules=rules)
        musts, shoulds = self.problems(judged, check_id)
        problems = Problems()
        problems.items.extend(musts)
        problems.raise_if_any(summary, expected=[self.rules[r][1] for r in rules
                                                 if self.rules[r][0] == MUST])
        subject, count = self.subjects[check_id]
        require_observed(sum(count(j.stream) for j in judged), subject,
                         f"the judged streams ({', '.join(j.label for j in judged) or 'none'})"
                         f" held no {subject}, so these rules had nothing to judge")
        if shoulds:
            warn(f"{summary} (SHOULD): {len(shoulds)} deviation(s)", actual=shoulds[:20],
                 expected=[self.rules[r][1] for r in rules if self.rules[r][0] != MUST])


@dataclass
class JudgedStream:
    """One recorded stream with the event-order engine's verdict on it."""

    label: str
    stream: Stream
    violations: list[Violation]
    summary: Any  # what the engine assembled (the family's own record)

    @property
    def exchange(self) -> Exchange:
        return self.stream.exchange


class JudgedStreams(list[JudgedStream]):
    """Every readable recorded stream, judged; `text` is the plain stream, which must answer
    (`require_answer` ends the check when it did not)."""

    def __init__(self, text: Stream, judged: list[JudgedStream],
                 require_answer: Callable[[Stream], None]) -> None:
        super().__init__(judged)
        self.text = text
        self.require_answer = require_answer

    def required(self) -> JudgedStreams:
        """These streams, once the plain stream is known to have answered."""
        self.require_answer(self.text)
        return self




def usable(stream: Stream) -> bool:
    """A stream an engine can judge: a 200 event stream, read to its end or complete (the
    family's stream says when its own end arrived)."""
    exchange = stream.exchange
    return exchange.status == 200 and exchange.is_sse and (exchange.ok or stream.complete)








def held_open(judged: Sequence[JudgedStream]) -> list[str]:
    """One line per stream whose end event (`stream.end_index`) arrived but whose connection the
    server kept open until the harness cut it: SDK clients read until the server closes, so
    they hang."""
    lines = []
    for entry in judged:
        stream, exchange, end = entry.stream, entry.exchange, entry.stream.end_index
        if exchange.cut and end is not None:
            at = stream.events[end].time
            lines.append(
                f"{entry.label} stream: its end ({stream.payloads[end]['type']}) arrived at "
                f"{'an unknown time' if at is None else f'{at:.2f}s'}, then the server kept the "
                f"connection open until the harness cut it after {exchange.elapsed:.1f}s "
                f"({exchange.cut}); SDK clients read until the server closes, so they hang")
    return lines


def judge_incremental(judged: JudgedStreams, length: int | None,
                      delta_types: Collection[str], what: str) -> None:
    """Output reached the client as it was generated (`conformance.delivery`), judged over every
    stream, so that a client stalled through one stream's delivery does not decide the verdict.

    `length`: tokens of the plain answer unstreamed (one token can come in one delta only);
    `delta_types`: the event types that carry generated output; `what` names them.
    """
    judged.required()
    if length is not None and length <= 1:
        inconclusive(f"the same request not streamed is answered in {length} token(s), too "
                     "short to be delivered in several deltas")
    judge_delivery([delivery(entry.label, entry.exchange, [
        event.time for event, payload in zip(entry.stream.events, entry.stream.payloads,
                                             strict=True)
        if isinstance(payload, dict) and payload.get("type") in delta_types])
        for entry in judged], what)


def judge_content_type(streams: Mapping[str, Stream]) -> None:
    """Every answered stream (label -> stream) was sent as `text/event-stream`.

    The other stream checks read events only from such streams, so an ignored `stream: true`
    is named as the root cause of what they leave unjudged.
    """
    answered = {label: s.exchange for label, s in streams.items() if s.exchange.status == 200}
    observe("answered streams", len(answered))
    problems = Problems()
    for label, exchange in answered.items():
        problems.expect(exchange.media_type == "text/event-stream",
                        f"{label} stream: Content-Type is "
                        f"{exchange.media_type or 'missing'!r}")
    ignored = next(filter(None, map(ignored_stream, answered.values())), None)
    problems.raise_if_any("streams are not sent as text/event-stream",
                          expected="text/event-stream", root_cause=ignored)


def judge_event_schemas(judged: Sequence[JudgedStream], document: str, path: str,
                        where: Callable[[int, dict[str, Any]], str]) -> None:
    """Every typed payload of the judged streams is valid against the schema its type has in
    `document`'s stream contract for `POST path` (`where(index, payload)` names an event)."""
    contract = stream_contract(document, path)
    problems = Problems()
    for entry in judged:
        for index, payload in enumerate(entry.stream.payloads):
            if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
                continue  # the engine's event-type rule judges it
            schema = contract.schema_for(payload)
            problems.items += [f"{entry.label} stream, {where(index, payload)}: {error}"
                               for error in schemas.errors(document, schema, payload, limit=3)]
    problems.raise_if_any("stream events do not match their schemas",
                          expected="each payload valid against its x-sse-events schema")
