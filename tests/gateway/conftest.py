"""One embedded gateway (with an API key) for the whole gateway test session."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from openai import OpenAI

from conformance.gateway import EmbeddedGateway

API_KEY = "sk-gateway-test"


@pytest.fixture(scope="session")
def gateway() -> Iterator[EmbeddedGateway]:
    with EmbeddedGateway(api_key=API_KEY) as gw:
        yield gw


@pytest.fixture(scope="session")
def client(gateway: EmbeddedGateway) -> OpenAI:
    # No retries: a 5xx must surface, not be retried into a slow pass.
    return OpenAI(base_url=gateway.base_url, api_key=API_KEY, max_retries=0, timeout=10)


@pytest.fixture(scope="session")
def http(gateway: EmbeddedGateway) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=gateway.root_url, headers=headers, timeout=10) as session:
        yield session
