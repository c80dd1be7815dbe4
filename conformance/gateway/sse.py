"""Server-sent-event framing and the streaming response wrapper."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from starlette.responses import StreamingResponse

from .context import GatewayState

EVENT_STREAM = "text/event-stream"
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
HANG_LIMIT_SECONDS = 120.0
# A real model's tokens come tens of milliseconds apart; one pause after the first generated
# token lets a client see the answer arrive over several network reads, even on loopback and
# under load (chat.stream.incremental and responses.stream.incremental judge exactly that):
# long enough that a client busy with many concurrent streams, on a loaded machine, still
# reads the first token alone.
FIRST_TOKEN_PAUSE_SECONDS = 0.25


def to_json(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"))


def data_frame(data: str, *, space: bool = True, newline: str = "\n") -> bytes:
    """A data-only event (Chat Completions): ``data: <payload>`` and a blank line."""
    separator = " " if space else ""
    return f"data:{separator}{data}{newline}{newline}".encode()


def event_frame(event: str, data: str) -> bytes:
    """A named event (Responses): ``event: <type>``, ``data: <payload>``, blank line."""
    return f"event: {event}\ndata: {data}\n\n".encode()


async def idle_until_stopped(state: GatewayState, limit: float = HANG_LIMIT_SECONDS) -> None:
    """Keep a connection open and silent, as a hung upstream would.

    Ends when the client disconnects (Starlette cancels the stream), when the gateway stops,
    or after ``limit`` seconds, so a hanging stream never blocks server shutdown for long.
    """
    deadline = time.monotonic() + limit
    while not state.stopping.is_set() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


def stream_response(
    frames: Iterable[bytes],
    state: GatewayState,
    *,
    media_type: str = EVENT_STREAM,
    hang_after: int | None = None,
    first_token_frame: int | None = None,
    burst: bool = False,
) -> StreamingResponse:
    """Send ``frames`` in order, each as its own write.

    With ``first_token_frame=k``, pause ``FIRST_TOKEN_PAUSE_SECONDS`` after frame k (0-based);
    with ``hang_after=k``, go idle (never close) after the k-th frame; with ``burst``, write
    the frames back to back, never yielding to the loop (a relay releasing what it held).
    """
    frame_list = list(frames)

    async def body() -> AsyncIterator[bytes]:
        for index, frame in enumerate(frame_list):
            yield frame
            if burst:
                continue
            # Even without a pause, yield to the loop so the frame reaches the socket alone.
            await asyncio.sleep(FIRST_TOKEN_PAUSE_SECONDS if index == first_token_frame else 0)
            if hang_after is not None and index + 1 >= hang_after:
                await idle_until_stopped(state)
                return

    return StreamingResponse(body(), media_type=media_type, headers=STREAM_HEADERS)
