"""API families are plug-ins: the engine takes a family's endpoints, auth, model and key from
its registration, and names none itself (a made-up family, `acme_family`, shows it)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

import conformance.apis
from conformance import family as registry
from conformance.apis import openai
from conformance.config import ConfigError, build_config
from conformance.gateway import create_app
from conformance.http import Client, Request, post
from conformance.plan import PLAN, Recorder
from tests.unit.acme_family import FAMILY as ACME
from tests.unit.wire import respond_json


@pytest.fixture
def acme(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The made-up family registered beside OpenAI's for one test."""
    monkeypatch.setattr(conformance.apis, "FAMILIES", (openai.FAMILY, ACME))
    registry.families.cache_clear()
    yield
    monkeypatch.undo()
    registry.families.cache_clear()


def test_each_family_gets_its_own_model_and_key(acme: None) -> None:
    config = build_config(model=["gpt-test", "acme=acme-2"], api_key=["sk-openai-key-1234"],
                          environ={"ACME_API_KEY": "acme-key-5678"})
    assert (config.model_for("openai"), config.model_for("acme")) == ("gpt-test", "acme-2")
    assert (config.key_for("openai"), config.key_for("acme")) == ("sk-openai-key-1234",
                                                                  "acme-key-5678")
    assert set(config.secrets()) == {"sk-openai-key-1234", "acme-key-5678"}
    assert build_config(environ={"ACME_MODEL": "acme-3"}).model_for("acme") == "acme-3"
    assert build_config().model_for("acme") == "acme-1"  # the family's default


def test_a_value_is_the_first_familys_unless_prefixed_by_a_family(acme: None) -> None:
    """OpenAI's conventions stay as they were: `--model NAME` and OPENAI_API_KEY."""
    config = build_config(model="vendor=model:v1", environ={"OPENAI_API_KEY": "sk-env-key-12"})
    assert config.model == config.model_for("openai") == "vendor=model:v1"
    # A family given no key of its own uses the first family's: gateways take one key.
    assert config.api_key == config.key_for("acme") == "sk-env-key-12"
    own = build_config(environ={"OPENAI_API_KEY": "sk-env-key-12", "ACME_API_KEY": "acme-key-34"})
    assert own.key_for("acme") == "acme-key-34"
    with pytest.raises(ConfigError, match="two values"):
        build_config(model=["acme=a", "acme=b"])
    with pytest.raises(ConfigError, match="empty value"):
        build_config(model=["acme="])


def test_a_request_carries_its_familys_key_and_headers(acme: None) -> None:
    config = build_config(base_url="http://gw.test/v1", api_key=["sk-openai-key-1234",
                                                                 "acme=acme-key-5678"])
    client = Client(config)
    acme_headers = client.headers(Request("POST", "/widgets", "{}", family="acme"))
    assert acme_headers["x-acme-key"] == "acme-key-5678" and acme_headers["acme-version"] == "7"
    assert "Authorization" not in acme_headers
    assert client.headers(post("/chat/completions", {}))["Authorization"] == \
        "Bearer sk-openai-key-1234"  # no family named: the first family's way


def test_the_curl_line_reads_the_familys_key_variable(acme: None) -> None:
    config = build_config(base_url="http://gw.test/v1", api_key=["acme=acme-key-5678"])
    exchange = Client(config).record(Request("POST", "/widgets", "{}", family="acme"), "w")
    line = exchange.curl()
    assert '"x-acme-key: $ACME_API_KEY"' in line and "acme-key-5678" not in line
    assert "-H 'acme-version: 7'" in line


def test_a_builder_gets_its_familys_model_and_its_requests_are_tagged(acme: None) -> None:
    """The plan tells a builder's family by its package: no builder names its family."""
    import tests.unit.acme_family.checks.widgets  # noqa: F401  (declares acme_widget)

    assert PLAN["acme_widget"].family == "acme"
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return respond_json(200, {"ok": True})

    config = build_config(base_url="http://gw.test/v1", model=["acme=acme-9"],
                          api_key=["acme=acme-key-5678"])
    recorder = Recorder(config, lambda exchange: None, time.monotonic() + 60,
                        httpx.MockTransport(answer))
    recorder.record(["acme_widget"])
    assert [r.headers.get("x-acme-key") for r in seen] == ["acme-key-5678"]
    assert b'"model": "acme-9"' in seen[0].content
    assert recorder.recordings.value("acme_widget").family == "acme"
    PLAN.pop("acme_widget")  # declared for this test only


KEY = "gw-key-1234"
ACME_CLIENT = {"acme-version": "7", "x-acme-key": KEY}


def test_the_gateway_hands_a_shared_path_to_the_family_that_claims_it(acme: None) -> None:
    """`GET /v1/models` is OpenAI's and Acme's: Acme's header claims it, and Acme's key rule and
    envelope then apply; a path one family serves is that family's, claimed or not."""
    with TestClient(create_app(api_key=KEY)) as client:
        assert client.get("/v1/models", headers=ACME_CLIENT).json() == {"acme_models": ["acme-1"]}
        assert client.get("/v1/models", headers={"Authorization": f"Bearer {KEY}"}).json()[
            "object"] == "list"  # unclaimed: the first family registered
        denied = client.get("/v1/models", headers={"acme-version": "7",
                                                   "Authorization": f"Bearer {KEY}"})
        assert (denied.status_code, denied.json()) == (401, {"acme_error": "bad x-acme-key"})
        # OpenAI's "auth not enforced" fault lifts OpenAI's rule only.
        lifted = client.get("/fault/auth-not-enforced/v1/models", headers={"acme-version": "7"})
        assert lifted.status_code == 401
        assert client.post("/v1/widgets", headers={"x-acme-key": KEY}, json={"size": 3}).json() \
            == {"widget": 3}
        wrong_method = client.get("/v1/widgets", headers={"x-acme-key": KEY})
        assert (wrong_method.status_code, set(wrong_method.json())) == (405, {"acme_error"})
        unknown = client.get("/v1/nowhere", headers=ACME_CLIENT)
        assert (unknown.status_code, set(unknown.json())) == (404, {"acme_error"})


def test_the_first_family_registered_takes_what_no_family_claims(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conformance.apis, "FAMILIES", (ACME, openai.FAMILY))
    registry.families.cache_clear()
    try:
        with TestClient(create_app()) as client:
            assert client.get("/v1/models").json() == {"acme_models": ["acme-1"]}
    finally:
        monkeypatch.undo()
        registry.families.cache_clear()


def test_a_family_under_another_prefix_replaces_the_base_urls_v1() -> None:
    """The base URL ends in /v1 (the openai SDK's convention); a family under /v1beta (Gemini)
    is sent beside it, and a request may name another prefix (the same API under /v1)."""
    assert registry.target_url("http://gw.test/v1", "/v1", "/chat/completions") == \
        "http://gw.test/v1/chat/completions"
    assert registry.target_url("http://gw.test/api/v1/", "/v1beta", "models/m:generateContent") == \
        "http://gw.test/api/v1beta/models/m:generateContent"
    # A base URL without /v1 is that /v1: a family under /v1 keeps it as it is.
    assert registry.target_url("http://gw.test/openai", "/v1", "/models") == "http://gw.test/openai/models"
