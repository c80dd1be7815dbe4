"""The checks, one package per endpoint family; each module is one part of the contract."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from conformance.check import REGISTRY, Check

CHECKS_DIR = Path(__file__).resolve().parent


def load_checks() -> dict[str, Check]:
    """Import every check module so that the registry is complete; returns it (id -> Check)."""
    for info in pkgutil.walk_packages(__path__, __name__ + "."):
        importlib.import_module(info.name)
    return REGISTRY
