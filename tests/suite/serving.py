"""Serve an ASGI app of a test (a proxy, a malformed gateway) on a free loopback port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

HOST = "127.0.0.1"


@contextmanager
def serving(app: Any, name: str) -> Iterator[str]:
    """Run `app` in a daemon thread until the block ends; yields its root URL."""
    config = uvicorn.Config(app, host=HOST, port=0, log_level="warning", access_log=False,
                            lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    while not server.started:  # no deadline: a server that dies says so at once
        if not thread.is_alive():
            raise RuntimeError(f"{name} failed to start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
