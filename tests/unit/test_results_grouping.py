"""Results, HTML, JUnit and the terminal group by API family, then endpoint (issue 11 §1): shown on
a hand-built run of two families, OpenAI's and the made-up `acme`, and on a 1.2 document that
`conformance report` still renders."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from jsonschema import ValidationError

from conformance import cli
from conformance.reporting import html, junit, terminal
from conformance.results import RunInfo, build_document, validate_document
from tests.unit.test_families import acme  # noqa: F401  (the made-up family, registered)

CHAT, MODELS, WIDGETS = "POST /v1/chat/completions", "GET /v1/models", "POST /v1/widgets"


def result(check_id: str, endpoint: str, outcome: str, level: str = "MUST",
           cause: str | None = None) -> dict:
    return {"id": check_id, "endpoint": endpoint, "family": check_id.split(".")[1],
            "level": level, "feature": "core", "observes": "x", "operation": "op",
            "spec": "openapi/x.yaml#/", "source": "unit", "requirement": "X MUST hold.",
            "outcome": outcome, "message": f"{outcome}: {check_id}", "cause": cause,
            "expected": None, "actual": None, "duration": 0.0, "exchanges": [],
            "observed": {}, "details": {}}


def document(*results: dict) -> dict:
    doc = build_document(RunInfo(target="t", embedded=False, model="m", select=[]),
                         list(results), {})
    validate_document(doc)
    return doc


@pytest.fixture
def two_families(acme: None) -> dict:  # noqa: F811  (the fixture imported above)
    """OpenAI fails a MUST on chat; acme only warns: each family has its own verdict."""
    return document(result("widgets.shape.size", WIDGETS, "pass"),
                    result("widgets.shape.color", WIDGETS, "warn", level="SHOULD"),
                    result("chat.stream.done", CHAT, "fail"),
                    result("chat.response.id", CHAT, "pass"),
                    result("models.list.object", MODELS, "pass", level="SHOULD"))


def test_each_result_names_its_api_and_the_summary_groups_by_it(two_families: dict) -> None:
    assert {r["id"]: r["api"] for r in two_families["results"]} == {
        "chat.response.id": "openai", "chat.stream.done": "openai",
        "models.list.object": "openai", "widgets.shape.color": "acme",
        "widgets.shape.size": "acme"}
    apis = two_families["summary"]["apis"]
    assert list(apis) == ["openai", "acme"]  # the registry's order
    openai, acme_ = apis["openai"], apis["acme"]
    assert (openai["title"], openai["verdict"]) == ("OpenAI", "non-conformant")
    assert (acme_["title"], acme_["verdict"]) == ("Acme Completions", "conformant-with-warnings")
    assert list(openai["endpoints"]) == [MODELS, CHAT]
    assert openai["endpoints"][CHAT]["levels"]["MUST"]["counts"]["fail"] == 1
    assert acme_["endpoints"] == {WIDGETS: {"scope": "judged", "levels": {
        "MUST": {"counts": {**dict.fromkeys(apis["acme"]["counts"], 0), "pass": 1},
                 "score": 1.0},
        "SHOULD": {"counts": {**dict.fromkeys(apis["acme"]["counts"], 0), "warn": 1},
                   "score": 0.5}}}}
    assert two_families["summary"]["verdict"] == "non-conformant"  # the run's: the worst


@pytest.mark.usefixtures("acme")
def test_a_family_nothing_judged_keeps_its_own_cause() -> None:
    """`--model` names a model OpenAI's endpoints do not serve while acme's are judged: the run
    is incomplete, and its cause still says what to fix for OpenAI."""
    doc = document(result("chat.response.id", CHAT, "error", cause="model"),
                   result("models.list.object", MODELS, "pass", level="SHOULD"),
                   result("widgets.shape.size", WIDGETS, "pass"))
    assert doc["summary"]["apis"]["acme"]["verdict"] == "conformant"
    assert doc["summary"]["verdict"] == "incomplete"
    assert doc["summary"]["cause"].startswith(
        "openai: the target does not serve the model under test on any endpoint: check --model; "
        f"not judged: {CHAT}")


def test_a_family_not_served_says_so_and_not_that_the_base_url_is_wrong(acme: None) -> None:  # noqa: F811
    """acme's endpoint answers 404 while OpenAI's are judged: the base URL is right (OpenAI
    answers there), so acme's own heading says acme is not served; a run where no family is
    served still asks about the base URL."""
    absent = result("widgets.shape.size", WIDGETS, "not_supported", cause="absent")
    doc = document(result("chat.response.id", CHAT, "pass"), absent)
    assert doc["summary"]["apis"]["acme"]["cause"] == (
        "the acme API is not served at this base URL (its requests got 404/405)")
    assert "Is the base URL right?" not in html.render(doc)
    alone = document(absent)["summary"]
    assert "Is the base URL right?" in alone["cause"]
    assert "base URL right" not in alone["apis"]["acme"]["cause"]


def test_a_title_two_families_share_is_never_merged() -> None:
    """Both families list models at `GET /v1/models`: the one nothing judged keeps the run
    incomplete, named by its API, instead of hiding behind the other's verdicts."""
    other = {**result("widgets.list.object", MODELS, "inconclusive"), "api": "acme"}
    doc = document(result("chat.response.id", CHAT, "pass"),
                   result("models.list.object", MODELS, "pass"), other)
    assert doc["summary"]["scope"] == {CHAT: "judged", f"acme {MODELS}": "not judged",
                                       f"openai {MODELS}": "judged"}
    assert doc["summary"]["verdict"] == "incomplete"
    assert f"not judged: acme {MODELS}" in doc["summary"]["cause"]
    assert doc["summary"]["apis"]["acme"]["title"] == "acme"  # not registered: its name


