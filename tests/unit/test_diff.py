"""`conformance diff A B` (issue 13): the ordering of outcomes, regressions and fixes check by
check, endpoints newly not served, the three formats and the exit code; A and B as results.json
files, run directories or history run ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance import cli, diff, history
from conformance.check import Outcome
from tests.unit.test_history import BROKEN, CHAT, GOOD, run_document


def test_every_outcome_has_a_rank_from_pass_down_to_fail() -> None:
    assert set(diff.RANK) == {o.value for o in Outcome}
    ladder = ["pass", "warn", "not_supported", "fail"]
    assert [diff.RANK[o] for o in ladder] == sorted((diff.RANK[o] for o in ladder), reverse=True)
    assert diff.RANK["inconclusive"] == diff.RANK["not_supported"] == diff.RANK["skipped"]
    assert diff.RANK["error"] == diff.RANK["fail"]


def snapshot(night: int, *outcomes: tuple[str, str]) -> diff.Snapshot:
    return diff.from_document(run_document(night, *outcomes), f"night {night}")


def test_regressions_fixes_and_other_changes_check_by_check() -> None:
    before = snapshot(1, ("chat.stream.done", "pass"), ("chat.response.id", "fail"),
                      ("chat.usage.total", "inconclusive"), ("chat.limits.stop", "pass"))
    after = snapshot(2, ("chat.stream.done", "warn"), ("chat.response.id", "pass"),
                     ("chat.usage.total", "skipped"), ("chat.tools.forced", "pass"))
    changes = diff.compare(before, after)
    found = {kind: [(c["id"], c["before"], c["after"]) for c in changes[kind]]
             for kind in ("regressions", "fixes", "changed")}
    assert found == {"regressions": [("chat.stream.done", "pass", "warn")],
                     "fixes": [("chat.response.id", "fail", "pass")],
                     "changed": [("chat.usage.total", "inconclusive", "skipped")]}
    assert (changes["added"], changes["removed"]) == (["chat.tools.forced"], ["chat.limits.stop"])
    assert changes["compared"] == 3 and diff.regressed(changes)
    assert not diff.regressed(diff.compare(after, after))


def test_an_endpoint_no_longer_served_is_one_regression_not_one_per_check() -> None:
    before = snapshot(1, *GOOD)
    after = snapshot(2, ("chat.stream.done", "pass"), ("chat.response.id", "pass"),
                     ("responses.response.id", "not_supported"))
    changes = diff.compare(before, after)
    assert changes["regressions"] == []
    assert changes["newly_not_served"] == [{"api": "openai", "endpoint": "POST /v1/responses",
                                            "before": "judged", "checks": 1}]
    assert diff.regressed(changes)
    assert diff.headline(changes) == "0 regressions, 0 fixes, 1 endpoint newly not served"


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    paths = []
    for night, outcomes in ((1, GOOD), (2, BROKEN)):
        out = tmp_path / f"night{night}"
        out.mkdir()
        (out / "results.json").write_text(json.dumps(run_document(night, *outcomes)),
                                          encoding="utf-8")
        paths.append(out)
    return paths[0], paths[1]


def test_a_regression_exits_1_and_a_fix_0(two_runs: tuple[Path, Path], capsys) -> None:
    good, broken = two_runs
    assert cli.main(["diff", str(good), str(broken / "results.json")]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION  [MUST] chat.stream.done: pass -> fail  (fail: chat.stream.done)" in out
    assert out.endswith("1 regression, 0 fixes, 0 endpoints newly not served "
                        "(3 checks compared)\n")
    assert cli.main(["diff", str(broken), str(good)]) == 0
    assert "FIX         [MUST] chat.stream.done: fail -> pass" in capsys.readouterr().out


def test_markdown_and_json(two_runs: tuple[Path, Path], capsys) -> None:
    good, broken = two_runs
    cli.main(["diff", str(good), str(broken), "--format", "markdown"])
    markdown = capsys.readouterr().out
    assert markdown.startswith("## Conformance diff: 1 regression, 0 fixes")
    assert (f"| `chat.stream.done` | MUST | openai `{CHAT}` | pass | fail "
            "| fail: chat.stream.done |") in markdown
    cli.main(["diff", str(good), str(broken), "--format", "json"])
    found = json.loads(capsys.readouterr().out)
    assert found["regressed"] is True and found["b"]["label"] == str(broken / "results.json")
    assert [c["id"] for c in found["regressions"]] == ["chat.stream.done"]


def test_history_run_ids_compare_like_documents(two_runs: tuple[Path, Path], tmp_path: Path,
                                                capsys) -> None:
    db = tmp_path / "h.sqlite"
    history.rebuild(db, tmp_path)
    assert cli.main(["diff", "1", "#2", "--history", str(db), "--format", "json"]) == 1
    found = json.loads(capsys.readouterr().out)
    assert (found["a"]["label"], found["b"]["label"]) == ("history run 1", "history run 2")
    assert [c["id"] for c in found["regressions"]] == ["chat.stream.done"]
    assert cli.main(["diff", "1", "9", "--history", str(db)]) == 2
    assert "no run 9" in capsys.readouterr().err
    assert cli.main(["diff", "1", "nowhere/results.json", "--history", str(db)]) == 2
