"""Chat Completions: error statuses and the OpenAI error envelope."""

from __future__ import annotations

import pytest

from conformance import plan, refusals, schemas
from conformance.apis.openai import FAMILY
from conformance.apis.openai.checks.chat import DOC, OP, PATH, chat_body
from conformance.check import Level, Problems, check, observe, record, require_observed
from conformance.config import Config
from conformance.http import Exchange, Request, post
from conformance.preconditions import require_response

ENVELOPE = schemas.pointer(DOC, "ErrorResponse")
SOURCE = "OpenAI API reference, error codes guide; openai-python maps status to exception class"
WRONG_KEY = "sk-conformance-wrong-key-000000000000"


@plan.exchange
def bad_requests(model: str) -> dict[str, Request]:
    """Requests every gateway must refuse with a 400 (each names what is wrong)."""
    no_messages = chat_body(model)
    del no_messages["messages"]
    no_model = chat_body(model)
    del no_model["model"]
    return {
        "missing messages": post(PATH, no_messages),
        "missing model": post(PATH, no_model),
        "invalid JSON": post(PATH, '{"model": "' + model + '", "messages": ['),
        "messages not an array": post(PATH, chat_body(model, messages="hello")),
        "message content a number": post(PATH, chat_body(
            model, messages=[{"role": "user", "content": 42}])),
        "max_completion_tokens not an integer": post(PATH, chat_body(
            model, max_completion_tokens="many")),
        "temperature out of range": post(PATH, chat_body(model, temperature=5)),
    }


@check("chat.errors.envelope", level=Level.MUST, operation=OP, spec=ENVELOPE, source=SOURCE,
       observes="error responses (a non-200 answer to invalid input)",
       fix='Return every error body as `{"error": {"message": ..., "type": ..., "param": ..., '
           '"code": ...}}`, with null `param` and `code` when unknown, translating upstream error '
           'bodies into that shape.')
def test_envelope(bad_requests: dict[str, Exchange]) -> None:
    """Error responses MUST carry the OpenAI envelope `{"error": {"message", "type", "param", "code"}}`."""
    replied, _ = refusals.answered(bad_requests)
    require_observed(sum(1 for e in replied.values() if e.status != 200), "error responses",
                     "every invalid request got a 200, so no error body was sent to judge "
                     "(judged by chat.errors.bad-request-status)")
    refusals.judge_envelopes(bad_requests, DOC)


@check("chat.errors.bad-request-status", level=Level.MUST, operation=OP, spec=ENVELOPE,
       source=SOURCE, observes="the answers to invalid requests",
       fix="Validate requests (types, ranges, required fields) and answer invalid input with HTTP "
           "400 and the error envelope; map the upstream's validation errors to 400, not 500.")
def test_bad_request_status(bad_requests: dict[str, Exchange]) -> None:
    """Invalid input MUST get HTTP 400: never a 2xx, never a 5xx, never a dropped connection (another 4xx is a SHOULD deviation)."""
    observe("answers to invalid requests", len(bad_requests))
    refusals.judge_bad_request_statuses(bad_requests)


@check("chat.errors.not-200", level=Level.MUST, operation=OP, spec=ENVELOPE,
       observes="the answers to invalid requests",
       source=SOURCE + "; openai-python raises only on a non-2xx status",
       fix="Send an error body with the HTTP status of the error (the upstream's 4xx/5xx, or "
           "400/500 for your own), never with 200.")
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


@plan.exchange
def chat_stream_bad_requests(model: str) -> dict[str, Request]:
    """Invalid requests sent with `stream: true` (each names what is wrong)."""
    return {
        "temperature out of range": post(PATH, chat_body(model, stream=True, temperature=5)),
        "messages not an array": post(PATH, chat_body(model, stream=True, messages="hello")),
        "max_completion_tokens not an integer": post(PATH, chat_body(
            model, stream=True, max_completion_tokens="many")),
    }


@check("chat.errors.stream-validation", level=Level.MUST, feature="streaming", operation=OP,
       spec=ENVELOPE, observes="the answers to invalid requests sent with stream: true",
       source=SOURCE + "; openai-python raises the status error before it reads a stream, "
       "and the real API validates a streamed request before streaming",
       fix="Validate a `stream: true` request before writing the response headers, and refuse "
           "invalid input with a 4xx JSON error envelope instead of opening an event stream.")
def test_stream_validation(chat_stream_bad_requests: dict[str, Exchange]) -> None:
    """Invalid input sent with `stream: true` MUST be refused with a 4xx and the error envelope before any stream starts, never with a 200 event stream that carries the error."""
    replied, _ = refusals.answered(chat_stream_bad_requests)
    observe("answers to invalid streamed requests", len(replied))
    refusals.judge_streamed_refusals(chat_stream_bad_requests, DOC)


@plan.exchange
def chat_without_valid_key(model: str, config: Config) -> dict[str, Request] | None:
    """The smallest request with a wrong and with no key (None: the run has no key at all)."""
    if not config.key_for(FAMILY.name):
        return None
    body = chat_body(model, max_completion_tokens=1)
    return {"wrong key": post(PATH, body, auth=WRONG_KEY), "no key": post(PATH, body, auth=False)}


@plan.exchange
def chat_unknown_model() -> Request:
    return post(PATH, chat_body(refusals.UNKNOWN_MODEL, max_completion_tokens=1))


@check("chat.errors.auth", level=Level.MUST, feature="auth", operation=OP,
       observes="the answers to a wrong and to a missing API key",
       spec="openapi/chat.yaml#/components/responses/Unauthorized", source=SOURCE,
       fix='Check the `Authorization: Bearer` key before routing the request, and answer a missing '
           'or unknown key with HTTP 401 and `{"error": {"message", "type", "param", "code"}}`.')
def test_auth(chat_without_valid_key: dict[str, Exchange] | None) -> None:
    """A missing or wrong API key MUST get HTTP 401 with the error envelope."""
    if chat_without_valid_key is None:
        pytest.skip("no API key configured, so the target cannot be judged on refusing a wrong one")
    problems = Problems()
    for name, exchange in chat_without_valid_key.items():
        require_response(exchange)
        observe("answers without a valid key")
        problems.expect(exchange.status == 401, f"{name}: HTTP {exchange.status}, expected 401")
        if exchange.status == 401:
            problems.items += [f"{name}: {e}" for e in refusals.envelope_problems(exchange.json_or_none(), DOC)]
    problems.raise_if_any("authentication is not enforced as OpenAI does", expected=401)


@check("chat.errors.unknown-model", level=Level.MUST, operation=OP,
       observes="the answer to a model the gateway does not serve",
       spec="openapi/chat.yaml#/components/responses/NotFound", source=SOURCE,
       fix='Answer a `model` you do not serve with HTTP 404 and `code: "model_not_found"` in the '
           'error envelope, instead of a 400, a 500 or a fallback to a default model.')
def test_unknown_model(chat_unknown_model: Exchange) -> None:
    """A model the gateway does not serve MUST get HTTP 404 (400 with code `model_not_found` is tolerated as a SHOULD deviation)."""
    exchange = chat_unknown_model
    record(model_sent=refusals.UNKNOWN_MODEL, why=refusals.UNKNOWN_MODEL_WHY)
    require_response(exchange)
    observe("an answer for an unknown model")
    refusals.judge_unknown_model(exchange, DOC)
