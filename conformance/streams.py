"""Decoding recorded SSE exchanges into the payloads the checks judge."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from conformance.http import Exchange
from conformance.sse import SSEEvent

DONE = "[DONE]"


@dataclass
class ChatStream:
    """A chat completion stream split at its `[DONE]` sentinel."""

    exchange: Exchange
    chunks: list[dict[str, Any]] = field(default_factory=list)  # JSON objects before [DONE]
    invalid: list[SSEEvent] = field(default_factory=list)  # data that is not a JSON object
    done: SSEEvent | None = None
    after_done: list[SSEEvent] = field(default_factory=list)

    @property
    def content_chunks(self) -> list[dict[str, Any]]:
        """Chunks that carry choices (the include_usage chunk has none)."""
        return [c for c in self.chunks if c.get("choices")]

    def text(self, choice: int = 0) -> str:
        parts = []
        for chunk in self.content_chunks:
            for entry in chunk.get("choices") or []:
                delta = entry.get("delta") or {}
                if entry.get("index") == choice and isinstance(delta.get("content"), str):
                    parts.append(delta["content"])
        return "".join(parts)


def decode_chat_stream(exchange: Exchange) -> ChatStream:
    stream = ChatStream(exchange)
    for event in exchange.events:
        if stream.done is not None:
            stream.after_done.append(event)
        elif event.data.strip() == DONE:
            stream.done = event
        else:
            payload = _json_object(event.data)
            if payload is None:
                stream.invalid.append(event)
            else:
                stream.chunks.append(payload)
    return stream


def _json_object(data: str) -> dict[str, Any] | None:
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def transcript(events: list[SSEEvent], around: int | None = None, width: int = 3) -> list[str]:
    """Events as compact lines for evidence, optionally only those around one index."""
    chosen = events if around is None else events[max(0, around - width): around + width + 1]
    return [f"#{e.index} {'event: ' + e.event + ' ' if e.event else ''}data: {e.data[:300]}"
            for e in chosen]
