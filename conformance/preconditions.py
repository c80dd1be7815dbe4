"""What a check needs from an exchange before it can judge, and the verdict when it is missing.

These helpers turn "the request did not give us anything to judge" into the right outcome:
an error for transport trouble or a rejected key, `not_supported` for a clean refusal (a 4xx
with the error envelope) of an optional feature, a failure for anything else. The feature is
the running check's own (its `@check` metadata), never an argument.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NoReturn

from conformance.check import Cause, CheckFailed, HarnessError, Inconclusive, NotSupported, current
from conformance.family import families, family
from conformance.features import is_core
from conformance.http import Exchange
from conformance.refusals import envelope_problems, require_not_rate_limited

# Statuses that say something about the harness or the account, not about conformance:
# (cause, what to tell the user).
HARNESS_STATUSES = {
    401: ("auth", "the target rejected the API key (check --api-key / {key_env})"),
    403: ("auth", "the target refused access for this key or model"),
}


def harness_status(exchange: Exchange) -> None:
    """A 401, 403 or 429 is about the account, not the gateway: the check cannot judge."""
    require_not_rate_limited(exchange)
    if exchange.status in HARNESS_STATUSES:
        cause, reason = HARNESS_STATUSES[exchange.status]
        api = family(exchange.family) if exchange.family else families()[0]
        reason = reason.format(key_env=api.key_env)
        raise HarnessError(f"HTTP {exchange.status}: {reason} ({error_message(exchange)})",
                           cause=cause)


def require_response(exchange: Exchange) -> None:
    """The exchange produced a complete HTTP response, and not a rate limit (429)."""
    cause = exchange.harness_cause or "transport"
    if exchange.not_sent:
        raise HarnessError(exchange.transport_error or "not sent", cause=cause)
    if exchange.transport_error:
        raise HarnessError(f"transport error: {exchange.transport_error}", cause=cause)
    if exchange.cut:
        raise HarnessError(exchange.cut, cause=cause)
    require_not_rate_limited(exchange)


def error_message(exchange: Exchange) -> str:
    body = exchange.json_or_none()
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", ""))[:300]
    return exchange.body[:300]


def running_feature() -> str:
    """The feature the running check needs ("core" outside a check)."""
    meta = current()
    return meta.feature if meta else "core"


def _spec_document() -> str:
    """The OpenAPI document of the running check (its error envelope is the one expected)."""
    meta = current()
    return meta.spec.split("#", 1)[0].removeprefix("openapi/") if meta else "chat.yaml"


def require_success(exchange: Exchange) -> None:
    """Status 200; a clean 4xx for an optional feature means the gateway does not offer it.

    A 4xx refuses a core feature (a failure), or declines an optional one: `not_supported`
    when its body is the error envelope, a failure when it is not. Every check that reads the
    exchange fails alike, so the failure names the refusal as its root cause.
    """
    require_response(exchange)
    status = exchange.status
    if status == 200:
        return
    harness_status(exchange)
    feature = running_feature()
    if status is not None and 400 <= status < 500 and not is_core(feature):
        require_clean_decline(exchange, feature)
        raise NotSupported(f"the gateway declined '{feature}' with HTTP {status}: "
                           f"{error_message(exchange)}")
    cause = refusal(exchange)
    if status is not None and 400 <= status < 500:
        raise CheckFailed(
            f"{cause.text}; {_core_subject(feature)} is a core feature, so a refusal is a "
            "failure, not 'not supported'",
            expected=200, actual=f"{status}: {exchange.body[:500]}", root_cause=cause)
    raise CheckFailed(f"{cause.text}, expected 200", expected=200,
                      actual=f"{status}: {exchange.body[:500]}", root_cause=cause)


def require_clean_decline(exchange: Exchange, feature: str) -> None:
    """A 4xx that declines the optional `feature` carries the error envelope: without it a
    client cannot tell a refusal from a fault, so the refusal is a failure."""
    problems = envelope_problems(exchange.json_or_none(), _spec_document())
    if problems:
        raise CheckFailed(
            f"the gateway declined '{feature}' with HTTP {exchange.status}, but its body is not "
            f"the error envelope, so a client cannot tell a refusal from a fault: {problems[0]}",
            expected="a 4xx whose body is {\"error\": {...}}",
            actual=f"{exchange.status}: {exchange.body[:500]}",
            root_cause=Cause(f"{running_endpoint()} declined '{feature}' with HTTP "
                             f"{exchange.status} without the error envelope", exchange.id))


def _core_subject(feature: str) -> str:
    """A core feature as a refusal message names it (`core` is the endpoint itself)."""
    return "a plain request to the endpoint" if feature == "core" else f"'{feature}'"


def running_endpoint() -> str:
    """The running check's endpoint, which causes are told by ("the gateway" outside one)."""
    meta = current()
    return meta.endpoint if meta else "the gateway"


def asked_to_stream(exchange: Exchange) -> bool:
    """The request of `exchange` says `stream: true`."""
    try:
        body = exchange.request_json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("stream") is True


def refusal(exchange: Exchange) -> Cause:
    """The root cause of a valid request answered with another status than 200.

    Requests of one kind (streamed, or not) refused alike, with the same status and error
    message (every `stream: true` refused for streaming), share one cause; refusals that give
    different reasons are independent defects, each its own cause, and so is every refusal
    without a message (nothing tells it is the same defect as another).
    """
    what = "`stream: true`" if asked_to_stream(exchange) else "a valid request"
    message = " ".join(error_message(exchange).split())[:160]
    reason = f": {message!r}" if message else f" without an error message ({exchange.id})"
    return Cause(f"{running_endpoint()} answered {what} with HTTP {exchange.status}{reason}",
                 exchange.id)


