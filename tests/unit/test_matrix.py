"""`conformance matrix` (issue 13): three hand-built runs become three columns, rows grouped by
API family then endpoint, each cell linking to its run's evidence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance import cli, matrix
from conformance.config import ConfigError
from conformance.redact import Redactor
from conformance.results import RunInfo, build_document, write_document
from tests.unit.test_results_grouping import CHAT, MODELS, result

MESSAGES = "POST /v1/messages"


def write_run(where: Path, target: str, outcomes: dict[str, str], **run: object) -> Path:
    """A run directory holding a results.json whose checks ended as `outcomes`."""
    endpoints = {"chat": CHAT, "models": MODELS, "messages": MESSAGES}
    results = [result(cid, endpoints[cid.split(".")[0]], outcome)
               for cid, outcome in outcomes.items()]
    document = build_document(RunInfo(target=target, embedded=False, model="m", select=[]),
                              results, {}, extra=run or None)
    where.mkdir(parents=True)
    write_document(document, where / "results.json", Redactor())
    return where


@pytest.fixture
def three_runs(tmp_path: Path) -> list[Path]:
    clean = {"chat.stream.done": "pass", "models.list.object": "pass",
             "messages.response.shape": "pass"}
    return [
        write_run(tmp_path / "runs" / "a", "https://a.example/v1", clean,
                  models={"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}),
        write_run(tmp_path / "runs" / "b", "https://b.example/v1",
                  {**clean, "chat.stream.done": "fail"}, target_name="b-eu"),
        # the same target again, and a check only this run has
        write_run(tmp_path / "runs" / "c", "https://b.example/v1",
                  {**clean, "chat.stream.extra": "warn"}, target_name="b-eu"),
    ]


def test_three_runs_give_three_columns_with_distinct_labels(three_runs: list[Path],
                                                            tmp_path: Path) -> None:
    columns = matrix.load_columns(three_runs, tmp_path)
    assert len(columns) == 3
    assert columns[0].label == ("https://a.example/v1 · openai gpt-4o-mini, "
                                "anthropic claude-haiku-4-5")
    # two runs of one target: their start times part them, else their position
    assert columns[1].label.startswith("b-eu · m")
    assert len({c.label for c in columns}) == 3


def test_rows_are_grouped_by_api_then_endpoint(three_runs: list[Path], tmp_path: Path) -> None:
    rows = matrix.rows(matrix.load_columns(three_runs, tmp_path))
    assert list(rows) == ["openai", "anthropic"]
    assert list(rows["openai"]) == [MODELS, CHAT]
    chat = rows["openai"][CHAT]
    assert list(chat) == ["chat.stream.done", "chat.stream.extra"]
    assert [c.outcome for c in chat["chat.stream.done"]] == ["pass", "fail", "pass"]
    assert chat["chat.stream.extra"][:2] == [None, None]  # absent from those runs


def test_each_cell_links_to_its_runs_evidence(three_runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "matrix"
    page, markdown = matrix.write(three_runs, out)
    html = page.read_text()
    # a problem links to its own block of the run's report; a pass to its endpoint's table
    assert 'href="../runs/b/index.html#chat.stream.done"' in html
    assert 'href="../runs/a/index.html#openai-post-v1-chat-completions"' in html
    assert "[fail](../runs/b/index.html#chat.stream.done)" in markdown.read_text()
    for link in re.findall(r'href="([^"#]+)#', html):
        assert (out / link).parent.is_dir(), link


def test_the_page_is_self_contained_and_scrolls_inside_its_tables(three_runs: list[Path],
                                                                 tmp_path: Path) -> None:
    html = matrix.render_html(matrix.load_columns(three_runs, tmp_path))
    assert not re.search(r'<(script|link|img)\b[^>]*(src|href)="https?:', html)
    assert html.count('<div class="scroll">') == 2  # one per API family
    assert "overflow-x: auto" in html


def test_expectations_are_shown_in_the_cell(tmp_path: Path) -> None:
    run = write_run(tmp_path / "x", "t", {"chat.stream.done": "fail"})
    document = run / "results.json"
    text = document.read_text().replace('"outcome": "fail",', '"outcome": "fail", '
                                        '"expectation": {"status": "expected"},', 1)
    document.write_text(text)
    [cell] = matrix.rows(matrix.load_columns([run], tmp_path))["openai"][CHAT]["chat.stream.done"]
    assert (cell.outcome, cell.expectation) == ("fail", "expected")
    assert "fail (expected)" in matrix.render_markdown(matrix.load_columns([run], tmp_path))


def test_the_command_writes_both_files_and_refuses_what_is_no_run(three_runs: list[Path],
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli.main(["matrix", *map(str, three_runs), "--output", str(out)]) == 0
    assert (out / "matrix.html").is_file() and (out / "matrix.md").is_file()
    assert cli.main(["matrix", str(tmp_path / "nowhere")]) == 2
    with pytest.raises(ConfigError, match=r"no results\.json"):
        matrix.write([tmp_path], out)
