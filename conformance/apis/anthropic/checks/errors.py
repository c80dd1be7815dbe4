"""Messages: error statuses, the Anthropic error envelope with the status -> `error.type` table,
the `request-id` header, and the unknown model.

Every refusal the run provokes on `POST /v1/messages` (invalid bodies, a missing header or key,
an unknown model) is judged for its envelope; the requests are the request checks' own
(`request.py`), so each is sent once.
"""

from __future__ import annotations

from conformance import plan, refusals, schemas
from conformance.apis.anthropic import FAMILY
from conformance.apis.anthropic.checks import DOC, OP, PATH, spec
from conformance.apis.anthropic.checks.request import (
    key_requests,
    small_body,
    without_max_tokens,
    without_version,
)
from conformance.check import (
    Level,
    Problems,
    check,
    expect,
    observe,
    record,
    require_observed,
    warn,
)
from conformance.config import Config
from conformance.http import Exchange, Request, post
from conformance.preconditions import require_response

SOURCE = "Anthropic docs, errors (HTTP errors, error shapes); anthropic-python maps the status " \
         "to its exception class"
RESPONSES = f"openapi/{DOC}#/paths/~1messages/post/responses"
REQUEST_ID = "request-id"
OPENAI_SHAPE = {"error": {"message": "...", "type": "...", "param": "...", "code": "..."}}


@plan.exchange
def message_bad_requests(model: str) -> dict[str, Request]:
    """Bodies the API refuses with a 400 (each names what is wrong)."""
    return {
        "invalid JSON": post(PATH, '{"model": "' + model + '", "messages": ['),
        "empty messages": post(PATH, small_body(model, messages=[])),
        "temperature out of range": post(PATH, small_body(model, temperature=5)),
        "role tool": post(PATH, small_body(model, messages=[{"role": "tool",
                                                             "content": "hello"}])),
    }


@plan.exchange
def message_refusals(model: str, config: Config) -> dict[str, Request]:
    """Every other request the run expects refused: no max_tokens, no anthropic-version, an
    unknown model, and (with a key) a wrong and no key."""
    key = config.key_for(FAMILY.name)
    keyless = {k: v for k, v in key_requests(model, key).items() if k != "Authorization: Bearer"} \
        if key else {}
    return {"missing max_tokens": without_max_tokens(model),
            "missing anthropic-version": without_version(model),
            "unknown model": unknown_model_request(), **keyless}


def unknown_model_request() -> Request:
    return post(PATH, small_body(refusals.UNKNOWN_MODEL))


@plan.exchange
def message_unknown_model() -> Request:
    return unknown_model_request()


def status_schema(status: int) -> str:
    """The body schema the document gives `status` on createMessage."""
    return refusals.status_schema(DOC, PATH, status)


def envelope_problem(exchange: Exchange) -> str | None:
    """Why an error answer is not the Anthropic envelope of its status (None: it is)."""
    body = exchange.json_or_none()
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and body.get("type") != "error" and (
            "param" in error or "code" in error):
        return (f"an OpenAI-shaped error (no `type: \"error\"`; Anthropic clients cannot read "
                f"it): {exchange.body[:200]!r}")
    schema = status_schema(exchange.status or 0)
    found = schemas.errors(DOC, schema, body, limit=2)
    if not found:
        return None
    return f"not {schema}: {'; '.join(found)}: {exchange.body[:200]!r}"


def _errors(*batches: dict[str, Exchange]) -> dict[str, Exchange]:
    """The answered non-2xx exchanges of the batches (a 2xx is the status checks' to judge)."""
    found: dict[str, Exchange] = {}
    for batch in batches:
        replied, _ = refusals.answered(batch)
        found.update({n: e for n, e in replied.items() if (e.status or 0) >= 400})
    return found


@check("messages.errors.envelope", level=Level.MUST, operation=OP, spec=RESPONSES,
       observes="error responses (non-2xx answers to the requests the run expects refused)",
       source=SOURCE,
       fix='Wrap every Messages error as `{"type": "error", "error": {"type", "message"}}` and '
           'choose `error.type` from the HTTP status (404 → `not_found_error`, 529 → '
           '`overloaded_error`); do not reuse the OpenAI body with `code` and `param`.')
