"""Expectations: the file format, which entry governs a check, how results are marked, the exit
code they set (never the verdict), and the update that keeps what the user wrote."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.config import ConfigError, build_config
from conformance.expectations import Entry, Expectations, apply, dump, parse, updated
from conformance.reporting import html, junit, terminal
from conformance.results import RunInfo, build_document, exit_code, validate_document

FILE = """\
version: 1
expectations:
  chat.stream.done-sentinel:
    outcome: fail
    reason: the gateway drops [DONE] (fixed in 2.4)
    link: https://tracker.example.com/GW-1
  "chat.stream.*":
    outcome: warn
  "chat.*":
    outcome: not_supported
"""


def result(check_id: str, outcome: str, level: str = "MUST") -> dict:
    return {"id": check_id, "endpoint": "POST /v1/chat/completions", "family": "unit",
            "level": level, "feature": "core", "observes": "x", "operation": "op",
            "spec": "openapi/x.yaml#/", "source": "unit", "requirement": "X MUST hold.",
            "outcome": outcome, "message": f"{check_id} ended {outcome}", "duration": 0.0,
            "expected": None, "actual": None, "exchanges": [], "observed": {}, "details": {}}


def judged(text: str, *results: dict, strict: bool = False, select: tuple[str, ...] = ()
           ) -> dict:
    """A run's document with `text` applied, as the run writes it (valid against the schema)."""
    run = RunInfo(target="t", embedded=False, model="m", select=list(select))
    document = build_document(run, list(results), {})
    apply(document, parse(text, "expectations.yaml"), strict)
    validate_document(document)
    return document


def marks(document: dict) -> dict[str, str | None]:
    return {r["id"]: (r.get("expectation") or {}).get("status") for r in document["results"]}


# --- the file -------------------------------------------------------------------------------


def test_a_file_reads_as_entries_in_its_order() -> None:
    known = parse(FILE)
    assert [e.check for e in known.entries] == ["chat.stream.done-sentinel", "chat.stream.*",
                                                "chat.*"]
    assert known.entries[0] == Entry("chat.stream.done-sentinel", "fail",
                                     "the gateway drops [DONE] (fixed in 2.4)",
                                     "https://tracker.example.com/GW-1")


def test_a_written_file_reads_back_the_same() -> None:
    known = parse(FILE)
    assert parse(dump(known)).entries == known.entries


@pytest.mark.parametrize(("text", "says"), [
    ("version: 1\nexpectations:\n  chat.x: {outcome: fail}\n  chat.x: {outcome: warn}\n",
     "given twice"),
    ("version: 1\nexpectations:\n  chat.x: {outcome: failed}\n", "chat.x/outcome"),
    ("version: 1\nexpectations:\n  chat.x: {outcome: fail, why: known}\n", "chat.x"),
    ("version: 1\nexpectations:\n  chat.x: {reason: known}\n", "'outcome' is a required"),
    ("expectations: {}\n", "'version' is a required"),
    ("version: 1\nexpectations: [chat.x]\n", "expectations"),
    ("version: 1\nexpectations: {chat.x: {outcome: fail}\n", "not valid YAML"),
    ("", "the document"),
])
def test_a_wrong_file_says_where(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=r"expectations\.yaml") as raised:
        parse(text, "expectations.yaml")
    assert says in str(raised.value)


def test_strict_without_a_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--strict-expectations needs"):
        build_config(strict_expectations=True, environ={})
    with pytest.raises(ConfigError, match=r"missing\.yaml"):
        build_config(expectations=tmp_path / "missing.yaml", environ={})


# --- which entry governs a check --------------------------------------------------------------


def test_an_exact_entry_beats_any_glob_and_a_narrower_glob_a_broader_one() -> None:
    known = parse(FILE)
    assert known.entry_for("chat.stream.done-sentinel").outcome == "fail"
    assert known.entry_for("chat.stream.framing").check == "chat.stream.*"
    assert known.entry_for("chat.response.schema").check == "chat.*"
    assert known.entry_for("responses.response.schema") is None


