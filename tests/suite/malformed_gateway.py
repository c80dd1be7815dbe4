"""A gateway that answers every `/v1/*` request with one fixed, malformed JSON document.

Each mode breaks the shape a check reads at a different depth (the body, `choices`, a choice's
`message` or `delta`, `usage`, Responses `output` items, their content parts, stream events).
The suite must judge such a gateway (`fail` / `warn`), never crash on it (`error`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from conformance.gateway.server import serving

STREAM_EVENTS = 3


@dataclass(frozen=True)
class Mode:
    body: Any  # the answer to every non-streamed request
    event: Any = None  # the data of every stream event (None: the body again)

    @property
    def stream_event(self) -> Any:
        return self.body if self.event is None else self.event


TOOL_CALLS = [None, 5, {"index": "0", "id": 7, "function": "get_weather"},
              {"index": [0], "id": ["call"], "type": "function", "function": {"name": 1}}]
MODES: dict[str, Mode] = {
    "list": Mode([]),
    "string": Mode("hello"),
    "badchoices": Mode({"id": 1, "object": "chat.completion", "choices": "x", "usage": "u",
                        "output": 5, "model": None}),
    "nullchoices": Mode({"id": "a", "object": "chat.completion",
                         "choices": [None, 3, {"message": None, "delta": 7}],
                         "usage": {"prompt_tokens": "x"},
                         "output": [None, {"type": 3, "content": "s"}]}),
    "number-choices": Mode({"object": "chat.completion", "choices": [1, 2.5, True], "data": 7,
                            "usage": {"completion_tokens": [], "output_tokens": {}}}),
    # A choice whose message and delta are strings; usage as a list.
    "string-message": Mode({"object": "chat.completion", "usage": [1, 2, 3], "response": "x",
                            "choices": [{"index": 0, "message": "hi", "delta": "hi",
                                         "finish_reason": "stop"}]}),
    # A message whose tool_calls and content are of the wrong kinds, fragments likewise.
    "bad-tool-calls": Mode({"object": "chat.completion", "choices": [
        {"index": 0, "finish_reason": "tool_calls",
         "message": {"role": "assistant", "content": [], "tool_calls": TOOL_CALLS},
         "delta": {"role": "assistant", "tool_calls": TOOL_CALLS}},
        {"index": "1", "message": {"tool_calls": "x"}, "delta": {"tool_calls": {"a": 1}}},
        {"index": {"k": 2}, "delta": None}]}),
    # Responses output items that are strings, numbers or lack `type`.
    "string-items": Mode({"object": "response", "status": "completed", "usage": [1],
                          "output": ["message", 5, {"id": "x", "content": [{"text": "hi"}]}]}),
    # Output items of the right types whose content, arguments and ids are malformed.
    "null-parts": Mode({"object": "response", "status": "incomplete", "usage": {
        "input_tokens": 1, "output_tokens": 2, "total_tokens": 3,
        "output_tokens_details": []}, "output": [
        {"type": "message", "id": 3, "role": "assistant", "content": [None, 5, "text"]},
        {"type": "message", "id": "m2", "content": "text"},
        {"type": "function_call", "id": [], "call_id": 7, "name": None, "arguments": 5},
        {"type": "reasoning", "summary": None}]}),
    # Stream events that are JSON arrays; a plausible non-streamed body.
    "array-events": Mode({"object": "response", "output": [], "choices": []},
                         event=[{"type": "response.created"}, {"choices": []}]),
    # Stream events of known types whose nested objects have the wrong shapes.
    "bad-events": Mode({"object": "response", "output": None, "choices": None}, event={
        "type": "response.completed", "sequence_number": "0", "item": "x", "part": 5,
        "response": {"status": "completed", "output": ["x", None, {"type": "message"}],
                     "usage": [1]},
        "choices": [{"index": 0, "delta": {"role": 5, "tool_calls": "x"}}, "y"],
        "usage": "z"}),
}


def create_app(mode: str) -> Starlette:
    """An app that answers every `/v1/*` request with the mode's document (streamed if asked)."""
    answer = MODES[mode]

    async def handle(request: Request) -> Response:
        if _wants_stream(await request.body()):
            return StreamingResponse(_events(answer.stream_event), media_type="text/event-stream")
        return Response(json.dumps(answer.body), media_type="application/json")

    return Starlette(routes=[Route("/v1/{path:path}", handle, methods=["GET", "POST"])])


def _wants_stream(raw: bytes) -> bool:
    try:
        request = json.loads(raw) if raw else {}
    except ValueError:
        return False  # the invalid-JSON error probe: answered like anything else
    return isinstance(request, dict) and bool(request.get("stream"))


async def _events(payload: Any) -> AsyncIterator[bytes]:
    data = json.dumps(payload)
    for _ in range(STREAM_EVENTS):
        yield f"event: x\ndata: {data}\n\n".encode()
    yield b"data: [DONE]\n\n"


@contextmanager
def serve(mode: str) -> Iterator[str]:
    """Serve one mode on a free loopback port in a daemon thread; yields its base URL."""
    with serving(create_app(mode), f"malformed-{mode}") as root:
        yield root + "/v1"
