"""SIGTERM ends a run the way Ctrl-C does, so that an interrupted run still reports itself.

CI runners send SIGTERM on timeout or cancel; Python's default for it is to die on the spot.
Raising an exception instead lets pytest unwind, and the plugin write `results.json` marked
interrupted.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def signal_name(exc: BaseException) -> str:
    """"SIGTERM" or "SIGINT": which signal a KeyboardInterrupt stands for."""
    return "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