def test_of_two_globs_as_long_the_first_in_the_file_wins() -> None:
    known = Expectations((Entry("chat.*.a", "fail"), Entry("*.x.a", "warn")))
    assert known.entry_for("chat.x.a").outcome == "fail"


# --- a run marked by them ---------------------------------------------------------------------


def test_a_run_whose_only_problems_are_expected_exits_0_with_a_truthful_verdict() -> None:
    document = judged(FILE, result("chat.stream.done-sentinel", "fail"),
                      result("chat.stream.framing", "warn", level="SHOULD"),
                      result("chat.response.schema", "pass"))
    assert marks(document) == {"chat.response.schema": None, "chat.stream.done-sentinel":
                               "expected", "chat.stream.framing": "expected"}
    summary = document["summary"]
    assert summary["verdict"] == "non-conformant"  # a MUST failed: the verdict says so
    assert summary["expectations"]["verdict"] == "conformant"
    assert summary["expectations"]["expected"] == {"fail": 1, "warn": 1}
    assert exit_code(document) == 0
    text = terminal.render(document, color=False)
    assert "verdict: non-conformant, 1 expected failure, 1 expected warning" in text


def test_an_unexpected_failure_fails_the_run_as_without_expectations() -> None:
    document = judged(FILE, result("chat.stream.done-sentinel", "fail"),
                      result("chat.stream.framing", "fail"))  # its glob expects a warning
    assert marks(document)["chat.stream.framing"] == "unexpected"
    assert document["summary"]["expectations"]["unexpected"] == {"fail": 1}
    assert exit_code(document) == 1
    assert "UNEXPECTED" not in terminal.render(document, color=False)  # listed as any failure


def test_a_check_that_passes_now_makes_its_entry_stale_and_strict_fails_the_run() -> None:
    results = (result("chat.stream.done-sentinel", "pass"), result("chat.stream.framing", "warn"))
    document = judged(FILE, *results)
    assert marks(document)["chat.stream.done-sentinel"] == "stale"
    stale = document["summary"]["expectations"]["stale"]
    assert [(e["check"], e["why"], e["link"]) for e in stale] == [
        ("chat.stream.done-sentinel", "expected fail, got pass",
         "https://tracker.example.com/GW-1")]
    assert exit_code(document) == 0
    assert exit_code(judged(FILE, *results, strict=True)) == 5


def test_a_glob_is_stale_only_when_none_of_its_checks_ends_as_it_says() -> None:
    text = "version: 1\nexpectations:\n  'chat.stream.*': {outcome: warn}\n"
    some = judged(text, result("chat.stream.a", "pass"), result("chat.stream.b", "warn"))
    assert some["summary"]["expectations"]["stale"] == []
    assert marks(some)["chat.stream.a"] is None  # a broad glob, not a claim about each check
    none = judged(text, result("chat.stream.a", "pass"), result("chat.stream.b", "pass"))
    assert none["summary"]["expectations"]["stale"][0]["why"] == "expected warn, got pass ×2"


def test_an_entry_no_check_matches_is_stale_unless_the_run_was_a_selection() -> None:
    text = "version: 1\nexpectations:\n  chat.renamed-check: {outcome: fail}\n"
    full = judged(text, result("chat.response.schema", "pass"))
    assert full["summary"]["expectations"]["stale"][0]["why"] == "no check of this run matches it"
    part = judged(text, result("chat.response.schema", "pass"), select=("chat.response.*",))
    assert part["summary"]["expectations"]["stale"] == []


def test_a_run_that_could_not_tell_leaves_the_entry_alone() -> None:
    document = judged(FILE, result("chat.stream.done-sentinel", "inconclusive"),
                      result("chat.response.schema", "pass"))
    assert marks(document)["chat.stream.done-sentinel"] is None
    stale = [e["check"] for e in document["summary"]["expectations"]["stale"]]
    assert stale == ["chat.*"]  # that glob's one check passes; the exact entry could not tell


