"""What an API family plugs into the reference gateway: its routes, its faults, its auth rule and
its error envelope (`GatewaySurface`), and the rule that picks the surface a request is for.

Each family's gateway module exposes one `SURFACE`; the family record names that module
(`ApiFamily.gateway`) and `conformance.family.gateway_surfaces()` collects them in registration
order. The engine (app, faults) only ever goes through these records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from .errors import ApiError
from .fault_types import Fault

# ASGI scope key under which the app records the name of the surface a request is for.
SURFACE_SCOPE_KEY = "conformance.surface"


@dataclass(frozen=True)
class GatewaySurface:
    """One family's part of the reference gateway."""

    name: str  # the family's name
    routes: tuple[BaseRoute, ...]
    faults: tuple[Fault, ...]
    # Whether a request on a path several surfaces serve (`GET /v1/models`) is this family's,
    # judged from what its clients send (a header, say).
    claims: Callable[[Scope], bool]
    # The refusal of a request whose key does not satisfy this family's rule (None: admitted),
    # given the gateway's key and the active fault (a family's own "auth not enforced").
    auth_error: Callable[[Scope, str, str | None], ApiError | None]
    # An error in this family's envelope, under the active fault.
    error_response: Callable[[ApiError, str | None], Response]
    # The paths its API lives under: a request below any surface's is an API request, whose key
    # is checked before routing (so an unknown route there is a 401 without a key, not a 404).
    prefixes: tuple[str, ...] = ("/v1/",)


def owner(scope: Scope, surfaces: Sequence[GatewaySurface]) -> GatewaySurface:
    """The surface a request is for, which answers it, checks its key and renders its errors.

    The surfaces with a route for the request's path and method; failing that, those with the
    path under another method (a 405 in their envelope); failing that, all of them (a 404).
    Among several, the first that `claims` the request, else the first in registration order:
    the first family registered answers every request no other family claims.
    """
    for level in (Match.FULL, Match.PARTIAL):
        serving = [s for s in surfaces if any(r.matches(scope)[0] == level for r in s.routes)]
        if serving:
            return _claimant(scope, serving)
    return _claimant(scope, surfaces)


def _claimant(scope: Scope, candidates: Sequence[GatewaySurface]) -> GatewaySurface:
    if len(candidates) == 1:
        return candidates[0]
    return next((s for s in candidates if s.claims(scope)), candidates[0])