def ignored_stream(exchange: Exchange) -> Cause | None:
    """The gateway ignored `stream: true`: a 200 whose body is one JSON object (the answer, not
    streamed) and holds no event (None: it is not that). Every check of the stream meets it, so
    it is their root cause."""
    if exchange.status != 200 or exchange.events or not asked_to_stream(exchange):
        return None
    if not isinstance(exchange.json_or_none(), dict):
        return None
    return Cause(f"{running_endpoint()} ignored `stream: true` (it answered with one JSON "
                 "object, not an event stream)", exchange.id)


def endpoint_missing(exchange: Exchange) -> bool:
    """A 404/405 for a valid request that is not about its model: the route is not served.

    Only a request that names a model can be refused for it; on `GET /models` the word "model"
    in a 404 is the route's own name.
    """
    if exchange.status not in (404, 405) or exchange.method == "GET":
        return exchange.status in (404, 405)
    body = exchange.json_or_none()
    error = body.get("error") if isinstance(body, dict) else None
    return "model" not in json.dumps(error if error is not None else exchange.body[:500]).lower()


def model_refused(exchange: Exchange) -> bool:
    """A 400/404 that says the requested model is not served (code, param or wording)."""
    if exchange.status not in (400, 404) or exchange.method == "GET":
        return False
    body = exchange.json_or_none()
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return False
    fields = f"{error.get('code')} {error.get('param')}".lower()
    return "model" in fields or (exchange.status == 404 and "model" in
                                 str(error.get("message", "")).lower())


class EndpointAbsent(NotSupported):
    """The gateway does not serve the endpoint at all (and the user did not claim it)."""


def require_endpoint(exchange: Exchange, endpoint: str, claimed: bool,
                     refuses_model: Callable[[Exchange], bool] | None = None) -> None:
    """The endpoint is served and the key accepted, judged on its first plain request.

    A 401/403/429 there is one error for every check of the endpoint (the account, not the
    gateway); an endpoint that is not served is `not_supported`, or a failure when the user
    said the gateway serves it (`--endpoints`). `refuses_model`: the family's own way to tell
    a refused model from a missing route (its paths name the model, so any 404 else is one).
    """
    harness_status(exchange)
    if refuses_model is not None and exchange.ok and exchange.status in (404, 405) \
            and not refuses_model(exchange):
        _absent(exchange, endpoint, claimed)
    if exchange.ok and (refuses_model or model_refused)(exchange):
        model = (exchange.request_json() or {}).get("model")
        raise HarnessError(f"the target does not serve the model {model!r} (HTTP "
                           f"{exchange.status}: {error_message(exchange)}); check --model",
                           cause="model")
    if exchange.ok and endpoint_missing(exchange):
        _absent(exchange, endpoint, claimed)


def _absent(exchange: Exchange, endpoint: str, claimed: bool) -> NoReturn:
    message = f"the gateway does not serve {endpoint}: HTTP {exchange.status} {exchange.body[:200]}"
    if claimed:
        raise CheckFailed(message + " (the run was told it does: --endpoints)",
                          expected=f"{endpoint} served", actual=exchange.status)
    raise EndpointAbsent(message)


def require_json(exchange: Exchange) -> Any:
    """The body parses as JSON."""
    try:
        return exchange.json()
    except ValueError as exc:
        raise CheckFailed(
            f"the body is not valid JSON ({exc})", expected="a JSON document",
            actual=exchange.body[:500],
        ) from None


def require_object(exchange: Exchange) -> dict[str, Any]:
    """A 200 whose body is a JSON object."""
    require_success(exchange)
    body = require_json(exchange)
    if not isinstance(body, dict):
        raise CheckFailed("the body is not a JSON object", expected="object", actual=body)
    return body


def require_stream(exchange: Exchange) -> None:
    """A 200 whose body was read to the end (the framing checks judge what it contains).

    The unstreamed answer instead (the gateway ignored `stream: true`) holds nothing to judge:
    inconclusive under that root cause. The checks that own the defect (the stream's
    Content-Type and data) take `require_success` and name the cause on their failure.
    """
    require_success(exchange)
    cause = ignored_stream(exchange)
    if cause is not None:
        raise Inconclusive(f"{cause.text}, so there is no stream to judge (the stream's "
                           "Content-Type and data checks fail it)", cause)


def require_event_stream(exchange: Exchange, complete: bool, content_type_check: str) -> None:
    """A 200 event stream the client could read to its end (`complete`: the stream's own end
    arrived, however the connection then behaved).

    Streaming is core whatever the running check's feature: a refusal fails, it never means
    "not supported". A connection left open after the end is cut by the harness; the check
    that owns that judges it, the others judge what arrived. A stream sent as another media type
    is `content_type_check`'s failure: here nothing can be read, so it is inconclusive.
    """
    if not (exchange.cut and exchange.status == 200 and complete):
        require_response(exchange)
        if exchange.status != 200:
            harness_status(exchange)
            raise CheckFailed(
                f"the streamed request (`stream: true`) got HTTP {exchange.status}: streaming "
                "is core, so a refusal is a failure, not 'not supported'",
                expected=200, actual=f"{exchange.status}: {exchange.body[:500]}",
                root_cause=refusal(exchange))
    if not exchange.is_sse:
        raise Inconclusive(f"the stream was sent as {exchange.media_type or 'no Content-Type'!r}, "
                           "not text/event-stream, so no event could be read (see "
                           f"{content_type_check})", ignored_stream(exchange))


def parse_event_data(data: str) -> Any:
    """JSON of one SSE data field, or a CheckFailed naming the payload."""
    try:
        return json.loads(data)
    except ValueError as exc:
        raise CheckFailed(
            f"an event's data is not valid JSON ({exc})", expected="JSON", actual=data[:500]
        ) from None
