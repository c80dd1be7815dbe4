"""The history database (issue 13): runs recorded by series of comparable runs, rebuilt from a
folder of results.json, the previous comparable run and per-endpoint trends written into a run's
document, and `conformance history` over them; shown on hand-built documents."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conformance import cli, history
from conformance.diff import EMBEDDED, target_name
from conformance.reporting import html, terminal
from conformance.results import RunInfo, build_document, validate_document

CHAT, RESPONSES = "POST /v1/chat/completions", "POST /v1/responses"
URL = "https://gw.example.com/v1"
START = datetime(2026, 11, 1, tzinfo=UTC)


def result(check_id: str, outcome: str, cause: str | None = None) -> dict:
    endpoint = CHAT if check_id.startswith("chat.") else RESPONSES
    return {"id": check_id, "endpoint": endpoint, "family": check_id.split(".")[1],
            "level": "MUST", "feature": "core", "operation": "op", "spec": "openapi/x.yaml#/",
            "source": "unit", "requirement": "X MUST hold.", "outcome": outcome,
            "message": f"{outcome}: {check_id}", "cause": cause, "duration": 0.0,
            "expected": None, "actual": None,
            "exchanges": []}


def run_document(night: int, *outcomes: tuple[str, str], target: str = URL,
                 model: str = "gpt-4o-mini", status: str = "completed") -> dict:
    """A run on night `night` (they sort by it), with (check id, outcome) results."""
    run = RunInfo(target=target, embedded=False, model=model, select=[],
                  started_at=START + timedelta(days=night), status=status)
    results = [result(i, o, "absent" if o == "not_supported" else None) for i, o in outcomes]
    return build_document(run, results, {}, extra={"models": {"openai": model}})


GOOD = (("chat.stream.done", "pass"), ("chat.response.id", "pass"),
        ("responses.response.id", "pass"))
BROKEN = (("chat.stream.done", "fail"), ("chat.response.id", "pass"),
          ("responses.response.id", "pass"))


def tracked(db: Path, tmp_path: Path, document: dict) -> dict:
    history.track(document, db, tmp_path / "results.json")
    validate_document(document)  # what the run adds is part of the results contract
    return document


def test_a_target_is_filed_without_credentials() -> None:
    run = {"embedded_gateway": False,
           "target": "https://user:pw@gw.example.com/v1/?api-key=s3cret&api-version=2024-10-21"
                     "&code=x&X-Goog-Api-Key=k"}
    assert target_name(run) == "https://gw.example.com/v1?api-version=2024-10-21"
    assert target_name({"embedded_gateway": True, "target": "x"}) == EMBEDDED


def test_recording_a_run_twice_files_it_once(tmp_path: Path) -> None:
    document = run_document(1, *GOOD)
    with history.database(tmp_path / "h.sqlite") as conn:
        first = history.record(conn, document, tmp_path / "results.json")
        assert history.record(conn, document, tmp_path / "results.json") == first
        rows = conn.execute("SELECT api, model, endpoint, endpoint_id, scope FROM endpoints")
        assert sorted(map(tuple, rows)) == [
            ("openai", "gpt-4o-mini", CHAT, "chat", "judged"),
            ("openai", "gpt-4o-mini", RESPONSES, "responses", "judged")]


def test_the_previous_comparable_run_is_the_last_completed_one_of_the_series(
        tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    tracked(db, tmp_path, run_document(1, *GOOD))
    tracked(db, tmp_path, run_document(2, *BROKEN, model="other-model"))  # another series
    tracked(db, tmp_path, run_document(3, *BROKEN, status="interrupted"))  # never compared with
    latest = tracked(db, tmp_path, run_document(4, *BROKEN))
    assert latest["run"]["history"]["run"] == 4
    assert latest["run"]["history"]["previous"]["run"] == 1
    changes = latest["summary"]["changes"]
    assert changes["since"] == 1
    assert [(c["id"], c["before"], c["after"]) for c in changes["regressions"]] == [
        ("chat.stream.done", "pass", "fail")]
    # the trend: the series' completed runs and this one, oldest first
    assert [p["run"] for p in latest["summary"]["trends"]["openai"][CHAT]] == [1, 4]
    assert [p["score"] for p in latest["summary"]["trends"]["openai"][CHAT]] == [1.0, 0.5]


def test_the_first_run_of_a_series_has_no_previous_and_an_interrupted_one_no_changes(
        tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    first = tracked(db, tmp_path, run_document(1, *GOOD))
    assert first["run"]["history"]["previous"] is None and "changes" not in first["summary"]
    cut = tracked(db, tmp_path, run_document(2, *BROKEN, status="interrupted"))
    assert cut["run"]["history"]["previous"]["run"] == 1 and "changes" not in cut["summary"]


def test_a_broken_database_costs_the_history_not_the_run(tmp_path: Path, capsys) -> None:
    db = tmp_path / "h.sqlite"
    db.write_text("not a database", encoding="utf-8")
    document = run_document(1, *GOOD)
    history.track(document, db, tmp_path / "results.json")
    assert "history" not in document["run"] and "trends" not in document["summary"]
    assert "history not recorded" in capsys.readouterr().err


def test_the_database_is_rebuilt_from_a_folder_of_results(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    for night, outcomes in ((2, BROKEN), (1, GOOD), (3, GOOD)):  # found out of order
        (reports / f"night{night}").mkdir(parents=True)
        (reports / f"night{night}" / "results.json").write_text(
            json.dumps(run_document(night, *outcomes)), encoding="utf-8")
    (reports / "latest").symlink_to("night3")  # the same run twice: filed once
    (reports / "junk").mkdir()
    (reports / "junk" / "results.json").write_text("{", encoding="utf-8")
    db = tmp_path / "h.sqlite"
    db.write_text("an old database, replaced", encoding="utf-8")
    assert history.rebuild(db, reports) == 3
    with sqlite3.connect(db) as conn:
        runs = conn.execute("SELECT id, verdict, source FROM runs ORDER BY id").fetchall()
    assert [(i, v, Path(s).parent.name) for i, v, s in runs] == [
        (1, "conformant", "night1"), (2, "non-conformant", "night2"), (3, "conformant", "night3")]


def test_trends_show_endpoint_scores_and_the_checks_that_changed(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    for night, outcomes in ((1, GOOD), (2, BROKEN), (3, GOOD)):
        tracked(db, tmp_path, run_document(night, *outcomes))
    tracked(db, tmp_path, run_document(4, *GOOD, target="https://other.example.com/v1"))
    (series,) = history.trends(db, target=URL)
    assert [r["run"] for r in series["runs"]] == [1, 2, 3]
    assert series["endpoints"][0] == {"api": "openai", "endpoint": CHAT,
                                      "scores": [1.0, 0.5, 1.0]}
    assert series["checks"] == [{"id": "chat.stream.done", "outcomes": ["pass", "fail", "pass"]}]
    (chosen,) = history.trends(db, target=URL, checks=["chat.response.*"])
    assert chosen["checks"] == [{"id": "chat.response.id", "outcomes": ["pass"] * 3}]
    (responses,) = history.trends(db, target=URL, endpoint="responses")
    assert [e["endpoint"] for e in responses["endpoints"]] == [RESPONSES]
    assert responses["checks"] == []  # its checks kept their outcome
    text = history.render(history.trends(db, target="https://*"), [])
    assert "target https://other.example.com/v1" in text and f"openai {CHAT}" in text
    assert "chat.stream.done" in text and "FAIL" in text and "█▅█" in text


def test_the_history_command(tmp_path: Path, capsys) -> None:
    db = tmp_path / "h.sqlite"
    for night, outcomes in ((1, GOOD), (2, BROKEN)):
        tracked(db, tmp_path, run_document(night, *outcomes))
    assert cli.main(["history", "--history", str(db), "--json", "--check", "chat.*"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [c["id"] for c in found["series"][0]["checks"]] == [
        "chat.response.id", "chat.stream.done"]
    tracked(db, tmp_path, run_document(3, *GOOD, status="interrupted"))  # shown, marked
    assert cli.main(["history", "--history", str(db), "--last", "2"]) == 0
    runs = [line.split()[:2] + line.split()[-1:] for line in capsys.readouterr().out.splitlines()
            if line.startswith("  run ")]
    assert runs == [["run", "2", "67%"], ["run", "3", "interrupted"]]
    assert cli.main(["history", "--history", str(tmp_path / "none.sqlite")]) == 2
    assert "no history at" in capsys.readouterr().err


def test_the_report_says_what_changed_and_shows_each_endpoints_trend(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    tracked(db, tmp_path, run_document(1, *GOOD))
    document = tracked(db, tmp_path, run_document(2, ("chat.stream.done", "fail"),
                                                  ("chat.response.id", "pass"),
                                                  ("responses.response.id", "not_supported")))
    page = html.render(document)
    header = page[page.index('id="history"'):page.index("</section>")]
    assert "Since run 1" in header and "1 new failure," in header
    assert ('<span class="badge fail">new failure</span> <a href="#chat.stream.done"><code>'
            'chat.stream.done</code></a>') in header
    assert 'id="chat.stream.done"' in page  # the failure's evidence the link leads to
    assert "newly not served</span> <code>POST /v1/responses</code>" in header
    assert "<svg" in header and "100% → 50%" in header and "<script" not in header
    line = terminal.render(document, color=False)
    assert ("since history run 1: 1 regression, 0 fixes, 1 endpoint newly not served: "
            "chat.stream.done (pass -> fail), openai POST /v1/responses not served") in line


def test_the_first_run_says_so_in_the_report(tmp_path: Path) -> None:
    document = tracked(tmp_path / "h.sqlite", tmp_path, run_document(1, *GOOD))
    assert "Recorded as history run 1: the first of" in html.render(document)
