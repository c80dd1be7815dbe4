"""The Messages error judge on hand-built answers: each status is held to the envelope and the
`error.type` the document gives it, and an OpenAI-shaped body is named as such."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.apis.anthropic.checks.errors import envelope_problem, status_schema
from conformance.http import Exchange


def _answer(status: int, body: Any) -> Exchange:
    return Exchange("x-1", "POST", "http://gateway.test/v1/messages", [], "{}", status=status,
                    body=json.dumps(body))


def _anthropic(kind: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": "no"}, "request_id": "req_1"}


@pytest.mark.parametrize(("status", "kind"), [
    (400, "invalid_request_error"), (401, "authentication_error"), (403, "permission_error"),
    (404, "not_found_error"), (413, "request_too_large"), (429, "rate_limit_error"),
    (500, "api_error"), (529, "overloaded_error"),
])
def test_each_documented_status_takes_its_type(status: int, kind: str) -> None:
    assert envelope_problem(_answer(status, _anthropic(kind))) is None
    assert envelope_problem(_answer(status, _anthropic("some_other_error"))) is not None


def test_an_overloaded_answer_reported_as_a_server_error_is_caught() -> None:
    problem = envelope_problem(_answer(529, _anthropic("api_error")))
    assert problem is not None and problem.startswith("not OverloadedErrorResponse")


def test_a_status_the_document_does_not_list_only_needs_the_envelope() -> None:
    assert status_schema(422) == "ErrorResponse"
    assert envelope_problem(_answer(422, _anthropic("invalid_request_error"))) is None


def test_an_openai_shaped_error_is_named() -> None:
    body = {"error": {"message": "no", "type": "invalid_request_error", "param": None,
                      "code": None}}
    problem = envelope_problem(_answer(400, body))
    assert problem is not None and "OpenAI-shaped" in problem
