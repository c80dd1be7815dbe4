"""One embedded reference gateway serves every fault under /fault/<name>/v1 for the whole proof."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.gateway.server import EmbeddedGateway
from tests.suite.harness import API_KEY


@pytest.fixture(scope="session")
def gateway() -> Iterator[EmbeddedGateway]:
    with EmbeddedGateway(api_key=API_KEY) as server:
        yield server
