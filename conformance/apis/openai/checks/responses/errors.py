"""Responses: error statuses and the OpenAI error envelope, as on Chat Completions."""

from __future__ import annotations

from conformance import plan, refusals, schemas
from conformance.apis.openai.checks.responses import DOC, OP_CREATE, PATH, responses_body
from conformance.check import Level, check, expect, observe, record, require_observed
from conformance.http import Exchange, Request, post
from conformance.preconditions import require_response

ENVELOPE = schemas.pointer(DOC, "ErrorResponse")
SOURCE = ("OpenAI API reference, error codes guide; openai-python maps status to exception "
          "class")
UNKNOWN_RESPONSE = "resp_conformance0000000000000000unknown"


@plan.exchange
def responses_bad_requests(model: str) -> dict[str, Request]:
    """Requests every gateway must refuse with a 400 (each names what is wrong)."""
    no_model = responses_body(model)
    del no_model["model"]
    return {
        "missing model": post(PATH, no_model),
        "invalid JSON": post(PATH, '{"model": "' + model + '", "input": '),
        "input not a string or array": post(PATH, responses_body(model, input=42)),
        "max_output_tokens not an integer": post(
            PATH, responses_body(model, max_output_tokens="many")),
    }


@check("responses.errors.envelope", level=Level.MUST, observes="error answers to invalid requests",
       operation=OP_CREATE, spec=ENVELOPE, source=SOURCE,
       fix='Return every Responses error as `{"error": {"message", "type", "param", "code"}}` '
           '(null `param` and `code` when unknown), translating upstream error bodies into it.')
def test_envelope(responses_bad_requests: dict[str, Exchange]) -> None:
    """Error responses MUST carry the OpenAI envelope `{"error": {"message", "type", "param", "code"}}`."""
    refusals.judge_envelopes(responses_bad_requests, DOC)
    # A 200 for bad input has no envelope to judge: responses.errors.bad-request-status fails it.
    require_observed(sum(1 for e in responses_bad_requests.values() if e.ok and e.status != 200),
                     "error answers", "no invalid request was refused, so there is no error "
                     "body to judge (see responses.errors.bad-request-status)")


@check("responses.errors.bad-request-status", level=Level.MUST,
       observes="answers to invalid requests", operation=OP_CREATE, spec=ENVELOPE, source=SOURCE,
       fix="Validate Responses requests and answer invalid input with HTTP 400 and the error "
           "envelope; map the upstream's validation errors to 400, not 500.")
def test_bad_request_status(responses_bad_requests: dict[str, Exchange]) -> None:
    """Invalid input MUST get HTTP 400: never a 2xx, never a 5xx, never a dropped connection (another 4xx is a SHOULD deviation)."""
    observe("invalid requests", len(responses_bad_requests))
    refusals.judge_bad_request_statuses(responses_bad_requests)


@plan.exchange
def responses_stream_bad_requests(model: str) -> dict[str, Request]:
    """Invalid requests sent with `stream: true` (each names what is wrong)."""
    return {
        "input not a string or array": post(PATH, responses_body(model, stream=True, input=42)),
        "max_output_tokens not an integer": post(
            PATH, responses_body(model, stream=True, max_output_tokens="many")),
    }


@check("responses.errors.stream-validation", level=Level.MUST, feature="streaming",
       observes="answers to invalid requests sent with stream: true", operation=OP_CREATE,
       spec=ENVELOPE, source=SOURCE + "; openai-python raises the status error before it "
       "reads a stream, and the real API validates a streamed request before streaming",
       fix="Validate a `stream: true` request before starting the event stream, and refuse invalid "
           "input with a 4xx JSON error envelope instead of an `error` event in a 200 stream.")
def test_stream_validation(responses_stream_bad_requests: dict[str, Exchange]) -> None:
    """Invalid input sent with `stream: true` MUST be refused with a 4xx and the error envelope before any stream starts, never with a 200 event stream whose `error` event carries it."""
    replied, _ = refusals.answered(responses_stream_bad_requests)
    observe("invalid streamed requests", len(replied))
    refusals.judge_streamed_refusals(responses_stream_bad_requests, DOC)


@plan.exchange
def responses_unknown_model() -> Request:
    return post(PATH, responses_body(refusals.UNKNOWN_MODEL))


@plan.exchange
def unknown_previous_response(model: str) -> Request:
    return post(PATH, responses_body(model, previous_response_id=UNKNOWN_RESPONSE))


@check("responses.errors.unknown-model", level=Level.MUST,
       observes="the answer to a request for an unknown model", operation=OP_CREATE, spec="openapi/responses.yaml#/components/responses/NotFound", source=SOURCE,
       fix='Answer a `model` you do not serve with HTTP 404 and the error envelope (`code: '
           '"model_not_found"`) instead of routing it to a default model.')
def test_unknown_model(responses_unknown_model: Exchange) -> None:
    """A model the gateway does not serve MUST get HTTP 404 with the error envelope, not an answer from another model (400 with code `model_not_found` is tolerated as a SHOULD deviation)."""
    exchange = responses_unknown_model
    record(model_sent=refusals.UNKNOWN_MODEL, why=refusals.UNKNOWN_MODEL_WHY)
    require_response(exchange)
    observe("answers to an unknown model")
    refusals.judge_unknown_model(exchange, DOC)


@check("responses.errors.unknown-previous-response", level=Level.MUST,
       observes="the answer to an unknown previous_response_id", operation=OP_CREATE, spec="openapi/responses.yaml#/components/schemas/CreateResponseRequest/properties/"
       "previous_response_id", source=SOURCE + "; conversation state guide",
       fix="Look `previous_response_id` up before calling the model, and answer an unknown id with "
           "HTTP 404 and the error envelope naming `previous_response_id`, instead of dropping it.")
def test_unknown_previous_response(unknown_previous_response: Exchange) -> None:
    """A `previous_response_id` that names no stored response MUST be refused with 404 (or 400) and the error envelope, never answered as if it started a new conversation."""
    exchange = unknown_previous_response
    require_response(exchange)
    observe("answers to an unknown previous_response_id")
    expect(exchange.status in (400, 404),
           f"previous_response_id {UNKNOWN_RESPONSE!r} names no response, yet the gateway "
           f"answered HTTP {exchange.status}"
           + (" with a fresh answer, silently dropping the conversation"
              if exchange.status == 200 else ""),
           expected="404 (or 400) with the error envelope",
           actual={"status": exchange.status, "body": exchange.body[:300]})
    problems = refusals.envelope_problems(exchange.json_or_none(), DOC)
    expect(not problems, f"the {exchange.status} does not carry the error envelope",
           expected=refusals.envelope_shape(DOC), actual=problems)
