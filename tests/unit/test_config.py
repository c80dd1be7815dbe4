"""Config precedence: flags, then environment, then defaults; bad input is a usage error."""

from __future__ import annotations

import pytest

from conformance.apis.openai import FAMILY
from conformance.config import ConfigError, build_config
from conformance.http import Client, post

ENV = {"OPENAI_BASE_URL": "http://env.example/v1", "OPENAI_API_KEY": "sk-env-key-123456",
       "CONFORMANCE_MODEL": "env-model"}


def test_flags_win_over_environment() -> None:
    config = build_config(base_url="http://flag.example/v1/", api_key="sk-flag-key-1234",
                          model="flag-model", environ=ENV)
    assert config.base_url == "http://flag.example/v1"
    assert config.api_key == "sk-flag-key-1234"
    assert config.model == "flag-model"


def test_environment_fills_what_flags_leave_out() -> None:
    config = build_config(environ=ENV)
    assert (config.base_url, config.api_key, config.model) == (
        "http://env.example/v1", "sk-env-key-123456", "env-model")
    assert not config.embedded


def test_nothing_given_means_the_embedded_gateway() -> None:
    config = build_config(environ={})
    assert config.embedded and config.api_key is None and config.model == FAMILY.default_model


def test_secrets_are_not_in_the_repr() -> None:
    config = build_config(api_key="sk-secret-value-999", headers=["X-Api-Key: hidden-value"],
                          environ={})
    assert "sk-secret-value-999" not in repr(config)
    assert set(config.secrets()) == {"sk-secret-value-999", "hidden-value"}


@pytest.mark.parametrize("kwargs", [
    {"base_url": "ftp://x"}, {"headers": ["no-colon"]}, {"timeout": 0},
])
def test_bad_values_are_config_errors(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        build_config(environ={}, **kwargs)



def test_routing_headers_stay_readable_and_credential_headers_do_not() -> None:
    """A `--header` value is redacted when its name says it holds a credential, not otherwise:
    `X-Route: eu-west` is part of the request the `curl` line must replay."""
    config = build_config(base_url="http://gw.test/v1", api_key="sk-secret-value-999",
                          headers=["X-Route: eu-west", "X-Gateway-Token: tok-4242",
                                   "X-Api-Key: hidden-value"], environ={})
    assert set(config.secrets()) == {"sk-secret-value-999", "tok-4242", "hidden-value"}
    line = Client(config).record(post("/chat/completions", {"model": "m"}), "x").curl()
    assert "'X-Route: eu-west'" in line
    assert "tok-4242" not in line and "hidden-value" not in line
    assert "sk-secret-value-999" not in line
