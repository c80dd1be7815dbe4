"""Gemini, reaching the API: the path prefixes a client may use (`/v1beta`, what most docs and
older clients call, and `/v1`, google-genai 3.6's default) and the three forms of the key
(`x-goog-api-key`, what google-genai and gemini-cli send; `?key=`, curl examples and older
clients; `Authorization: Bearer`, OAuth clients), each reported.

A key sent in the query string is a secret like any other: `conformance.redact` removes it
from every URL the run records, in plain and percent-encoded form.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from conformance import plan
from conformance.apis.gemini.checks import (
    BEARER,
    DOC,
    OP,
    QUERY_KEY,
    generate,
    key_refused,
    path_spec,
)
from conformance.check import Level, check, fail, observe, record, warn
from conformance.http import Exchange, Request
from conformance.preconditions import error_message, require_response

SOURCE_AUTH = "Gemini API reference, API keys (x-goog-api-key header, key query parameter); " \
              "reference endpoints-and-auth.md; gateway-deviations.md rows 2, 12"
SOURCE_PREFIX = "reference endpoints-and-auth.md (google-genai 3.6 calls /v1 by default, " \
                "docs and older clients /v1beta)"
V1 = "/v1"
SECURITY = f"openapi/{DOC}#/components/securitySchemes"


@plan.exchange
def gemini_v1(model: str) -> Request:
    """The plain request under `/v1`, where google-genai sends it by default."""
    return replace(generate(model), prefix=V1)


@check("gemini.endpoints.prefixes", level=Level.SHOULD, operation=OP,
       spec=f"{path_spec('/models/{model}:generateContent')}", source=SOURCE_PREFIX,
       observes="the plain request under /v1 beside /v1beta",
       fix="Serve the Gemini routes under `/v1/` as well as `/v1beta/`, with the same contract: "
           "google-genai 3.6 calls `/v1/models/{model}:generateContent` unless told otherwise.")
def test_prefixes(gemini_generate: Exchange, gemini_v1: Exchange) -> None:
    """The Gemini operations SHOULD be served under `/v1` (google-genai's default) as under `/v1beta`; which prefixes are served is reported."""
    require_response(gemini_v1)
    served = {"/v1beta": gemini_generate.status == 200, V1: gemini_v1.status == 200}
    record(served=served)
    observe("answers under /v1 and /v1beta", 2)
    if not served[V1]:
        warn(f"/v1/models/{{model}}:generateContent got HTTP {gemini_v1.status}: a client on "
             "google-genai's defaults (api_version v1) cannot use this gateway",
             expected=200, actual=f"{gemini_v1.status}: {gemini_v1.body[:300]}",
             shows=gemini_v1)


def _accepted(exchange: Exchange) -> bool:
    return exchange.status == 200


@check("gemini.auth.header", level=Level.MUST, feature="auth", operation=OP, spec=SECURITY,
       source=SOURCE_AUTH,
       observes="the answers to the key in x-goog-api-key, as ?key= and as a Bearer token",
       fix="Read the client key from the `x-goog-api-key` header on every Gemini route (the only "
           "way google-genai and gemini-cli send it), besides `?key=` and `Authorization`.")
def test_header(gemini_generate: Exchange, gemini_keys: dict[str, Exchange] | None) -> None:
    """The key MUST be accepted in the `x-goog-api-key` header, the only form google-genai and gemini-cli send."""
    require_response(gemini_generate)
    forms = {"x-goog-api-key": gemini_generate, **(gemini_keys or {})}
    record(key_accepted_in={name: _accepted(e) for name, e in forms.items()})
    observe("an answer to the key in x-goog-api-key")
    if key_refused(gemini_generate):
        taken = [name for name, e in (gemini_keys or {}).items() if _accepted(e)]
        fail(f"the key in x-goog-api-key was refused (HTTP {gemini_generate.status}: "
             f"{error_message(gemini_generate)}), though the same key was accepted as "
             f"{' and '.join(taken)}", expected="accepted",
             actual=f"{gemini_generate.status}: {gemini_generate.body[:300]}")


def _other_form(name: str, gemini_keys: dict[str, Exchange] | None, why: str) -> None:
    """Report whether the key is taken in the form `name`; warn when it is refused."""
    if gemini_keys is None:
        pytest.skip("no API key configured, so the forms of the key cannot be judged")
    exchange = gemini_keys[name]
    require_response(exchange)
    observe(f"an answer to the key as {name}")
    record(accepted=_accepted(exchange), status=exchange.status)
    if not _accepted(exchange):
        warn(f"the key sent as {name} was refused (HTTP {exchange.status}: "
             f"{error_message(exchange)}); {why}", expected="accepted",
             actual=f"{exchange.status}: {exchange.body[:300]}", shows=exchange)


@check("gemini.auth.query-key", level=Level.SHOULD, feature="auth", operation=OP, spec=SECURITY,
       source=SOURCE_AUTH,
       observes="the answer to the key as ?key=",
       fix="Accept the key in the `key` query parameter too (and keep it out of your access "
           "logs); curl examples and older clients send it there.")
def test_query_key(gemini_keys: dict[str, Exchange] | None) -> None:
    """The key SHOULD be accepted as the `key` query parameter, as the API takes it (curl examples, older clients)."""
    _other_form(QUERY_KEY, gemini_keys, "curl examples and older clients send it so")


@check("gemini.auth.bearer", level=Level.SHOULD, feature="auth", operation=OP, spec=SECURITY,
       source=SOURCE_AUTH + " (Bearer: OAuth clients; gateways commonly take their own key so)",
       observes="the answer to the key as Authorization: Bearer",
       fix="Accept the gateway key as `Authorization: Bearer <key>` on the Gemini routes too, as "
           "on the OpenAI ones.")
def test_bearer(gemini_keys: dict[str, Exchange] | None) -> None:
    """The key SHOULD be accepted as `Authorization: Bearer`, which OAuth clients and OpenAI-style tooling send."""
    _other_form(BEARER, gemini_keys, "clients built for OAuth or OpenAI-style tooling send it so")
