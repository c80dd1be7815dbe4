"""JUnit XML for CI: one testsuite per API family and endpoint, one testcase per check.

A suite is named `<api>.<endpoint id>` (`openai.chat`): an identifier without spaces or slashes,
and the prefix of its cases' classnames `<api>.<endpoint id>.<check group>`
(`openai.chat.stream`), which viewers that read a classname as `package.class` (Jenkins) nest
under API and endpoint. The suite's properties name its API (`openai`, as results' `api`) and
the endpoint's title (`POST /v1/chat/completions`).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from conformance.expectations import headline
from conformance.redact import Redactor
from conformance.results import as_current, sections


def render(document: dict[str, Any]) -> str:
    document = as_current(document)
    root = ET.Element("testsuites", name="llm-gateway-conformance")
    _run_case(root, document)
    for api, endpoints in sections(document).items():
        for endpoint, results in endpoints.items():
            suite = ET.SubElement(root, "testsuite", name=_classname(results[0], parts=1))
            props = ET.SubElement(suite, "properties")
            for key, value in (("api", api), ("endpoint", endpoint)):
                ET.SubElement(props, "property", name=key, value=value)
            for result in results:
                _case(suite, result, document["exchanges"])
    for suite in root:
        cases = suite.findall("testcase")
        suite.set("tests", str(len(cases)))
        for tag, attr in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            suite.set(attr, str(sum(1 for c in cases if c.find(tag) is not None)))
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def _run_case(root: ET.Element, document: dict[str, Any]) -> None:
    """One test case for the run itself: an error when its verdict says it is incomplete or
    nothing was judged, so a CI dashboard never shows an interrupted run as green."""
    summary, run = document["summary"], document["run"]
    suite = ET.SubElement(root, "testsuite", name="run")
    case = ET.SubElement(suite, "testcase", classname="run", name="run.verdict",
                         time=str(run["duration"]))
    props = ET.SubElement(case, "properties")
    causes = summary.get("root_causes", [])  # a results.json of 1.1 has none
    for key, value in (("verdict", summary["verdict"]), ("status", run["status"]),
                       ("cause", summary["cause"]), *(("root_cause", c["title"]) for c in causes)):
        ET.SubElement(props, "property", name=key, value=str(value))
    known = summary.get("expectations")
    # with expectations, the verdict apart from the expected outcomes decides, as the exit code
    judged = known or summary
    if judged["verdict"] in ("incomplete", "not-judged"):
        ET.SubElement(case, "error", message=f"{judged['verdict']}: {judged['cause']}")
    out = [f"ROOT CAUSE: {c['title']}\n  checks: {', '.join(c['checks'])}" for c in causes]
    if known:
        _expectations(case, props, known, out)
    if out:  # one defect behind many test cases: say it once, with the cases it explains
        ET.SubElement(case, "system-out").text = "\n".join(out)


def _expectations(case: ET.Element, props: ET.Element, known: dict[str, Any],
                  out: list[str]) -> None:
    """The run's expectations: what they found, and each stale one (a failure when strict)."""
    for key, value in (("expectations", headline(known)), ("expectations_file", known["file"]),
                       ("verdict_apart_from_expected", known["verdict"])):
        ET.SubElement(props, "property", name=key, value=value)
    stale = [f"STALE: {e['check']}: {e['why']}" + "".join(
        f"\n  {k}: {e[k]}" for k in ("reason", "link") if e.get(k)) for e in known["stale"]]
    if stale and known["strict"]:
        ET.SubElement(case, "failure", message=f"{len(stale)} stale expectation(s) "
                      "(--strict-expectations)").text = "\n".join(stale)
    else:
        out += stale


def _case(suite: ET.Element, result: dict[str, Any], exchanges: dict[str, Any]) -> None:
    case = ET.SubElement(suite, "testcase", classname=_classname(result, parts=2),
                         name=result["id"], time=str(result["duration"]))
    props = ET.SubElement(case, "properties")
    for key in ("level", "feature", "spec", "source", "outcome", "cause"):
        if result.get(key) is not None:
            ET.SubElement(props, "property", name=key, value=str(result[key]))
    if result.get("root_cause"):
        ET.SubElement(props, "property", name="root_cause", value=result["root_cause"]["text"])
    expectation = result.get("expectation") or {}
    for key in ("status", "check", "outcome", "reason", "link"):
        if expectation.get(key):
            name = "expectation" if key == "status" else f"expectation_{key}"
            ET.SubElement(props, "property", name=name, value=expectation[key])
    detail = _detail(result, exchanges)
    outcome = result["outcome"]
    if expectation.get("status") == "expected" and outcome in ("fail", "error", "warn"):
        # known: skipped with a message that says so, never a silent pass nor a new failure
        why = "; ".join(expectation[k] for k in ("reason", "link") if expectation.get(k))
        ET.SubElement(case, "skipped", message=f"expected {outcome}"
                      f"{f' ({why})' if why else ''}: {result['message']}").text = detail
    elif outcome == "fail":
        ET.SubElement(case, "failure", message=result["message"]).text = detail
    elif outcome == "error":
        ET.SubElement(case, "error", message=result["message"]).text = detail
    elif outcome in ("not_supported", "skipped", "inconclusive", "not_run"):
        ET.SubElement(case, "skipped", message=f"{outcome}: {result['message']}")
    elif outcome == "warn":
        ET.SubElement(case, "system-out").text = f"WARN (SHOULD): {result['message']}\n{detail}"


def _classname(result: dict[str, Any], parts: int) -> str:
    """`<api>.` and the first `parts` parts of the check id: its endpoint (1), and group (2)."""
    return ".".join([result["api"], *result["id"].split(".")[:parts]])


def _detail(result: dict[str, Any], exchanges: dict[str, Any]) -> str:
    lines = [result["requirement"], f"spec: {result['spec']} ({result['source']})"]
    if result.get("fix"):  # a results.json before 1.4 has none
        lines.append(f"how to fix: {result['fix']}")
    if result.get("root_cause"):
        lines.append(f"root cause: {result['root_cause']['text']}")
    if result.get("expected") is not None:
        lines.append(f"expected: {json.dumps(result['expected'], ensure_ascii=False)[:2000]}")
    if result.get("actual") is not None:
        lines.append(f"actual: {json.dumps(result['actual'], ensure_ascii=False)[:2000]}")
    lines += [f"reproduce: {exchanges[i]['curl']}" for i in result["exchanges"] if i in exchanges]
    return "\n".join(lines)


def write(document: dict[str, Any], path: Path, redactor: Redactor) -> None:
    path.write_text(redactor.text(render(document)), encoding="utf-8")
