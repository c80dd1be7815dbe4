"""The gateway under test: a configured base URL, or the embedded reference gateway."""

from __future__ import annotations

import secrets
from typing import Any

from conformance.config import Config
from conformance.http import Client, Exchange
from conformance.redact import Redactor

# httpx's names for "no connection could be made" (Exchange.transport_error names them).
_NO_CONNECTION = ("ConnectError", "ConnectTimeout", "UnsupportedProtocol")


class TargetUnreachable(Exception):
    """No HTTP response at all from the target (exit code 3)."""


class Target:
    def __init__(self, settings: Config, worker_id: str = "") -> None:
        self.settings = settings
        self.config = settings
        self._prefix = f"{worker_id or 'x'}-"
        self._gateway: Any = None
        self._client: Client | None = None
        self._reachable = False
        self._probe_id: str | None = None
        self.redactor = Redactor(settings.secrets())

    @property
    def client(self) -> Client:
        if self._client is None:
            self._start()
        assert self._client is not None
        return self._client

    def _start(self) -> None:
        if self.settings.embedded:
            # Imported here: a run against a real gateway never loads the server stack.
            from conformance.gateway.server import EmbeddedGateway

            key = "sk-embedded-" + secrets.token_hex(12)
            self._gateway = EmbeddedGateway(api_key=key).start()
            self.config = self.settings.with_target(self._gateway.base_url, key)
        self.redactor = Redactor(self.secrets())
        self._client = Client(self.config, prefix=self._prefix)

    def ensure_reachable(self) -> None:
        """One GET /models; no connection at all means the target is not there.

        Anything else (a slow or failing model list included) is the checks' to judge.
        """
        if self._reachable:
            return
        probe = self.client.get("/models")
        self._probe_id = probe.id
        if any(name in (probe.transport_error or "") for name in _NO_CONNECTION):
            raise TargetUnreachable(f"{self.config.base_url}: {probe.transport_error}")
        self._reachable = True

    def secrets(self) -> tuple[str, ...]:
        return self.config.secrets()

    def exchange_count(self) -> int:
        return len(self._client.exchanges) if self._client else 0

    def exchanges_since(self, start: int) -> list[Exchange]:
        """Exchanges sent after `start`, less the reachability probe (no check's evidence)."""
        recent = self._client.exchanges[start:] if self._client else []
        return [e for e in recent if e.id != self._probe_id]

    def close(self) -> None:
        if self._client:
            self._client.close()
        if self._gateway:
            self._gateway.stop()
            self._gateway = None
