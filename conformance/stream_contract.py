"""The per-event schemas of a `text/event-stream` answer, read from the `x-sse-*` annotations."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from conformance import schemas


@dataclass(frozen=True)
class StreamContract:
    """Which schema each SSE `data:` payload of one operation's stream must match."""

    item_schema: str
    by_type: dict[str, str]
    error_schema: str | None
    terminators: tuple[str, ...]

    def schema_for(self, payload: Any) -> str:
        kind = payload.get("type") if isinstance(payload, dict) else None
        if kind in self.by_type:
            return self.by_type[kind]
        if self.error_schema and isinstance(payload, dict) and "error" in payload \
                and "choices" not in payload:
            return self.error_schema  # chat: a `data: {"error": ...}` payload ends a failed stream
        return self.item_schema


@cache
def stream_contract(document: str, path: str) -> StreamContract:
    """The contract of `POST path`'s 200 stream in `openapi/<document>`."""
    media = schemas.document(document)["paths"][path]["post"]["responses"]["200"]["content"][
        "text/event-stream"]
    error = media.get("x-sse-error-schema")
    terminators = [media.get("x-sse-terminator"), media.get("x-sse-optional-terminator")]
    return StreamContract(
        item_schema=_ref_name(media["x-sse-item-schema"]),
        by_type={name: _ref_name(ref) for name, ref in media.get("x-sse-events", {}).items()},
        error_schema=_ref_name(error) if error else None,
        terminators=tuple(t for t in terminators if t),
    )


def _ref_name(ref: dict[str, str]) -> str:
    return ref["$ref"].rsplit("/", 1)[-1]
