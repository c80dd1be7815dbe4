"""Decoding recorded SSE exchanges into the payloads the checks judge."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TypeVar

from conformance.http import Exchange
from conformance.sse import SSEEvent

DONE = "[DONE]"


def split_at_done(events: list[SSEEvent]) -> tuple[list[SSEEvent], SSEEvent | None,
                                                      list[SSEEvent]]:
    """The events before the first `[DONE]`, that sentinel (None: none came) and those after."""
    for position, event in enumerate(events):
        if event.data.strip() == DONE:
            return events[:position], event, events[position + 1:]
    return list(events), None, []


def event_json(event: SSEEvent) -> Any:
    """The event's data parsed as JSON (None: it is not JSON text, e.g. not even UTF-8)."""
    if event.invalid_utf8:
        return None
    try:
        return json.loads(event.data)
    except ValueError:
        return None


def json_object(event: SSEEvent) -> dict[str, Any] | None:
    value = event_json(event)
    return value if isinstance(value, dict) else None


def transcript(events: list[SSEEvent], around: int | None = None, width: int = 3) -> list[str]:
    """Events as compact lines for evidence, optionally only those around one index."""
    chosen = events if around is None else events[max(0, around - width): around + width + 1]
    return [f"#{e.index} {'event: ' + e.event + ' ' if e.event else ''}data: {e.data[:300]}"
            for e in chosen]


# --- streams of typed events (each payload names its `type`) ----------------------------------


@dataclass
class TypedStream:
    """A stream whose payloads each carry a JSON `type`, split at an optional `[DONE]`.

    `payloads[i]` is the JSON of `events[i]` (the raw data string when it is not JSON, so an
    event-order engine can name it); `sse_names[i]` is that event's SSE `event:` name.
    """

    exchange: Exchange
    events: list[SSEEvent] = field(default_factory=list)
    payloads: list[Any] = field(default_factory=list)
    sse_names: list[str | None] = field(default_factory=list)
    done: SSEEvent | None = None  # a trailing `data: [DONE]`
    after_done: list[SSEEvent] = field(default_factory=list)

    @property
    def end_index(self) -> int | None:
        """Position of the event that ends the stream for its API (None: it never came)."""
        return None

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [p for p in self.payloads if isinstance(p, dict) and p.get("type") == event_type]

    def judged_events(self) -> tuple[list[Any], list[str | None]]:
        """What an event-order engine reads: the payloads and their SSE `event:` names."""
        return self.payloads, self.sse_names


S = TypeVar("S", bound=TypedStream)


def decode_typed_stream(exchange: Exchange, kind: type[S]) -> S:
    """`exchange`'s events as a `kind` stream."""
    before, done, after = split_at_done(exchange.events)
    stream = kind(exchange, events=before, done=done, after_done=after)
    for event in before:
        payload = json_object(event)
        stream.payloads.append(event.data if payload is None else payload)
        stream.sse_names.append(event.event)
    return stream
