"""Recorded Chat Completions exchanges built by hand, for judging checks without a gateway."""

from __future__ import annotations

import json
from typing import Any

from conformance.apis.openai.checks.chat import read_chat_stream
from conformance.apis.openai.streams import ChatStream
from conformance.http import Exchange

URL = "http://gateway.test/v1/chat/completions"


def answer(xid: str, status: int, body: Any, request: dict[str, Any] | None = None,
           media: str = "application/json") -> Exchange:
    """A whole (non-streamed) answer; a `body` that is not a string is sent as JSON."""
    text = body if isinstance(body, str) else json.dumps(body)
    return Exchange(xid, "POST", URL, [], json.dumps(request or {"model": "m"}), status=status,
                    response_headers=[("content-type", media)], body=text)


def stream(xid: str, entries: list[dict[str, Any]], request: dict[str, Any]) -> ChatStream:
    """A 200 stream of one chunk per choice entry, then [DONE], read as a client reads it."""
    chunks = [{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [entry]} for entry in entries]
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    # without a Content-Type, read_chat_stream parses the body as SSE (as openai-python does)
    return read_chat_stream(Exchange(xid, "POST", URL, [], json.dumps(request), status=200,
                                     body=body))


def choice(deltas: list[dict[str, Any]], finish: str | None,
           index: int = 0) -> list[dict[str, Any]]:
    """The entries of one streamed choice: `deltas` (the role on the first), then `finish`."""
    return [{"index": index, "delta": {"role": "assistant", **deltas[0]}, "finish_reason": None},
            *({"index": index, "delta": d, "finish_reason": None} for d in deltas[1:]),
            {"index": index, "delta": {}, "finish_reason": finish}]
