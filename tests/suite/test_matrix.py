"""Many targets, one matrix (issue 13): `conformance run --config` over the clean reference
gateway and two of its faults, then `conformance matrix` over the three runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance import cli
from conformance.gateway.server import EmbeddedGateway
from tests.suite.harness import API_KEY

FAULTS = ("chat-object-wrong", "models-entry-incomplete")
TARGETS = ("clean", *FAULTS)
KEY_VARIABLE = "SUITE_GATEWAY_KEY"


def targets_run(gateway: EmbeddedGateway, root: Path) -> list[str]:
    """The arguments of a run of a targets file naming the clean gateway and each fault (its
    key in $SUITE_GATEWAY_KEY), into root/<name>/."""
    urls = {"clean": gateway.base_url, **{f: gateway.fault_base_url(f) for f in FAULTS}}
    config = root / "targets.toml"
    root.mkdir(parents=True, exist_ok=True)
    config.write_text("".join(f'[targets.{name}]\nbase_url = "{url}"\n'
                              f'api_key_env = "{KEY_VARIABLE}"\n\n'
                              for name, url in urls.items()))
    return ["run", "--config", str(config), "--output", str(root), "--cases", "0",
            "--no-history", "--select", "chat.response.*", "--select", "models.*"]


def test_three_targets_then_their_matrix(gateway: EmbeddedGateway, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "reports"
    monkeypatch.setenv(KEY_VARIABLE, API_KEY)
    assert cli.main(targets_run(gateway, root)) == 1  # a fault fails a MUST check
    assert all((root / name / "index.html").is_file() for name in TARGETS)
    page = (root / "matrix.html").read_text()  # written by the run of every target
    assert API_KEY not in page + (root / "matrix.md").read_text()

    out = tmp_path / "merged"  # as a CI job that downloaded each target's artifact
    assert cli.main(["matrix", *(str(root / name) for name in TARGETS),
                     "--output", str(out)]) == 0
    page = (out / "matrix.html").read_text()
    headers = re.findall(r"<th>(\d)\. (\S+) · ", page)
    assert sorted(set(headers)) == [("1", "clean"), ("2", FAULTS[0]), ("3", FAULTS[1])]
    row = re.search(r"<code>chat.response.object</code></th>(.*?)</tr>", page, re.S).group(1)
    assert re.findall(r'class="(\w+)" href="([^"]+)"', row) == [
        ("pass", "../reports/clean/index.html#openai-post-v1-chat-completions"),
        ("fail", f"../reports/{FAULTS[0]}/index.html#chat.response.object"),
        ("pass", f"../reports/{FAULTS[1]}/index.html#openai-post-v1-chat-completions")]
    markdown = (out / "matrix.md").read_text()
    assert "| `models.list.entry-shape` | [pass]" in markdown
    assert f"[warn](../reports/{FAULTS[1]}/index.html#models.list.entry-shape)" in markdown
