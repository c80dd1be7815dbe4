"""Refusals: a feature's verdict comes from the running check's metadata, never an argument."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from conformance import check as check_model
from conformance.check import Check, CheckFailed, HarnessError, Level, NotSupported
from conformance.http import Exchange
from conformance.preconditions import EndpointAbsent, require_endpoint, require_success

ENVELOPE = {"error": {"message": "n is not supported", "type": "invalid_request_error",
                      "param": "n", "code": None}}


def meta(feature: str) -> Check:
    return Check("chat.limits.example", Level.MUST, feature, "two choices", "createChatCompletion",
                 "openapi/chat.yaml#/components/schemas/CreateChatCompletionResponse", "unit",
                 "Example MUST hold.")


def answer(status: int, body: object) -> Exchange:
    text = body if isinstance(body, str) else json.dumps(body)
    return Exchange("x-1", "POST", "http://gateway.test/v1/chat/completions", [], "{}",
                    status=status, response_headers=[("content-type", "application/json")],
                    body=text)


@pytest.fixture
def running() -> Iterator[None]:
    yield
    check_model.finish()


def test_a_clean_refusal_of_an_optional_feature_is_not_supported(running) -> None:
    check_model.begin(meta("n"))
    with pytest.raises(NotSupported):
        require_success(answer(400, ENVELOPE))


def test_a_refusal_without_the_envelope_is_a_failure_even_when_optional(running) -> None:
    check_model.begin(meta("n"))
    with pytest.raises(CheckFailed, match="not the error envelope"):
        require_success(answer(400, {"detail": "n is not supported"}))


@pytest.mark.parametrize("feature", ["core", "streaming", "usage"])
def test_a_refused_core_feature_is_a_failure(running, feature: str) -> None:
    check_model.begin(meta(feature))
    with pytest.raises(CheckFailed, match="core feature"):
        require_success(answer(400, ENVELOPE))


def test_a_rejected_key_is_a_harness_error_with_its_cause(running) -> None:
    check_model.begin(meta("n"))
    with pytest.raises(HarnessError) as raised:
        require_success(answer(401, ENVELOPE))
    assert raised.value.cause == "auth"


def test_an_absent_endpoint_fails_only_when_claimed() -> None:
    missing = answer(404, {"error": {"message": "Not Found", "type": "not_found"}})
    with pytest.raises(EndpointAbsent):
        require_endpoint(missing, "POST /v1/chat/completions", claimed=False)
    with pytest.raises(CheckFailed):
        require_endpoint(missing, "POST /v1/chat/completions", claimed=True)


def test_a_404_about_the_model_is_one_harness_error_not_an_absent_endpoint() -> None:
    unknown = answer(404, {"error": {"message": "The model `x` does not exist",
                                     "type": "invalid_request_error", "code": "model_not_found"}})
    with pytest.raises(HarnessError) as raised:
        require_endpoint(unknown, "POST /v1/chat/completions", claimed=False)
    assert raised.value.cause == "model"


def test_a_404_on_the_model_list_is_an_absent_endpoint() -> None:
    missing = answer(404, {"error": {"message": "Unknown route /v1/models", "type": "not_found"}})
    missing.method = "GET"
    with pytest.raises(EndpointAbsent):
        require_endpoint(missing, "GET /v1/models", claimed=False)
