"""pytest configuration for tests/spec: makes spec_helpers importable, shares the documents."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from spec_helpers import load_document


@pytest.fixture(scope="session")
def chat_doc() -> dict[str, Any]:
    return load_document("chat.yaml")


@pytest.fixture(scope="session")
def responses_doc() -> dict[str, Any]:
    return load_document("responses.yaml")
