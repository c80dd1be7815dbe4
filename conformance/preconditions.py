"""What a check needs from an exchange before it can judge, and the verdict when it is missing.

These helpers turn "the request did not give us anything to judge" into the right outcome:
an error for transport trouble, `not_supported` for a clean refusal of an optional feature,
a failure for anything else.
"""

from __future__ import annotations

import json
from typing import Any

from conformance.check import CheckFailed, HarnessError, NotSupported
from conformance.http import Exchange

# Statuses that say something about the harness or the account, not about conformance.
_HARNESS_STATUSES = {
    401: "the target rejected the API key (check --api-key / OPENAI_API_KEY)",
    403: "the target refused access for this key or model",
    429: "the target rate-limited the run; retry later or with fewer workers",
}


def require_response(exchange: Exchange) -> None:
    """The exchange produced a complete HTTP response."""
    if exchange.transport_error:
        raise HarnessError(f"transport error: {exchange.transport_error}")
    if exchange.cut:
        raise HarnessError(exchange.cut)


def error_message(exchange: Exchange) -> str:
    body = exchange.json_or_none()
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", ""))[:300]
    return exchange.body[:300]


def require_success(exchange: Exchange, feature: str = "core") -> None:
    """Status 200; a clean 4xx for an optional feature means the gateway does not offer it."""
    require_response(exchange)
    status = exchange.status
    if status == 200:
        return
    if status in _HARNESS_STATUSES:
        reason = _HARNESS_STATUSES[status]
        raise HarnessError(f"HTTP {status}: {reason} ({error_message(exchange)})")
    if feature != "core" and status is not None and 400 <= status < 500:
        raise NotSupported(f"the gateway declined '{feature}' with HTTP {status}: "
                           f"{error_message(exchange)}")
    raise CheckFailed(
        f"expected HTTP 200 for a valid request, got {status}",
        expected=200,
        actual=f"{status}: {exchange.body[:500]}",
    )


def endpoint_missing(exchange: Exchange) -> bool:
    """A 404/405 for a valid request that is not about its model: the route is not served."""
    if exchange.status not in (404, 405):
        return False
    body = exchange.json_or_none()
    error = body.get("error") if isinstance(body, dict) else None
    return "model" not in json.dumps(error if error is not None else exchange.body[:500]).lower()


def require_endpoint(exchange: Exchange, endpoint: str) -> None:
    """The gateway serves the endpoint at all; a gateway that does not gets `not_supported`."""
    if exchange.ok and endpoint_missing(exchange):
        raise NotSupported(f"the gateway does not serve {endpoint}: HTTP {exchange.status} "
                           f"{exchange.body[:200]}")


def require_json(exchange: Exchange) -> Any:
    """The body parses as JSON."""
    try:
        return exchange.json()
    except ValueError as exc:
        raise CheckFailed(
            f"the body is not valid JSON ({exc})", expected="a JSON document",
            actual=exchange.body[:500],
        ) from None


def require_object(exchange: Exchange, feature: str = "core") -> dict[str, Any]:
    """A 200 whose body is a JSON object."""
    require_success(exchange, feature)
    body = require_json(exchange)
    if not isinstance(body, dict):
        raise CheckFailed("the body is not a JSON object", expected="object", actual=body)
    return body


def require_stream(exchange: Exchange, feature: str = "streaming") -> None:
    """A 200 whose body was read to the end (the framing checks judge what it contains)."""
    require_success(exchange, feature)


def parse_event_data(data: str) -> Any:
    """JSON of one SSE data field, or a CheckFailed naming the payload."""
    try:
        return json.loads(data)
    except ValueError as exc:
        raise CheckFailed(
            f"an event's data is not valid JSON ({exc})", expected="JSON", actual=data[:500]
        ) from None
