"""Serving the gateway: in a background thread (tests, the suite) or in the foreground."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from types import TracebackType
from typing import Any

import uvicorn

from .app import create_app
from .behaviours import OBEDIENT
from .context import GatewayState

HOST = "127.0.0.1"


@contextmanager
def serving(app: Any, name: str, port: int = 0, start_timeout: float = 60.0) -> Iterator[str]:
    """Serve an ASGI app on loopback, by uvicorn in a daemon thread, for the block; yields its
    root URL (`http://127.0.0.1:<port>`). Raises RuntimeError when it does not start."""
    server = uvicorn.Server(_config(app, port))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{name} failed to start")
        time.sleep(0.01)
    try:
        yield f"http://{HOST}:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _config(app: object, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=HOST,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        # Hanging streams (fault modes) must not hold shutdown for long.
        timeout_graceful_shutdown=2,
    )


class EmbeddedGateway:
    """The reference gateway on a free loopback port, run by uvicorn in a daemon thread.

    Use as a context manager::

        with EmbeddedGateway(api_key="sk-test") as gw:
            client = OpenAI(base_url=gw.base_url, api_key="sk-test")
            faulty = gw.fault_base_url("chat-stream-no-done")
            mock = gw.behaviour_base_url("fixed-reply")
    """

    def __init__(self, api_key: str | None = None, fault: str | None = None,
                 port: int = 0, start_timeout: float = 10.0,
                 behaviour: str = OBEDIENT) -> None:
        self.app = create_app(api_key=api_key, fault=fault, behaviour=behaviour)
        self._state: GatewayState = self.app.state.gateway
        self._port = port
        self._start_timeout = start_timeout
        self._running = ExitStack()
        self._root: str | None = None

    @property
    def root_url(self) -> str:
        if self._root is None:
            raise RuntimeError("the gateway is not running")
        return self._root

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def fault_base_url(self, name: str) -> str:
        return f"{self.root_url}/fault/{name}/v1"

    def behaviour_base_url(self, name: str) -> str:
        """The clean gateway whose model behaves as ``name`` (see ``behaviours``)."""
        return f"{self.root_url}/behaviour/{name}/v1"

    def start(self) -> EmbeddedGateway:
        self._root = self._running.enter_context(serving(
            self.app, "embedded-gateway", self._port, self._start_timeout))
        return self

    def stop(self) -> None:
        self._state.stopping.set()  # ends deliberately hanging streams
        self._running.close()
        self._root = None

    def __enter__(self) -> EmbeddedGateway:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def serve(port: int = 8000, fault: str | None = None, api_key: str | None = None,
          behaviour: str = OBEDIENT) -> None:
    """Run the gateway in the foreground until interrupted (``conformance serve``)."""
    app = create_app(api_key=api_key, fault=fault, behaviour=behaviour)
    uvicorn.Server(_config(app, port)).run()
