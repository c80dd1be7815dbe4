"""Each check's "how to fix" line (issue 13): recorded in results.json, listed by `conformance
list`, and shown beside a failure in JUnit and in pytest's terminal text."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

from conformance.check import Outcome
from conformance.family import load_checks
from conformance.reporting import junit, terminal
from conformance.results import RunInfo, build_document, validate_document

DONE = load_checks()["chat.stream.done-sentinel"]


def result(fix: str | None) -> dict:
    found = {**DONE.as_dict(), "outcome": "fail", "message": "no [DONE]", "cause": None,
             "expected": None, "actual": None, "duration": 0.0, "exchanges": [],
             "observed": {}, "details": {}, "root_cause": None}
    if fix is None:  # written before 1.4
        del found["fix"]
    return found


def test_results_json_carries_each_checks_fix() -> None:
    document = build_document(RunInfo(target="t", embedded=False, model="m", select=[]),
                              [result(DONE.fix)], {})
    validate_document(document)
    assert document["version"] == "1.4"
    assert document["results"][0]["fix"] == DONE.fix


def test_junit_and_the_terminal_show_it_with_the_failure() -> None:
    document = build_document(RunInfo(target="t", embedded=False, model="m", select=[]),
                              [result(DONE.fix)], {})
    failure = ET.fromstring(junit.render(document)).find(".//testcase/failure")
    assert f"how to fix: {DONE.fix}" in failure.text
    text = terminal.failure_text(DONE, Outcome.FAIL, "no [DONE]", None, None, [])
    assert f"  how to fix: {DONE.fix}" in text.splitlines()


def test_a_result_written_before_fixes_still_renders() -> None:
    document = build_document(RunInfo(target="t", embedded=False, model="m", select=[]),
                              [result(None)], {})
    validate_document({**document, "version": "1.3"})
    assert "how to fix" not in ET.fromstring(junit.render(document)).find(".//failure").text


def test_conformance_list_shows_the_fix() -> None:
    def listing(*options: str) -> str:
        return subprocess.run([sys.executable, "-m", "conformance", "list", "--select",
                               DONE.id, *options], capture_output=True, text=True,
                              check=True).stdout

    assert json.loads(listing("--format", "json"))[0]["fix"] == DONE.fix
    assert f"| {DONE.fix} |" in listing("--format", "markdown")
    assert DONE.fix in listing()