def test_the_html_report_has_a_table_of_contents_by_family_then_endpoint(
        two_families: dict) -> None:
    page = html.render(two_families)
    toc = page[page.index('<nav class="toc">'):page.index("</nav>")]
    links = re.findall(r'href="#([^"]+)"', toc)
    assert links[:5] == ["api-openai", "openai-get-v1-models",
                         "openai-post-v1-chat-completions", "api-acme", "acme-post-v1-widgets"]
    ids = set(re.findall(r' id="([^"]+)"', page))
    assert set(re.findall(r'href="#([^"]+)"', page)) <= ids  # every link lands
    # the checks: family, then endpoint, then check group
    checks = page[page.index("<h2>All checks</h2>"):]
    order = [checks.index(text) for text in ('id="api-openai"', 'id="openai-get-v1-models"',
                                             'id="openai-post-v1-chat-completions"',
                                             '<th colspan="5">response</th>',
                                             '<th colspan="5">stream</th>', 'id="api-acme"',
                                             'id="acme-post-v1-widgets"')]
    assert order == sorted(order)
    assert not re.search(r"<(script|link|img)\b|\bsrc=", page)  # one self-contained page


def test_junit_has_one_suite_per_family_and_endpoint(two_families: dict) -> None:
    root = ET.fromstring(junit.render(two_families))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites) == ["run", "openai.models", "openai.chat", "acme.widgets"]
    chat = suites["openai.chat"]
    assert {p.get("name"): p.get("value") for p in chat.find("properties")} == {
        "api": "openai", "endpoint": CHAT}
    assert (chat.get("tests"), chat.get("failures")) == ("2", "1")
    assert [c.get("classname") for c in chat.iter("testcase")] == [
        "openai.chat.response", "openai.chat.stream"]
    assert [c.get("classname") for c in suites["acme.widgets"].iter("testcase")] == [
        "acme.widgets.shape", "acme.widgets.shape"]


def test_the_terminal_table_has_a_heading_per_family(two_families: dict) -> None:
    text = terminal.render(two_families, color=False)
    order = [text.index(line) for line in ("openai non-conformant", f"  {MODELS}", f"  {CHAT}",
                                           "acme conformant-with-warnings", f"  {WIDGETS}")]
    assert order == sorted(order)
    assert f"acme endpoints: {WIDGETS}: judged (conformant-with-warnings: 1 SHOULD" in text


def test_a_12_document_is_rendered_grouped_by_its_registered_family(tmp_path: Path) -> None:
    """Written before results named their API: `conformance report` takes each result's API from
    the family that declares its endpoint, and exits as the run did."""
    doc = document(result("chat.stream.done", CHAT, "fail"),
                   result("models.list.object", MODELS, "pass", level="SHOULD"))
    old = {**doc, "version": "1.2", "summary": {k: v for k, v in doc["summary"].items()
                                                if k != "apis"},
           "results": [{k: v for k, v in r.items() if k != "api"} for r in doc["results"]]}
    validate_document(old)
    (tmp_path / "results.json").write_text(json.dumps(old), encoding="utf-8")
    assert cli.main(["report", str(tmp_path)]) == 1
    assert 'href="#openai-post-v1-chat-completions"' in (tmp_path / "index.html").read_text()
    assert '<testsuite name="openai.chat"' in (tmp_path / "junit.xml").read_text()
    with pytest.raises(ValidationError, match=r"'apis?' is a required property"):
        validate_document({**old, "version": "1.3"})  # 1.3 must name the API
