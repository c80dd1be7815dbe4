"""The checks, one package per endpoint family; each module is one part of the contract."""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
from collections.abc import Sequence
from pathlib import Path

from conformance.check import REGISTRY, Check

CHECKS_DIR = Path(__file__).resolve().parent


def load_checks() -> dict[str, Check]:
    """Import every check module so that the registry is complete; returns it (id -> Check)."""
    for info in pkgutil.walk_packages(__path__, __name__ + "."):
        importlib.import_module(info.name)
    return REGISTRY


def selected(check_id: str, select: Sequence[str]) -> bool:
    """True when `--select` keeps the check: no glob keeps every check."""
    return not select or any(fnmatch.fnmatchcase(check_id, glob) for glob in select)
