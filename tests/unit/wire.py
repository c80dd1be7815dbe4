"""Responses for httpx.MockTransport that arrive as from a network: streamed, read by read."""

from __future__ import annotations

import json
from typing import Any

import httpx


def respond(status: int, body: bytes | list[bytes] = b"", **headers: str) -> httpx.Response:
    """`body` in one read, or one read per part of a list; header names use _ for -."""
    parts = body if isinstance(body, list) else [body]

    async def stream():
        for part in parts:
            yield part

    return httpx.Response(status, headers={k.replace("_", "-"): v for k, v in headers.items()},
                          content=stream())


def respond_json(status: int, document: Any, **headers: str) -> httpx.Response:
    return respond(status, json.dumps(document).encode(), content_type="application/json",
                   **headers)
