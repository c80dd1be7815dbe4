"""Gemini (`POST /v1beta/models/{model}:generateContent` and `:streamGenerateContent`): the
checks, by part of the contract, and the requests and stream readers they share.

Sources: the Gemini API reference (generateContent, streamGenerateContent, countTokens, models)
and the google-genai Python SDK's types and stream reader, as summarised in
`../shared/reference/gemini/`; `openapi/gemini.yaml` holds the contract the checks read.

The model is part of the path (`/models/{model}:generateContent`), so every request is built
from the model under test; the bodies are camelCase, as the REST API takes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from conformance import schemas
from conformance.http import Exchange, Request, post
from conformance.sampling import deterministic
from conformance.shapes import member, object_member, objects
from conformance.sse import SSEEvent
from conformance.streams import json_object, split_at_done

DOC = "gemini.yaml"
OP = "generateContent"
OP_STREAM = "streamGenerateContent"
OP_COUNT = "countTokens"
TITLE = "POST /v1beta/models/{model}:generateContent"
QUESTION = "In one short sentence, what is an API gateway?"
SYSTEM = "You are a concise assistant."
# Room for the answer after a thinking model's thoughts (they count against the cap); the
# question asks for one sentence, so the cap is not what a run pays.
MAX_OUTPUT_TOKENS = 1024
# The cut answer: the plain request again, capped far below its own answer.
CUT_TOKENS = 5

SOURCE = "Gemini API reference, models.generateContent"
SOURCE_STREAMING = "Gemini API reference, models.streamGenerateContent; google-genai " \
                   "_api_client stream reader (3.6)"
SOURCE_COUNT = "Gemini API reference, models.countTokens"

# What a chunk that ends the stream carries (`Candidate.finishReason`), or an error object.
FINISH = "finishReason"


def spec(schema: str) -> str:
    """A pointer to a schema of `openapi/gemini.yaml`."""
    return schemas.pointer(DOC, schema)


def path_spec(path: str) -> str:
    """A pointer to a path of `openapi/gemini.yaml` (`/models/{model}:generateContent`)."""
    return f"openapi/{DOC}#/paths/{path.replace('~', '~0').replace('/', '~1')}"


# --- paths and bodies -------------------------------------------------------------------------


def _model_id(model: str) -> str:
    """The bare model id (the SDK takes `models/gemini-…` too and sends the bare form)."""
    return model.removeprefix("models/")


def generate_path(model: str) -> str:
    return f"/models/{_model_id(model)}:generateContent"


def stream_path(model: str, sse: bool = True) -> str:
    """`:streamGenerateContent`, with `?alt=sse` (as the SDK asks) or without (a JSON array)."""
    return f"/models/{_model_id(model)}:streamGenerateContent" + ("?alt=sse" if sse else "")


def count_path(model: str) -> str:
    return f"/models/{_model_id(model)}:countTokens"


def user_turn(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


def generate_body(model: str, *, config: dict[str, Any] | None = None,
                  **extra: Any) -> dict[str, Any]:
    """The plain request: a short question, a generous `maxOutputTokens`, temperature 0;
    `config` adds to (or replaces keys of) its `generationConfig`."""
    return {
        "contents": [user_turn(QUESTION)],
        "generationConfig": {"maxOutputTokens": MAX_OUTPUT_TOKENS, **deterministic(model),
                             **(config or {})},
        **extra,
    }


def generate(model: str, *, config: dict[str, Any] | None = None, **extra: Any) -> Request:
    """`:generateContent` of the plain request (see `generate_body`)."""
    return post(generate_path(model), generate_body(model, config=config, **extra))


def stream(model: str, *, sse: bool = True, config: dict[str, Any] | None = None,
           **extra: Any) -> Request:
    """The same request, to `:streamGenerateContent` (SSE, or the JSON array without `alt`)."""
    return post(stream_path(model, sse), generate_body(model, config=config, **extra))


# --- reading answers --------------------------------------------------------------------------


def answered(exchange: Exchange | None) -> dict[str, Any] | None:
    """The body of a 200 JSON answer (None: refused or not an object; other checks judge it)."""
    if exchange is None or exchange.status != 200:
        return None
    body = exchange.json_or_none()
    return body if isinstance(body, dict) else None


def candidates(response: Any) -> list[dict[str, Any]]:
    """The candidates of a `GenerateContentResponse` that are objects."""
    return objects(member(response, "candidates"))


def parts(candidate: Any) -> list[dict[str, Any]]:
    return objects(member(object_member(candidate, "content"), "parts"))


def candidate_text(candidate: Any) -> str:
    """The joined text of a candidate's answer parts (thought summaries left out), in order."""
    return "".join(p["text"] for p in parts(candidate)
                   if isinstance(p.get("text"), str) and not p.get("thought"))


