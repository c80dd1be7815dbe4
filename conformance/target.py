"""The gateway under test: a configured base URL, or the embedded reference gateway."""

from __future__ import annotations

import secrets
from typing import Any

from conformance.config import Config
from conformance.redact import Redactor


class TargetUnreachable(Exception):
    """No HTTP connection at all to the target (exit code 3)."""


class Target:
    """Where the run's requests go; `start()` starts the embedded gateway when there is no URL."""

    def __init__(self, settings: Config) -> None:
        self.settings = settings
        self.config = settings
        self._gateway: Any = None
        # Why no connection could be made (set by the run's reachability probe), if so.
        self.unreachable: str | None = None
        self.redactor = Redactor(settings.secrets())

    def start(self) -> Config:
        """The run's config pointed at a concrete target (the embedded gateway, started)."""
        if self.settings.embedded and self._gateway is None:
            # Imported here: a run against a real gateway never loads the server stack.
            from conformance.gateway.server import EmbeddedGateway

            key = "sk-embedded-" + secrets.token_hex(12)
            self._gateway = EmbeddedGateway(api_key=key).start()
            self.config = self.settings.with_target(self._gateway.base_url, key)
            self.redactor = Redactor(self.secrets())
        return self.config

    def ensure_reachable(self) -> None:
        if self.unreachable is not None:
            raise TargetUnreachable(f"{self.config.base_url}: {self.unreachable}")

    def secrets(self) -> tuple[str, ...]:
        return self.config.secrets()

    def close(self) -> None:
        if self._gateway:
            self._gateway.stop()
            self._gateway = None
