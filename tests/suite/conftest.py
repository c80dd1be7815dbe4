"""One embedded reference gateway serves every fault under /fault/<name>/v1 for the whole proof."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.gateway.server import EmbeddedGateway
from tests.suite.harness import API_KEY


@pytest.fixture(scope="session", autouse=True)
def _throwaway_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The project's own runs are recorded in a history of their own, never in reports/."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONFORMANCE_HISTORY",
                     str(tmp_path_factory.mktemp("history") / "history.sqlite"))
        yield


@pytest.fixture(scope="session")
def gateway() -> Iterator[EmbeddedGateway]:
    with EmbeddedGateway(api_key=API_KEY) as server:
        yield server
