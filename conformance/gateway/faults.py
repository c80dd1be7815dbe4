"""The fault registry: every way the reference gateway can be told to break one requirement.

Endpoint modules declare their own faults next to the code that commits them; this module
only merges them (and holds the few that cut across endpoints), so adding a fault never
means editing a shared list.
"""

from __future__ import annotations

from conformance.apis.anthropic.gateway.faults import MESSAGES_FAULTS

from .chat import CHAT_FAULTS
from .fault_types import Fault
from .models import MODELS_FAULTS, UNKNOWN_MODEL_200, UNKNOWN_MODEL_400
from .responses import RESPONSES_FAULTS

AUTH_NOT_ENFORCED = "auth-not-enforced"

GATEWAY_FAULTS = (
    Fault(AUTH_NOT_ENFORCED, "a missing or wrong API key is accepted", ("chat.errors.auth",)),
    Fault(UNKNOWN_MODEL_200, "an unknown model is silently routed to gpt-4o-mini",
          ("chat.errors.unknown-model", "responses.errors.unknown-model")),
    Fault(UNKNOWN_MODEL_400, "an unknown model gives 400 model_not_found instead of 404",
          ("chat.errors.unknown-model", "responses.errors.unknown-model"), outcome="warn"),
)


def _merge(*groups: tuple[Fault, ...]) -> dict[str, Fault]:
    merged: dict[str, Fault] = {}
    for group in groups:
        for fault in group:
            if fault.name in merged:
                raise ValueError(f"fault {fault.name!r} is declared twice")
            merged[fault.name] = fault
    return merged


FAULTS: dict[str, Fault] = _merge(GATEWAY_FAULTS, MODELS_FAULTS, CHAT_FAULTS, RESPONSES_FAULTS,
                                  MESSAGES_FAULTS)

__all__ = ["FAULTS", "GATEWAY_FAULTS", "Fault"]
