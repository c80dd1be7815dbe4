"""Decoding recorded OpenAI streams (Chat Completions chunks, Responses events) into the payloads
the checks judge."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.http import Exchange
from conformance.shapes import array_member, describe, member, object_member
from conformance.sse import SSEEvent
from conformance.streams import TypedStream, decode_typed_stream, json_object, split_at_done


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

    def choice_entries(self) -> list[tuple[int, Any]]:
        """(chunk number, entry) for each entry of each chunk's `choices` array, as sent."""
        return [(number, entry) for number, chunk in enumerate(self.chunks)
                for entry in array_member(chunk, "choices")]

    def malformed_choices(self) -> list[str]:
        """One line per chunk whose `choices` is present but not an array."""
        return [f"chunk {number}: choices is {describe(chunk['choices'])}, expected an array"
                for number, chunk in enumerate(self.chunks)
                if chunk.get("choices") is not None and not isinstance(chunk["choices"], list)]

    def text(self, choice: int = 0) -> str:
        """The content a client assembles for one choice (malformed entries add nothing)."""
        parts = []
        for _, entry in self.choice_entries():
            content = member(object_member(entry, "delta"), "content")
            if member(entry, "index") == choice and isinstance(content, str):
                parts.append(content)
        return "".join(parts)


def decode_chat_stream(exchange: Exchange) -> ChatStream:
    before, done, after = split_at_done(exchange.events)
    stream = ChatStream(exchange, done=done, after_done=after)
    for event in before:
        payload = json_object(event)
        if payload is None:
            stream.invalid.append(event)
        else:
            stream.chunks.append(payload)
    return stream



# --- Responses API streams ------------------------------------------------------------------

RESPONSES_TERMINAL_TYPES = ("response.completed", "response.incomplete", "response.failed")
# The events that carry generated output: the answer's text and a function call's arguments.
RESPONSES_OUTPUT_DELTAS = ("response.output_text.delta", "response.function_call_arguments.delta")


@dataclass
class ResponsesStream(TypedStream):
    """A `POST /v1/responses` stream (Open Responses sends a trailing `[DONE]`)."""

    @property
    def end_index(self) -> int | None:
        return self.terminal_index

    @property
    def terminal_index(self) -> int | None:
        """Position of the first terminal event (completed, incomplete or failed)."""
        return next((n for n, p in enumerate(self.payloads)
                     if isinstance(p, dict) and p.get("type") in RESPONSES_TERMINAL_TYPES), None)

    @property
    def terminal(self) -> dict[str, Any] | None:
        index = self.terminal_index
        return None if index is None else self.payloads[index]

    @property
    def terminal_response(self) -> dict[str, Any] | None:
        response = (self.terminal or {}).get("response")
        return response if isinstance(response, dict) else None

    @property
    def complete(self) -> bool:
        """A terminal event arrived: the client has the whole answer, however the stream ends."""
        return self.terminal_index is not None


def decode_responses_stream(exchange: Exchange) -> ResponsesStream:
    return decode_typed_stream(exchange, ResponsesStream)
