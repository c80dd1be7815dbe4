"""Chat Completions: error statuses and the OpenAI error envelope."""

from __future__ import annotations

import pytest

from conformance import refusals, schemas
from conformance.check import Level, Problems, check, observe, require_observed
from conformance.checks.chat import DOC, OP, PATH, chat_body
from conformance.http import Client, Exchange
from conformance.preconditions import require_response

ENVELOPE = schemas.pointer(DOC, "ErrorResponse")
SOURCE = "OpenAI API reference, error codes guide; openai-python maps status to exception class"
WRONG_KEY = "sk-conformance-wrong-key-000000000000"


@pytest.fixture(scope="session")
def bad_requests(client: Client, model: str) -> dict[str, Exchange]:
    """Requests every gateway must refuse with a 400 (each names what is wrong)."""
    no_messages = chat_body(model)
    del no_messages["messages"]
    no_model = chat_body(model)
    del no_model["model"]
    return {
        "missing messages": client.post(PATH, no_messages),
        "missing model": client.post(PATH, no_model),
        "invalid JSON": client.post(PATH, '{"model": "' + model + '", "messages": ['),
        "messages not an array": client.post(PATH, chat_body(model, messages="hello")),
        "message content a number": client.post(PATH, chat_body(
            model, messages=[{"role": "user", "content": 42}])),
        "max_completion_tokens not an integer": client.post(PATH, chat_body(
            model, max_completion_tokens="many")),
        "temperature out of range": client.post(PATH, chat_body(model, temperature=5)),
    }


@check("chat.errors.envelope", level=Level.MUST, operation=OP, spec=ENVELOPE, source=SOURCE,
       observes="error responses (a non-200 answer to invalid input)")
def test_envelope(bad_requests: dict[str, Exchange]) -> None:
    """Error responses MUST carry the OpenAI envelope `{"error": {"message", "type", "param", "code"}}`."""
    replied, _ = refusals.answered(bad_requests)
    require_observed(sum(1 for e in replied.values() if e.status != 200), "error responses",
                     "every invalid request got a 200, so no error body was sent to judge "
                     "(judged by chat.errors.bad-request-status)")
    refusals.judge_envelopes(bad_requests, DOC)


@check("chat.errors.bad-request-status", level=Level.MUST, operation=OP, spec=ENVELOPE,
       source=SOURCE, observes="the answers to invalid requests")
def test_bad_request_status(bad_requests: dict[str, Exchange]) -> None:
    """Invalid input MUST get HTTP 400: never a 2xx, never a 5xx, never a dropped connection (another 4xx is a SHOULD deviation)."""
    observe("answers to invalid requests", len(bad_requests))
    refusals.judge_bad_request_statuses(bad_requests)


@check("chat.errors.not-200", level=Level.MUST, operation=OP, spec=ENVELOPE,
       observes="the answers to invalid requests",
       source=SOURCE + "; openai-python raises only on a non-2xx status")
def test_not_200(bad_requests: dict[str, Exchange]) -> None:
    """An error body (`{"error": ...}`) MUST NOT be sent with HTTP 200: SDKs treat a 200 as a completion and fail on its missing fields instead of raising the error."""
    replied, _ = refusals.answered(bad_requests)
    observe("answers to invalid requests", len(replied))
    problems = Problems()
    for name, exchange in replied.items():
        body = exchange.json_or_none()
        problems.expect(not (exchange.status == 200 and isinstance(body, dict) and "error" in body),
                        f"{name}: HTTP 200 with an error body {exchange.body[:160]}")
    problems.raise_if_any("errors are sent with HTTP 200", expected="a 4xx status")


@check("chat.errors.auth", level=Level.MUST, feature="auth", operation=OP,
       observes="the answers to a wrong and to a missing API key",
       spec="openapi/chat.yaml#/components/responses/Unauthorized", source=SOURCE)
def test_auth(client: Client, model: str) -> None:
    """A missing or wrong API key MUST get HTTP 401 with the error envelope."""
    if not client.config.api_key:
        pytest.skip("no API key configured, so the target cannot be judged on refusing a wrong one")
    problems = Problems()
    for name, auth in (("wrong key", WRONG_KEY), ("no key", False)):
        exchange = client.post(PATH, chat_body(model, max_completion_tokens=1), auth=auth)
        require_response(exchange)
        observe("answers without a valid key")
        problems.expect(exchange.status == 401, f"{name}: HTTP {exchange.status}, expected 401")
        if exchange.status == 401:
            problems.items += [f"{name}: {e}" for e in refusals.envelope_problems(exchange.json_or_none(), DOC)]
    problems.raise_if_any("authentication is not enforced as OpenAI does", expected=401)


@check("chat.errors.unknown-model", level=Level.MUST, operation=OP,
       observes="the answer to a model the gateway does not serve",
       spec="openapi/chat.yaml#/components/responses/NotFound", source=SOURCE)
def test_unknown_model(client: Client, model: str) -> None:
    """A model the gateway does not serve MUST get HTTP 404 (400 with code `model_not_found` is tolerated as a SHOULD deviation)."""
    exchange = client.post(PATH, chat_body(refusals.UNKNOWN_MODEL, max_completion_tokens=1))
    require_response(exchange)
    observe("an answer for an unknown model")
    refusals.judge_unknown_model(exchange, DOC)
