"""Gemini errors: the Google envelope `{"error": {"code", "message", "status"}}` with the status
string of each HTTP status, the answers to a wrong or missing key and to an unknown model, and
failures that must never pass for a 200.

google-genai picks `ClientError`/`ServerError` from the HTTP status and reads `code`, `status`
and `message` from the body; an OpenAI-shaped body still "parses" with `status` None, so these
checks judge the raw body (reference errors.md).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from conformance import plan, refusals, schemas
from conformance.apis.gemini import FAMILY
from conformance.apis.gemini.checks import (
    DOC,
    OP,
    generate,
    generate_body,
    generate_path,
    path_spec,
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

SOURCE = "Gemini API reference, errors (google.rpc.Status: code, message, status); reference " \
         "errors.md; google-genai errors.py"
PATH = "/models/{model}:generateContent"
RESPONSES = f"{path_spec(PATH)}/post/responses"
WRONG_KEY = "AIzaConformanceWrongKey000000000000000"
# What a refused key may get: the real API's 400 (reason API_KEY_INVALID), or a gateway's own
# 401/403 (errors.md: either, in the Google envelope).
KEY_STATUSES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED"}
WRONG = "wrong key"
NO_KEY = "no key"
UNKNOWN = "unknown model"


def unknown_model_request(model: str) -> Request:
    return post(generate_path(refusals.UNKNOWN_MODEL), generate_body(model))


@plan.exchange
def gemini_unknown_model(model: str) -> Request:
    """The plain request for a model no gateway serves."""
    return unknown_model_request(model)


@plan.exchange
def gemini_bad_keys(model: str, config: Config) -> dict[str, Request] | None:
    """The plain request with a wrong key and with none (None: the run has no key, so a
    refusal cannot be told from the gateway's own)."""
    if not config.key_for(FAMILY.name):
        return None
    plain = generate(model)
    return {WRONG: replace(plain, auth=WRONG_KEY), NO_KEY: replace(plain, auth=False)}


@plan.exchange
def gemini_bad_requests(model: str) -> dict[str, Request]:
    """Requests the API refuses with 400 INVALID_ARGUMENT (errors.md), and the unknown model."""
    return {
        "invalid JSON": post(generate_path(model), '{"contents": ['),
        "empty contents": post(generate_path(model), {"contents": []}),
        "temperature 5": generate(model, config={"temperature": 5}),
        UNKNOWN: unknown_model_request(model),
    }


def refused(*batches: dict[str, Exchange] | None) -> dict[str, Exchange]:
    """Every exchange of the batches that got an HTTP answer (a batch that could not be sent
    at all ends the check in error)."""
    found: dict[str, Exchange] = {}
    for batch in batches:
        if batch:
            found.update(refusals.answered(batch)[0])
    return found


def status_schema(status: int) -> str:
    """The body schema the document gives `status` on generateContent."""
    return refusals.status_schema(DOC, PATH, status)


def envelope_problem(exchange: Exchange) -> str | None:
    """Why an error answer is not the Google envelope of its status (None: it is)."""
    body = exchange.json_or_none()
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and "status" not in error and ("type" in error or "param" in error):
        return (f"an OpenAI-shaped error (no `status`; google-genai reads status None): "
                f"{exchange.body[:200]!r}")
    schema = status_schema(exchange.status or 0)
    found = schemas.errors(DOC, schema, body, limit=2)
    if isinstance(error, dict) and error.get("code") != exchange.status:
        found.append(f"error.code is {error.get('code')!r}, not the HTTP status "
                     f"{exchange.status}")
    if not found:
        return None
    return f"not {schema}: {'; '.join(found)}: {exchange.body[:200]!r}"


def error_status(exchange: Exchange) -> Any:
    body = exchange.json_or_none()
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("status") if isinstance(error, dict) else None


@check("gemini.errors.envelope", level=Level.MUST, operation=OP, spec=RESPONSES,
       source=SOURCE + "; gateway-deviations.md (OpenAI-shaped errors on the Gemini surface)",
       observes="the error answers to the requests the run expects refused",
       fix='Answer every Gemini failure as `{"error": {"code": <HTTP status>, "message": ..., '
           '"status": "<google.rpc code>"}}` (400 INVALID_ARGUMENT, 403 PERMISSION_DENIED, 404 '
           'NOT_FOUND, 429 RESOURCE_EXHAUSTED, 500 INTERNAL, …), never the OpenAI envelope.')
def test_envelope(gemini_bad_requests: dict[str, Exchange],
                  gemini_bad_keys: dict[str, Exchange] | None) -> None:
    """Every error answer MUST be `{"error": {"code", "message", "status"}}` with `code` the HTTP status and `status` the documented string of that status, never an OpenAI-shaped error."""
    errors = {name: e for name, e in refused(gemini_bad_requests, gemini_bad_keys).items()
              if (e.status or 0) >= 400}
    require_observed(len(errors), "error answers", "every request the run expects refused "
                     "got a 2xx, so no error body was sent to judge (judged by the other "
                     "gemini.errors.* checks)")
    record(statuses={name: e.status for name, e in errors.items()})
    problems = Problems()
    for name, exchange in errors.items():
        if problem := envelope_problem(exchange):
            problems.add(f"{name} (HTTP {exchange.status}): {problem}", shows=exchange)
    problems.raise_if_any("error bodies are not the Google error envelope of their status",
                          expected={"error": {"code": "<HTTP status>", "message": "...",
                                              "status": "<documented status string>"}})


@check("gemini.errors.invalid-key", level=Level.MUST, feature="auth", operation=OP,
       spec=f"{RESPONSES}/400", source=SOURCE + " (an invalid API key: 400 INVALID_ARGUMENT, "
       "reason API_KEY_INVALID; a gateway's own auth: 401/403)",
       observes="the answers to a wrong key and to no key",
       fix="Look the client's key up before relaying anything and fail closed: an unknown key "
           "gets the Google envelope with the status the API uses (400 `INVALID_ARGUMENT`, "
           "reason `API_KEY_INVALID`) or your own 401/403, never your upstream key's answer.")
def test_invalid_key(gemini_bad_keys: dict[str, Exchange] | None) -> None:
    """A wrong or missing key MUST be refused with 400 `INVALID_ARGUMENT` (the API's answer to an invalid key) or 401 `UNAUTHENTICATED` / 403 `PERMISSION_DENIED`, never answered and never a 5xx."""
    if gemini_bad_keys is None:
        pytest.skip("no API key configured, so a wrong key cannot be told from the right one")
    answers = refused(gemini_bad_keys)
    observe("answers to a wrong or missing key", len(answers))
    record(answers={name: [e.status, error_status(e)] for name, e in answers.items()})
    problems = Problems()
    for name, exchange in answers.items():
        expected = KEY_STATUSES.get(exchange.status or 0)
        problems.expect(expected is not None and error_status(exchange) == expected,
                        f"{name}: HTTP {exchange.status} with status "
                        f"{error_status(exchange)!r}: {exchange.body[:200]!r}", shows=exchange)
    problems.raise_if_any("a wrong or missing key was not refused as the API refuses it",
                          expected={str(code): status for code, status in KEY_STATUSES.items()})


@check("gemini.errors.unknown-model", level=Level.MUST, operation=OP, spec=f"{RESPONSES}/404",
       source=SOURCE + " (unknown model: 404 NOT_FOUND)",
       observes="the answer to a model the gateway does not serve",
       fix="Answer a model you do not route with HTTP 404 and `status: \"NOT_FOUND\"`, instead "
           "of a fallback to a default model, a 400 or a 503.")
def test_unknown_model(gemini_unknown_model: Exchange) -> None:
    """A model the gateway does not serve MUST get HTTP 404 `NOT_FOUND` in the Google envelope (400 `INVALID_ARGUMENT`, common among gateways, is tolerated as a SHOULD deviation)."""
    exchange = gemini_unknown_model
    record(model_sent=refusals.UNKNOWN_MODEL, why=refusals.UNKNOWN_MODEL_WHY)
    require_response(exchange)
    observe("an answer for an unknown model")
    body = exchange.json_or_none()
    answered_by = body.get("modelVersion") if isinstance(body, dict) else None
    expect(exchange.status in (400, 404), f"unknown model {refusals.UNKNOWN_MODEL!r} got HTTP "
           f"{exchange.status}" + (f", answered by {answered_by!r}" if answered_by else ""),
           expected=404, actual={"status": exchange.status, "body": exchange.body[:300]})
    problem = envelope_problem(exchange)
    expect(problem is None, f"the {exchange.status} is not the error envelope of its status",
           expected=schemas.pointer(DOC, status_schema(exchange.status or 0)), actual=problem)
    if exchange.status == 400:
        warn("unknown model got 400 INVALID_ARGUMENT; the API answers 404 NOT_FOUND",
             expected=404, actual={"status": 400, "body": exchange.body[:300]})


@check("gemini.errors.no-empty-200", level=Level.MUST, operation=OP,
       spec=f"{RESPONSES}/200", source=SOURCE + "; gateway-deviations.md row 9 "
       "(gemini-balance#347)",
       observes="the answers to the plain request and to the requests the run expects refused",
       fix="When the upstream fails or the request is refused, answer with the error status "
           "and the Google envelope; never a 200 with an empty body or a body cut short.")
def test_no_empty_200(gemini_generate: Exchange, gemini_bad_requests: dict[str, Exchange],
                      gemini_bad_keys: dict[str, Exchange] | None) -> None:
    """A failure MUST NOT arrive as an HTTP 200 whose body is empty, not JSON (cut short) or not a `GenerateContentResponse` (no candidates, no promptFeedback)."""
    answers = refused({"plain request": gemini_generate}, gemini_bad_requests, gemini_bad_keys)
    observe("answers", len(answers))
    problems = Problems()
    for name, exchange in answers.items():
        if exchange.status == 200 and (problem := _hollow(exchange)):
            problems.add(f"{name}: HTTP 200 with {problem}", shows=exchange)
    problems.raise_if_any("failures were answered as a 200 without an answer in it",
                          expected="an error status with the Google error envelope")


def _hollow(exchange: Exchange) -> str | None:
    """Why a 200's body is no answer (None: it is one; whether it is valid is the schema's)."""
    if not exchange.body.strip():
        return "an empty body"
    body = exchange.json_or_none()
    if body is None:
        return f"a body that is not JSON (cut short?): {exchange.body[:120]!r}"
    if not isinstance(body, dict) or not ({"candidates", "promptFeedback"} & set(body)):
        return f"a body without candidates or promptFeedback: {exchange.body[:120]!r}"
    return None
