"""The fault registry: every way the reference gateway can be told to break one requirement.

Each family's gateway surface declares its faults (each next to the code that commits it);
this module only merges them, so adding a fault never means editing a shared list.
"""

from __future__ import annotations

from conformance.family import gateway_surfaces

from .fault_types import Fault


def _merge(*groups: tuple[Fault, ...]) -> dict[str, Fault]:
    merged: dict[str, Fault] = {}
    for group in groups:
        for fault in group:
            if fault.name in merged:
                raise ValueError(f"fault {fault.name!r} is declared twice")
            merged[fault.name] = fault
    return merged


FAULTS: dict[str, Fault] = _merge(*(s.faults for s in gateway_surfaces()))

__all__ = ["FAULTS", "Fault"]
