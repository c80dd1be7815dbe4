"""The nightly scenario of issue 13, scripted: one gateway, redeployed night after night on the
same URL, run with an expectations file and recorded in a history database.

Night 1 it has a known deviation (`chat-stream-splits-utf8`): the run fails, and `conformance
expectations` writes the deviation down. Night 2 the same gateway passes the run "with 1
expected failure". Night 3 the deviation is fixed: the expectation is reported stale. Night 4 a
new defect (`chat-stream-data-after-done`) fails the run naming only its check. `conformance
history` and `conformance diff` show exactly that story.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conformance import cli
from conformance.gateway.server import EmbeddedGateway
from tests.suite.harness import API_KEY, SuiteRun, run_suite

KNOWN, FIXED_LATER = "chat-stream-splits-utf8", "chat.stream.utf8-text"
NEW, NEW_CHECK = "chat-stream-data-after-done", "chat.stream.nothing-after-done"
SELECTION = ("--select", "chat.stream.*")  # a few checks: the story, not the whole suite


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def deployed(port: int, fault: str | None) -> Iterator[str]:
    """The gateway as deployed that night (with `fault`, or clean), always at the same URL."""
    with EmbeddedGateway(api_key=API_KEY, fault=fault, port=port) as gateway:
        yield gateway.base_url


class Nights:
    def __init__(self, tmp_path: Path) -> None:
        self.root, self.port = tmp_path, free_port()
        self.history = tmp_path / "history.sqlite"
        self.expectations = tmp_path / "expectations.yaml"

    def run(self, night: int, fault: str | None, capsys: pytest.CaptureFixture[str],
            *args: str) -> tuple[SuiteRun, str]:
        with deployed(self.port, fault) as base_url:
            run = run_suite(base_url, self.root / f"night{night}", *SELECTION,
                            "--history", str(self.history), *args)
        return run, capsys.readouterr().out

    def conformance(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
        code = cli.main([*args, "--history", str(self.history)])
        return code, capsys.readouterr().out


def test_a_month_of_nights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nights = Nights(tmp_path)
    expect = ("--expectations", str(nights.expectations))

    first, _ = nights.run(1, KNOWN, capsys)
    assert first.exit_code == 1 and first.outcome(FIXED_LATER) == "fail"
    assert first.document["run"]["history"]["previous"] is None
    assert cli.main(["expectations", str(first.out_dir), "--file",
                     str(nights.expectations)]) == 0
    capsys.readouterr()

    second, out = nights.run(2, KNOWN, capsys, *expect)
    assert second.exit_code == 0 and "1 expected failure" in out
    assert second.document["summary"]["changes"]["regressions"] == []

    third, out = nights.run(3, None, capsys, *expect)
    assert third.exit_code == 0 and "1 stale expectation" in out
    stale = third.document["summary"]["expectations"]["stale"]
    assert [(e["check"], e["why"]) for e in stale] == [(FIXED_LATER, "expected fail, got pass")]
    fixes = third.document["summary"]["changes"]["fixes"]
    assert [(c["id"], c["before"], c["after"]) for c in fixes] == [(FIXED_LATER, "fail", "pass")]

    fourth, out = nights.run(4, NEW, capsys, *expect)
    assert fourth.exit_code == 1 and "1 unexpected failure" in out
    assert re.findall(r"^FAIL +\[MUST\] (\S+):", out, re.MULTILINE) == [NEW_CHECK]
    unexpected = [r["id"] for r in fourth.document["results"]
                  if (r.get("expectation") or {}).get("status") == "unexpected"]
    assert unexpected == [NEW_CHECK]
    assert f"since history run 3: 1 regression, 0 fixes, 0 endpoints newly not served: " \
           f"{NEW_CHECK} (pass -> fail)" in out
    changes = fourth.document["summary"]["changes"]
    assert (changes["since"], [c["id"] for c in changes["regressions"]]) == (3, [NEW_CHECK])

    # the history: one target, four nights, and only the two checks that changed
    code, out = nights.conformance(capsys, "history", "--json")
    (series,) = json.loads(out)["series"]
    assert code == 0 and [r["run"] for r in series["runs"]] == [1, 2, 3, 4]
    assert [r["verdict"] for r in series["runs"]] == [
        "non-conformant", "non-conformant", "conformant", "non-conformant"]
    assert {c["id"]: c["outcomes"] for c in series["checks"]} == {
        FIXED_LATER: ["fail", "fail", "pass", "pass"],
        NEW_CHECK: ["pass", "pass", "pass", "fail"]}
    code, out = nights.conformance(capsys, "history")
    assert f"  {FIXED_LATER:48}   FAIL   FAIL   pass   pass" in out
    assert f"  {NEW_CHECK:48}   pass   pass   pass   FAIL" in out

    # the diff, by history run ids and by results.json: exactly the new check regressed
    code, out = nights.conformance(capsys, "diff", "3", "4", "--format", "json")
    found = json.loads(out)
    assert code == 1 and [c["id"] for c in found["regressions"]] == [NEW_CHECK]
    assert found["fixes"] == [] and found["newly_not_served"] == []
    code, out = nights.conformance(capsys, "diff", str(second.out_dir), str(third.out_dir))
    assert code == 0 and f"FIX         [MUST] {FIXED_LATER}: fail -> pass" in out
    assert "REGRESSION" not in out
