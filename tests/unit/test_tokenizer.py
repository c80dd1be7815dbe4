"""Which encoding a run counts tokens with, and why: `--tokenizer`, the environment, the model."""

from __future__ import annotations

import pytest

from conformance import tokens
from conformance.config import ConfigError, build_config
from conformance.reporting import terminal


def resolve(environ: dict[str, str] | None = None, **flags: str) -> tokens.Tokenizer:
    return tokens.encoding_for(build_config(environ=environ or {}, **flags))


def test_an_explicit_tokenizer_wins_over_the_model_name() -> None:
    found = resolve(model="aimock-native", tokenizer="o200k_base")
    assert found == ("o200k_base", "--tokenizer o200k_base")


def test_an_explicit_tokenizer_that_disagrees_with_the_model_name_says_so() -> None:
    encoding, reason = resolve(model="gpt-4o-mini", tokenizer="cl100k_base")
    assert encoding == "cl100k_base"
    assert reason == "--tokenizer cl100k_base; the model name gpt-4o-mini suggests o200k_base"


def test_the_environment_names_one_when_the_flag_does_not() -> None:
    env = {"CONFORMANCE_TOKENIZER": "cl100k_base"}
    assert resolve(env, model="aimock-native") == (
        "cl100k_base", "CONFORMANCE_TOKENIZER=cl100k_base")
    assert resolve(env, model="aimock-native", tokenizer="o200k_base").encoding == "o200k_base"


@pytest.mark.parametrize(("model", "encoding"), [
    ("gpt-4o-mini", "o200k_base"),
    ("gpt-4-turbo", "cl100k_base"),
    ("openai/gpt-4o", "o200k_base"),
    ("OpenAI/GPT-3.5-turbo", "cl100k_base"),
])
def test_a_known_model_name_decides(model: str, encoding: str) -> None:
    assert resolve(model=model) == (encoding, f"from the model name {model}")


@pytest.mark.parametrize("model", ["aimock-native", "openai/gpt-oss-120b"])
def test_an_unknown_alias_has_no_encoding_and_says_how_to_name_one(model: str) -> None:
    encoding, reason = resolve(model=model)
    assert encoding is None
    assert model in reason and "--tokenizer" in reason and "billing" in reason


def test_the_default_model_has_a_known_encoding() -> None:
    assert resolve().encoding == "o200k_base"


@pytest.mark.parametrize(("flags", "environ"), [
    ({"tokenizer": "nope"}, {}),
    ({"tokenizer": "p50k_base"}, {}),
    ({}, {"CONFORMANCE_TOKENIZER": "gpt2"}),
])
def test_an_unknown_tokenizer_is_a_usage_error(flags: dict, environ: dict) -> None:
    with pytest.raises(ConfigError, match="o200k_base, cl100k_base"):
        build_config(environ=environ, **flags)


def test_the_run_info_records_it_in_one_line() -> None:
    run = {"tokenizer": resolve(model="aimock-native", tokenizer="o200k_base").as_dict()}
    assert run["tokenizer"] == {"encoding": "o200k_base", "reason": "--tokenizer o200k_base"}
    assert terminal.tokenizer_line(run) == "o200k_base (--tokenizer o200k_base)"
    unknown = {"tokenizer": resolve(model="aimock-native").as_dict()}
    assert terminal.tokenizer_line(unknown).startswith("none (unknown for model aimock-native")
    assert terminal.tokenizer_line({}) == ""  # an older results.json
