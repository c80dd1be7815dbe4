"""Messages: the request side: how the key and `anthropic-version` travel, the field every
request must hold (`max_tokens`), and the block forms of `system` and `content` that clients
send and every gateway must accept.

The request builders below are shared with the error checks (`errors.py`): an equal request is
one exchange, sent once per run.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance import plan, refusals, schemas
from conformance.apis.anthropic import FAMILY
from conformance.apis.anthropic.checks import (
    DOC,
    OP,
    PATH,
    QUESTION,
    SOURCE,
    SYSTEM,
    message_body,
    spec,
)
from conformance.check import Level, Problems, check, fail, observe, record, warn
from conformance.config import Config
from conformance.http import Exchange, Request, post
from conformance.preconditions import (
    error_message,
    require_object,
    require_response,
    require_success,
)

SOURCE_HEADERS = "Anthropic API reference, versioning and authentication; anthropic-python " \
                 "client (x-api-key from api_key, Authorization: Bearer from auth_token)"
WRONG_KEY = "sk-ant-conformance-wrong-key-000000000000"
BEARER = "Authorization: Bearer"
ANSWER = "the answer to a request of this shape"


def small_body(model: str, **extra: Any) -> dict[str, Any]:
    """The plain request capped at one token: only whether it is answered matters."""
    return message_body(model, max_tokens=1, **extra)


def key_requests(model: str, key: str) -> dict[str, Request]:
    """The key as a Bearer token instead of in `x-api-key`, a wrong key, and no key."""
    body = small_body(model)
    return {
        BEARER: post(PATH, body, auth=False, headers={"Authorization": f"Bearer {key}"}),
        "wrong key": post(PATH, body, auth=WRONG_KEY),
        "no key": post(PATH, body, auth=False),
    }


def without_version(model: str) -> Request:
    return post(PATH, small_body(model), headers={"anthropic-version": None})


def without_max_tokens(model: str) -> Request:
    body = message_body(model)
    del body["max_tokens"]
    return post(PATH, body)


@plan.exchange
def message_keys(model: str, config: Config) -> dict[str, Request] | None:
    """None: the run has no key, so neither a wrong one nor the Bearer form can be judged."""
    key = config.key_for(FAMILY.name)
    return key_requests(model, key) if key else None


@plan.exchange
def message_without_version(model: str) -> Request:
    return without_version(model)


@plan.exchange
def message_without_max_tokens(model: str) -> Request:
    return without_max_tokens(model)


@plan.exchange
def message_system_blocks(model: str) -> Request:
    return post(PATH, message_body(model, system=[{"type": "text", "text": SYSTEM}]))


@plan.exchange
def message_content_blocks(model: str) -> Request:
    content = [{"type": "text", "text": QUESTION}]
    return post(PATH, message_body(model, messages=[{"role": "user", "content": content}]))


def _is_error_of_type(exchange: Exchange, schema: str) -> bool:
    return not schemas.errors(DOC, schema, exchange.json_or_none(), limit=1)


@check("messages.request.auth-header", level=Level.MUST, feature="auth", operation=OP,
       observes="the answers to the key in x-api-key, as a Bearer token, wrong and missing",
       spec=f"openapi/{DOC}#/components/securitySchemes", source=SOURCE_HEADERS,
       fix='Read the client key from the `x-api-key` header (accept `Authorization: Bearer` too), '
           'and answer a missing or wrong key with HTTP 401 and `error.type: '
           '"authentication_error"`.')
def test_auth_header(message: Exchange, message_keys: dict[str, Exchange] | None) -> None:
    """The key MUST be accepted in `x-api-key` (what the SDK sends) and a wrong or missing key MUST get HTTP 401 with an `authentication_error` envelope (refusing the key as `Authorization: Bearer`, the SDK's `auth_token`, is a SHOULD deviation)."""
    if message_keys is None:
        pytest.skip("no API key configured, so the target cannot be judged on refusing a wrong one")
    for exchange in (message, *message_keys.values()):
        require_response(exchange)
    observe("answers to keyed requests", 1 + len(message_keys))
    accepted = {"x-api-key": message.status not in (401, 403),
                BEARER: message_keys[BEARER].status not in (401, 403)}
    record(key_accepted_in=accepted)
    problems = Problems()
    problems.expect(accepted["x-api-key"], f"the key in x-api-key was refused: HTTP "
                    f"{message.status} {error_message(message)}")
    for name in ("wrong key", "no key"):
        exchange = message_keys[name]
        if exchange.status != 401:
            problems.add(f"{name}: HTTP {exchange.status}, expected 401: {exchange.body[:160]!r}")
        elif not _is_error_of_type(exchange, "AuthenticationErrorResponse"):
            problems.add(f"{name}: the 401 is not an authentication_error envelope: "
                         f"{exchange.body[:160]!r}")
    problems.raise_if_any("authentication does not work as the Anthropic API's",
                          expected={"x-api-key": "accepted", "wrong or no key": 401})
    if not accepted[BEARER]:
        refused = message_keys[BEARER]
        warn("the key sent as Authorization: Bearer was refused; the SDK sends it so when built "
             "with auth_token (ANTHROPIC_AUTH_TOKEN), and gateways accept it",
             expected="accepted", actual=f"{refused.status}: {error_message(refused)}")


@check("messages.request.version-header", level=Level.SHOULD, operation=OP,
       observes="the answer to a request without anthropic-version",
       spec=f"openapi/{DOC}#/components/parameters/AnthropicVersion", source=SOURCE_HEADERS,
       fix="Require the `anthropic-version` request header on `/v1/messages` and answer a request "
           "without it with HTTP 400 `invalid_request_error`.")
def test_version_header(message_without_version: Exchange) -> None:
    """A request without the `anthropic-version` header SHOULD be refused with HTTP 400, as the API refuses it (a gateway that answers it hides a client that would fail against the API; its envelope is judged by messages.errors.envelope)."""
    exchange = message_without_version
    require_response(exchange)
    observe("an answer to a request without anthropic-version")
    record(status=exchange.status)
    if exchange.status != 400:
        what = "was answered" if exchange.status == 200 else f"got HTTP {exchange.status}"
        warn(f"a request without anthropic-version {what}; the API refuses it with 400",
             expected=400, actual=f"{exchange.status}: {exchange.body[:300]}")


@check("messages.request.max-tokens-required", level=Level.MUST, operation=OP,
       observes="the answer to a request without max_tokens",
       spec=f"{spec('CreateMessageRequest')}/required", source=SOURCE,
       fix="Refuse a Messages request that lacks `max_tokens` with HTTP 400 "
           "`invalid_request_error`; do not fill in a default cap of your own.")
def test_max_tokens_required(message_without_max_tokens: Exchange) -> None:
    """A request without `max_tokens` MUST be refused with a 4xx, never answered with a cap the gateway chose (a 4xx other than 400 is a SHOULD deviation)."""
    exchange = message_without_max_tokens
    require_response(exchange)
    observe("an answer to a request without max_tokens")
    refusals.judge_bad_request_statuses({"missing max_tokens": exchange})


def _accepted(exchange: Exchange, shape: str, plain: Exchange) -> None:
    """HTTP 200 with a `message` (a schema problem the plain answer shares is not this shape's:
    messages.response.schema judges it)."""
    require_success(exchange)
    observe(ANSWER)
    body = require_object(exchange)
    plain_body = plain.json_or_none()
    known = set(schemas.errors(DOC, "Message", plain_body)) if isinstance(plain_body, dict) \
        else set()
    problems = [p for p in schemas.errors(DOC, "Message", body) if p not in known]
    if problems:
        fail(f"the answer to {shape} is not a valid message: {problems[0]}",
             expected=f"valid {spec('Message')}", actual=problems)


@check("messages.request.system-blocks", level=Level.MUST, operation=OP, observes=ANSWER,
       spec=spec("SystemPrompt"), source=SOURCE + ": `system` is a string or text blocks",
       fix="Accept `system` as an array of text blocks as well as a string, joining the blocks' "
           "`text` for an upstream that takes a single system prompt.")
def test_system_blocks(message_system_blocks: Exchange, message: Exchange) -> None:
    """A `system` prompt given as a list of text blocks MUST be accepted (200 and a message), as the string form is."""
    _accepted(message_system_blocks, "`system` as text blocks", message)


@check("messages.request.content-blocks", level=Level.MUST, operation=OP, observes=ANSWER,
       spec=spec("MessageParam"), source=SOURCE + ": `content` is a string or content blocks",
       fix='Accept a user message whose `content` is an array of `{"type": "text", "text": ...}` '
           'blocks as well as a string: normalise both forms before translating the request.')
def test_content_blocks(message_content_blocks: Exchange, message: Exchange) -> None:
    """A user turn whose `content` is a list of text blocks MUST be accepted (200 and a message), as the string form is."""
    _accepted(message_content_blocks, "user content as text blocks", message)