def test_envelope(message_bad_requests: dict[str, Exchange],
                  message_refusals: dict[str, Exchange]) -> None:
    """Every error response MUST be `{"type": "error", "error": {"type", "message"}}` with the `error.type` its status documents (400 invalid_request_error, 401 authentication_error, 403 permission_error, 404 not_found_error, 413 request_too_large, 429 rate_limit_error, 500 api_error, 529 overloaded_error), never the OpenAI envelope."""
    errors = _errors(message_bad_requests, message_refusals)
    require_observed(len(errors), "error responses",
                     "every request the run expects refused got a 2xx, so no error body was "
                     "sent to judge (judged by the status checks)")
    record(statuses={n: e.status for n, e in errors.items()})
    problems = Problems()
    for name, exchange in errors.items():
        if problem := envelope_problem(exchange):
            problems.add(f"{name} (HTTP {exchange.status}): {problem}")
    problems.raise_if_any("error bodies are not the Anthropic error envelope of their status",
                          expected={"type": "error", "error": {"type": "<by status>",
                                                               "message": "..."}})


@check("messages.errors.bad-request-status", level=Level.MUST, operation=OP,
       spec=f"{RESPONSES}/400", source=SOURCE, observes="the answers to invalid requests",
       fix="Validate the request before forwarding it and answer a malformed body with HTTP 400 "
           "and an `invalid_request_error` envelope, so it never reaches the upstream or crashes "
           "the handler into a 5xx.")
def test_bad_request_status(message_bad_requests: dict[str, Exchange]) -> None:
    """Invalid input MUST get a 4xx: never a 2xx, never a 5xx, never a dropped connection (another 4xx than 400 is a SHOULD deviation)."""
    observe("answers to invalid requests", len(message_bad_requests))
    refusals.judge_bad_request_statuses(message_bad_requests)


@check("messages.errors.request-id", level=Level.SHOULD, operation=OP,
       spec=f"openapi/{DOC}#/components/headers/RequestId",
       source="Anthropic docs, errors (request id); anthropic-python exposes it as _request_id",
       observes="the headers of answers, errors included",
       fix="Set a `request-id` response header on every Messages answer, errors included: pass the "
           "upstream's through, or generate a unique one.")
def test_request_id(message: Exchange, message_bad_requests: dict[str, Exchange],
                    message_refusals: dict[str, Exchange]) -> None:
    """Every answer, errors included, SHOULD carry a `request-id` header (the API sends one on each, and support asks for it)."""
    answers = {"plain request": message, **_errors(message_bad_requests, message_refusals)}
    require_response(message)
    observe("answers", len(answers))
    missing = [f"{name} (HTTP {e.status})" for name, e in answers.items()
               if not (e.header(REQUEST_ID) or "").strip()]
    if missing:
        warn(f"{len(missing)} answer(s) without a request-id header",
             expected=f"a non-empty {REQUEST_ID} header", actual=missing)


@check("messages.errors.unknown-model", level=Level.MUST, operation=OP,
       observes="the answer to a model the gateway does not serve",
       spec=f"{RESPONSES}/404", source=SOURCE,
       fix='Answer a `model` you do not route with HTTP 404 and `error.type: "not_found_error"`, '
           'instead of a 400 or a fallback to a default model.')
def test_unknown_model(message_unknown_model: Exchange) -> None:
    """A model the gateway does not serve MUST get HTTP 404 `not_found_error` (400 `invalid_request_error`, common among gateways, is tolerated as a SHOULD deviation)."""
    exchange = message_unknown_model
    record(model_sent=refusals.UNKNOWN_MODEL, why=refusals.UNKNOWN_MODEL_WHY)
    require_response(exchange)
    observe("an answer for an unknown model")
    body = exchange.json_or_none()
    answered_by = body.get("model") if isinstance(body, dict) and exchange.status == 200 else None
    expect(exchange.status in (400, 404), f"unknown model {refusals.UNKNOWN_MODEL!r} got HTTP "
           f"{exchange.status}" + (f", answered by model {answered_by!r}" if answered_by else ""),
           expected=404, actual={"status": exchange.status, "body": exchange.body[:300]})
    problem = envelope_problem(exchange)
    expect(problem is None, f"the {exchange.status} is not the error envelope of its status",
           expected=spec(status_schema(exchange.status or 0)), actual=problem)
    if exchange.status == 400:
        warn("unknown model got 400 invalid_request_error; the API answers 404 not_found_error",
             expected=404, actual={"status": 400, "body": exchange.body[:300]})