def text_of(response: Any, index: int = 0) -> str:
    """The answer text of the candidate numbered `index` (the first when none is numbered)."""
    return "".join(candidate_text(c) for c in candidates(response)
                   if c.get("index", 0) == index)


def finish_reasons(response: Any) -> list[Any]:
    """Each candidate's `finishReason`, where it has one."""
    return [c[FINISH] for c in candidates(response) if FINISH in c]


def ended_naturally(candidate: Any) -> bool:
    """The candidate's finishReason is STOP, in whatever case (the case is judged by
    gemini.response.finish-reason alone)."""
    return str(member(candidate, FINISH)).upper() == "STOP"


def usage_of(response: Any) -> dict[str, Any] | None:
    return object_member(response, "usageMetadata")


def output_tokens(usage: dict[str, Any] | None) -> int | None:
    """Tokens generated against `maxOutputTokens`: the answer's and the thoughts' (a missing
    count is 0, as proto3 JSON omits zeros; None: no usage at all)."""
    if usage is None:
        return None
    counts = [usage.get("candidatesTokenCount", 0), usage.get("thoughtsTokenCount", 0)]
    return sum(c for c in counts if isinstance(c, int) and not isinstance(c, bool))


# --- keys ---------------------------------------------------------------------------------------

# The forms of the key besides `x-goog-api-key` (what google-genai sends).
QUERY_KEY = "?key="
BEARER = "Authorization: Bearer"


def key_refused(exchange: Exchange) -> bool:
    """The answer refuses the key: 401/403, or the API's own 400 "API key not valid"
    (`INVALID_ARGUMENT`, reason `API_KEY_INVALID`)."""
    if exchange.status in (401, 403):
        return True
    body = exchange.json_or_none() if exchange.status == 400 else None
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and ("API key" in str(error.get("message", ""))
                                        or "API_KEY_INVALID" in json.dumps(error))


# --- the two stream forms ---------------------------------------------------------------------


SSE_FORM = "sse"
ARRAY_FORM = "array"


@dataclass
class GeminiStream:
    """One `:streamGenerateContent` answer as its chunks, in either wire form.

    `chunks[i]` is the i-th `GenerateContentResponse` as JSON (the raw text when it is not
    JSON, so a check can show it), `times[i]` when it arrived (seconds after the request was
    sent; None: unknown). The SSE form (`?alt=sse`) keeps a `data: [DONE]` apart (`done`),
    as Gemini sends none; the array form says in `broken` why the body is not one JSON array
    of objects (None: it is).
    """

    exchange: Exchange
    form: str
    chunks: list[Any] = field(default_factory=list)
    times: list[float | None] = field(default_factory=list)
    done: SSEEvent | None = None
    after_done: list[SSEEvent] = field(default_factory=list)
    broken: str | None = None

    @property
    def responses(self) -> list[dict[str, Any]]:
        """The chunks that are JSON objects."""
        return [c for c in self.chunks if isinstance(c, dict)]

    @property
    def end_index(self) -> int | None:
        """Position of the last chunk that ends a candidate (a `finishReason`) or the stream (an
        `error`): None when none came, so the client never learnt how the answer ended."""
        ends = [n for n, c in enumerate(self.chunks)
                if isinstance(c, dict) and ("error" in c or finish_reasons(c))]
        return ends[-1] if ends else None

    @property
    def complete(self) -> bool:
        return self.end_index is not None

    @property
    def answered(self) -> bool:
        """A 200 the client could read chunks from, in the form it asked for."""
        return self.exchange.status == 200 and bool(self.chunks) and self.broken is None

    def text(self, index: int = 0) -> str:
        """The text a client assembles: each chunk's new text, joined."""
        return "".join(self.pieces(index))

    def pieces(self, index: int = 0) -> list[str]:
        """Each chunk's text for the candidate `index` (chunks without any left out)."""
        return [t for t in (text_of(c, index) for c in self.responses) if t]

    @property
    def final(self) -> dict[str, Any] | None:
        """The last chunk: its `usageMetadata` is the answer's (counts grow over the stream)."""
        return self.responses[-1] if self.responses else None


