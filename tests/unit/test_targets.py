"""The targets file of `conformance run --config` (issue 13): a strict loader whose errors say
where, which names the environment variables of secrets and never holds a secret itself."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from conformance import cli, targets
from conformance.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-targets-secret-0123456789"


def load(tmp_path: Path, text: str) -> dict[str, targets.Target]:
    path = tmp_path / "targets.toml"
    path.write_text(text)
    return targets.load(path)


def test_the_example_file_loads() -> None:
    found = targets.load(ROOT / "examples" / "targets.toml")
    assert list(found) == ["acme-eu", "acme-us-mini"]
    eu = found["acme-eu"]
    assert eu.key_env == (("openai", "ACME_API_KEY"),)
    assert dict(eu.models) == {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}
    assert eu.expectations == ROOT / "examples" / "expectations" / "acme-eu.yaml"
    assert eu.expectations.is_file()


def test_secrets_are_read_from_the_named_variables_when_the_target_runs(tmp_path: Path) -> None:
    [target] = load(tmp_path, """
[targets.gw]
base_url = "https://gw.example/v1"
api_key_env = { openai = "GW_KEY", anthropic = "GW_ANTHROPIC_KEY" }
headers = { "X-Route" = "eu-west", "X-Gateway-Token" = { env = "GW_TOKEN" } }
""").values()
    assert KEY not in repr(target)  # the file, and what is loaded from it, hold names only
    flags = target.flags({"GW_KEY": KEY, "GW_ANTHROPIC_KEY": "sk-ant-1", "GW_TOKEN": "tok-1"})
    assert flags["api_key"] == [f"openai={KEY}", "anthropic=sk-ant-1"]
    assert flags["header"] == ["X-Route: eu-west", "X-Gateway-Token: tok-1"]
    assert flags["target_name"] == "gw"
    with pytest.raises(ConfigError, match="'gw': the environment variable GW_TOKEN is not set"):
        target.flags({"GW_KEY": KEY, "GW_ANTHROPIC_KEY": "x"})


@pytest.mark.parametrize(("text", "error"), [
    ('[targets.gw]\napi_key = "sk-abc"', r"unknown key\(s\) api_key.*api_key_env"),
    ('[targets.gw]\napi_key_env = "sk-live-abc123"', "names an environment variable"),
    ('[targets.gw]\nheaders = { "X-Api-Key" = "abc" }', "carries a credential"),
    ('[targets.gw]\nmodels = { mistral = "x" }', "unknown API famil"),
    ('[targets.gw]\nendpoints = ["chat", "widgets"]', "unknown endpoint"),
    ('[targets.gw]\ntokenizer = "p50k"', "unknown tokenizer"),
    ('[targets.gw]\nbase_url = 3', "base_url must be a non-empty string"),
    ('[targets."a b"]', "a target name is"),
    ("[other]\nx = 1", "unknown top-level key"),
    ("", "no targets"),
    ("[targets.gw", "targets.toml"),
])
def test_mistakes_are_named_with_their_place(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        load(tmp_path, text)


def run_args(*argv: str) -> argparse.Namespace:
    return cli._parser().parse_args(["run", *argv])


def test_each_target_runs_in_turn_into_its_own_directory(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "targets.toml"
    path.write_text('[targets.one]\napi_key_env = "ONE_KEY"\n'
                    '[targets.two]\nmodels = { openai = "gpt-4.1-mini" }\n')
    monkeypatch.setenv("ONE_KEY", KEY)
    seen: list[argparse.Namespace] = []

    def run_one(args: argparse.Namespace) -> int:
        seen.append(args)
        return len(seen) - 1  # the second target "fails"

    code = targets.run(run_args("--config", str(path), "--output", str(tmp_path / "r")), run_one)
    assert code == 1
    assert [(a.target_name, a.output, a.config) for a in seen] == [
        ("one", str(tmp_path / "r" / "one"), None), ("two", str(tmp_path / "r" / "two"), None)]
    assert seen[0].api_key == [f"openai={KEY}"] and seen[1].model == ["openai=gpt-4.1-mini"]
    seen.clear()
    assert targets.run(run_args("--config", str(path), "--target", "two"), run_one) == 0
    assert [a.target_name for a in seen] == ["two"]


@pytest.mark.parametrize(("argv", "error"), [
    (["--target", "one"], "--target needs --config"),
    (["--config", "{path}", "--target", "three"], "'three': not in"),
    (["--config", "{path}", "--base-url", "http://x/v1"], "--base-url come"),
])
def test_config_usage_errors_exit_2(tmp_path: Path, argv: list[str], error: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "targets.toml"
    path.write_text("[targets.one]\n")
    assert cli.main(["run", *(a.format(path=path) for a in argv)]) == 2
    assert error in capsys.readouterr().err
