"""Per-request context: the active fault and model behaviour, and the gateway's shared state."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from .behaviours import OBEDIENT

# ASGI scope key under which the routing middleware records the active fault (or None).
FAULT_SCOPE_KEY = "conformance.fault"
# ... and the active model behaviour (a name from behaviours.BEHAVIOURS).
BEHAVIOUR_SCOPE_KEY = "conformance.behaviour"


class ResponseStore:
    """Stored Responses (``store: true``), newest last, bounded so a long run cannot grow it."""

    def __init__(self, capacity: int = 2000) -> None:
        self._items: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def put(self, response_id: str, record: dict[str, Any]) -> None:
        with self._lock:
            self._items[response_id] = record
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def get(self, response_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._items.get(response_id)

    def delete(self, response_id: str) -> bool:
        with self._lock:
            return self._items.pop(response_id, None) is not None


@dataclass
class GatewayState:
    api_key: str | None
    default_fault: str | None
    default_behaviour: str = OBEDIENT
    store: ResponseStore = field(default_factory=ResponseStore)
    # Set when the server is stopping, so deliberately hanging streams end promptly.
    stopping: threading.Event = field(default_factory=threading.Event)


def current_fault(request: Request) -> str | None:
    return request.scope.get(FAULT_SCOPE_KEY)


def current_behaviour(request: Request) -> str:
    return request.scope.get(BEHAVIOUR_SCOPE_KEY) or OBEDIENT


def gateway_state(request: Request) -> GatewayState:
    return request.app.state.gateway