def test_junit_shows_expected_failures_and_warnings_never_as_silent_passes() -> None:
    document = judged(FILE, result("chat.stream.done-sentinel", "fail"),
                      result("chat.response.schema", "warn", level="SHOULD"),
                      result("chat.response.usage", "not_supported"))
    cases = {c.get("name"): c for c in ET.fromstring(junit.render(document)).iter("testcase")}

    def props(name: str) -> dict[str, str]:
        return {p.get("name"): p.get("value") for p in cases[name].iter("property")}

    expected = cases["chat.stream.done-sentinel"]
    assert expected.find("failure") is None
    assert expected.find("skipped").get("message").startswith(
        "expected fail (the gateway drops [DONE] (fixed in 2.4); https://tracker.example.com")
    assert props("chat.stream.done-sentinel")["expectation"] == "expected"
    assert props("chat.response.schema")["outcome"] == "warn"
    assert props("chat.response.schema")["expectation"] == "unexpected"
    assert cases["chat.response.schema"].find("system-out").text.startswith("WARN (SHOULD)")
    assert cases["chat.response.usage"].find("skipped").get("message").startswith(
        "not_supported:")
    assert props("run.verdict")["expectations"] == (
        "1 expected failure, 1 expected not_supported, 1 unexpected warning")


def test_the_page_lists_expected_failures_apart_from_new_problems() -> None:
    document = judged(FILE, result("chat.stream.done-sentinel", "fail"),
                      result("chat.response.schema", "fail"))
    page = html.render(document)
    problems, expected = page.split('id="problems"')[1].split('id="expected"')
    assert "chat.response.schema" in problems and "chat.stream.done-sentinel" not in problems
    assert 'id="chat.stream.done-sentinel"' in expected
    assert '<a href="https://tracker.example.com/GW-1">' in expected


# --- `conformance expectations`: the file from a run --------------------------------------------


def test_an_update_keeps_reasons_links_and_globs_and_says_what_it_dropped() -> None:
    run = RunInfo(target="t", embedded=False, model="m", select=[])
    document = build_document(run, [
        result("chat.stream.done-sentinel", "pass"),   # fixed: its entry goes, said aloud
        result("chat.stream.framing", "warn"),         # its glob foresees it: nothing added
        result("chat.response.schema", "fail"),        # new: an entry of its own
        result("chat.limits.stop", "error"),           # its glob says not_supported: added
        result("chat.limits.n", "inconclusive"),       # nothing to record
    ], {})
    new, notes = updated(parse(FILE), document)
    assert [e.check for e in new.entries] == ["chat.stream.*", "chat.*", "chat.limits.stop",
                                              "chat.response.schema"]
    assert new.entries[-1].outcome == "fail"
    assert new.entries[-1].reason.endswith("chat.response.schema ended fail")
    assert notes[0] == ("dropped chat.stream.done-sentinel (expected fail: the check passes "
                        "now)\n  reason: the gateway drops [DONE] (fixed in 2.4)\n"
                        "  link: https://tracker.example.com/GW-1")


def test_an_update_moves_an_entry_to_its_new_problem_keeping_its_words() -> None:
    run = RunInfo(target="t", embedded=False, model="m", select=["chat.stream.*"])
    document = build_document(run, [result("chat.stream.done-sentinel", "error")], {})
    text = FILE + "  chat.limits.stop: {outcome: fail, reason: mine}\n"
    new, notes = updated(parse(text), document)
    entry = new.entry_for("chat.stream.done-sentinel")
    assert (entry.outcome, entry.reason) == ("error", "the gateway drops [DONE] (fixed in 2.4)")
    assert new.entry_for("chat.limits.stop").reason == "mine"  # outside the selection: kept
    assert notes == ["updated chat.stream.done-sentinel: fail -> error"]


def test_an_interrupted_run_cannot_write_expectations() -> None:
    run = RunInfo(target="t", embedded=False, model="m", select=[])
    run.interrupt("SIGINT", "interrupted by SIGINT")
    document = build_document(run, [result("chat.stream.done-sentinel", "not_run")], {})
    with pytest.raises(ConfigError, match="interrupted"):
        updated(parse(FILE), document)
