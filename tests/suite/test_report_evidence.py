"""The exchange that shows the defect comes first (issue 13, the report as a vendor reads it).

A streaming failure opened the non-streamed exchange first and listed its `curl` first: the
check had read both, and its exchanges were listed in fixture order. Now a result's
`exchanges` start with the one that shows the defect, and the HTML (opened), the terminal and
JUnit (first `reproduce` line) follow that order.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tests.suite.harness import SuiteRun, run_suite


def _result(run: SuiteRun, check_id: str) -> dict:
    return next(r for r in run.document["results"] if r["id"] == check_id)


def _streamed(run: SuiteRun, exchange_id: str) -> bool:
    return json.loads(run.document["exchanges"][exchange_id]["request"]["body"]).get("stream")


def _junit_reproduce_lines(run: SuiteRun, check_id: str) -> list[str]:
    case = next(c for c in ET.parse(run.out_dir / "junit.xml").iter("testcase")
                if c.get("name") == check_id)
    problem = case.find("failure") if case.find("failure") is not None else case.find("system-out")
    return [line for line in problem.text.splitlines() if line.startswith("reproduce: ")]


@pytest.fixture(scope="module")
def stream_loses_text(gateway, tmp_path_factory) -> SuiteRun:
    """The issue's case: the stream drops its last delta; the checks read a non-streamed answer
    beside the stream to compare with."""
    return run_suite(gateway.fault_base_url("chat-stream-text-differs"),
                     tmp_path_factory.mktemp("stream-loses-text"), "--select", "chat.stream.*")


@pytest.mark.parametrize("check_id", ["chat.stream.utf8-text", "chat.stream.matches-non-stream"])
def test_a_streaming_failure_lists_its_stream_first(stream_loses_text, check_id) -> None:
    run = stream_loses_text
    result = _result(run, check_id)
    assert result["outcome"] in ("fail", "warn")
    first, *others = result["exchanges"]
    assert _streamed(run, first), result["exchanges"]
    assert any(not _streamed(run, other) for other in others)  # the baseline comes after it
    assert _junit_reproduce_lines(run, check_id)[0] == \
        f"reproduce: {run.document['exchanges'][first]['curl']}"
    html = (run.out_dir / "index.html").read_text(encoding="utf-8")
    block = html[html.index(f'id="{check_id}"'):]
    assert block.index(f"<code>{first}</code>") < block.index(f"<code>{others[0]}</code>")
    assert block.index("<details open>") < block.index(f"<code>{first}</code>")


def test_the_terminal_reproduces_the_stream_first(gateway, tmp_path, capfd) -> None:
    run = run_suite(gateway.fault_base_url("chat-stream-text-differs"), tmp_path,
                    "--select", "chat.stream.utf8-text")
    printed = capfd.readouterr().out
    first = _result(run, "chat.stream.utf8-text")["exchanges"][0]
    reproduce = [line for line in printed.splitlines() if line.strip().startswith("reproduce: ")]
    assert reproduce and '"stream": true' in reproduce[0], reproduce
    assert _streamed(run, first)


def test_a_non_streamed_defect_beside_a_stream_comes_first(gateway, tmp_path) -> None:
    """Sibling: the check reads a stream too, but the defect is in the non-streamed answer
    (`total_tokens` as a string), which the check names (`shows=`): it comes first."""
    run = run_suite(gateway.fault_base_url("chat-usage-string-tokens"), tmp_path,
                    "--select", "chat.usage.total")
    result = _result(run, "chat.usage.total")
    assert result["outcome"] == "fail"
    assert result["exchanges"][0] == "chat_completion"
    assert any(_streamed(run, other) for other in result["exchanges"][1:])