def decode_sse_stream(exchange: Exchange) -> GeminiStream:
    """`exchange` (`?alt=sse`) as its chunks: one per SSE event."""
    before, done, after = split_at_done(exchange.events)
    found = GeminiStream(exchange, SSE_FORM, done=done, after_done=after)
    for event in before:
        payload = json_object(event)
        found.chunks.append(event.data if payload is None else payload)
        found.times.append(event.time)
    return found


def decode_array_stream(exchange: Exchange) -> GeminiStream:
    """`exchange` (no `alt`) as its chunks: the elements of the one JSON array of its body,
    each timed by the network read that completed it."""
    found = GeminiStream(exchange, ARRAY_FORM)
    if exchange.status != 200:
        return found
    elements, found.broken = _array_elements(exchange.body)
    reads = _read_ends(exchange)
    for value, end in elements:
        found.chunks.append(value)
        found.times.append(_arrival(reads, len(exchange.body[:end].encode())))
    return found


def _array_elements(body: str) -> tuple[list[tuple[Any, int]], str | None]:
    """The elements of a JSON array, each with the offset where it ends, and why the body is
    not one JSON array of objects (None: it is)."""
    decoder = json.JSONDecoder()
    text = body.lstrip()
    start = len(body) - len(text)
    if not text.startswith("["):
        kind = "a JSON object" if text.startswith("{") else "not a JSON array"
        return [], f"the body is {kind}, not a JSON array of GenerateContentResponse chunks"
    elements: list[tuple[Any, int]] = []
    position = start + 1
    while True:
        position = _skip(body, position)
        if body.startswith("]", position):
            tail = body[position + 1:].strip()
            return elements, (f"text after the array: {tail[:80]!r}" if tail else None)
        if elements:
            if not body.startswith(",", position):
                return elements, f"no ',' between elements at offset {position}"
            position = _skip(body, position + 1)
        try:
            value, position = decoder.raw_decode(body, position)
        except ValueError as error:
            return elements, f"element #{len(elements)} is not JSON ({error})"
        elements.append((value, position))
        if not isinstance(value, dict):
            return elements, f"element #{len(elements) - 1} is not an object: {value!r:.80}"


def _skip(body: str, position: int) -> int:
    while position < len(body) and body[position] in " \t\r\n":
        position += 1
    return position


def _read_ends(exchange: Exchange) -> list[tuple[float, int]]:
    """(time, bytes received so far) after each timed network read of the body."""
    total, ends = 0, []
    for at, size in exchange.chunk_times:
        total += size
        ends.append((at, total))
    return ends


def _arrival(reads: list[tuple[float, int]], offset: int) -> float | None:
    """When the byte at `offset` had arrived (None: after the timed reads)."""
    return next((at for at, total in reads if total >= offset), None)


def camel_case_problems(value: Any, where: str = "") -> list[str]:
    """Every snake_case key in a JSON value, with where it is (`candidates[0].finish_reason`):
    the REST API's keys are camelCase, and the SDK reads a snake_case one as absent."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            at = f"{where}.{key}" if where else key
            if "_" in key.strip("_") and key.lower() == key:
                found.append(f"{at} is snake_case (the API sends "
                             f"{_camel(key)!r}; the SDK reads {key!r} as absent)")
            if key not in _FREE_FORM:
                found += camel_case_problems(item, at)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            found += camel_case_problems(item, f"{where}[{n}]")
    return found


# Objects whose keys are the user's, not the API's (a function call's arguments).
_FREE_FORM = frozenset({"args", "response"})


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.capitalize() for word in rest)
