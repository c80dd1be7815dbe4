"""Chat Completions, streamed: the `chat.completion.chunk` objects and their order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from typing import Any

from conformance import schemas
from conformance.check import Level, Problems, check, expect, inconclusive, observe
from conformance.checks.chat import DOC, OP
from conformance.checks.chat.midstream import judged_chunks, parts_of, require_intact
from conformance.preconditions import require_stream
from conformance.shapes import describe, hashable, member, ordered
from conformance.streams import ChatStream

SCHEMA = "CreateChatCompletionStreamResponse"
SPEC = schemas.pointer(DOC, SCHEMA)
SOURCE = "OpenAI API reference, chat streaming (the chat completion chunk object)"


def _chunks(stream: ChatStream) -> list[dict]:
    """The chunks of a 200 stream (not a failure's report), each observed."""
    require_stream(stream.exchange)
    chunks = judged_chunks(stream)
    expect(chunks, "the stream carried no JSON chunk",
           expected="data: {...chat.completion.chunk...}", actual=stream.exchange.body[:500])
    observe("chunks", len(chunks))
    return chunks


@check("chat.chunk.schema", level=Level.MUST, feature="streaming", operation=OP, spec=SPEC,
       observes="the chunks of a stream", source=SOURCE)
def test_schema(chat_stream: ChatStream) -> None:
    """Every chunk MUST be valid against the chat.completion.chunk schema."""
    problems = Problems()
    for number, chunk in enumerate(_chunks(chat_stream)):
        for error in schemas.errors(DOC, SCHEMA, chunk, limit=3):
            problems.add(f"chunk {number}: {error}")
    problems.raise_if_any("chunks do not match the chat.completion.chunk schema",
                          expected=f"valid {SPEC}")


@check("chat.chunk.object", level=Level.MUST, feature="streaming", operation=OP,
       observes="the chunks of a stream", spec=f"{SPEC}/properties/object", source=SOURCE)
def test_object(chat_stream: ChatStream) -> None:
    """Every chunk's `object` MUST be `chat.completion.chunk`."""
    found = sorted({str(c.get("object")) for c in _chunks(chat_stream)})
    expect(found == ["chat.completion.chunk"], "a chunk's object is not chat.completion.chunk",
           expected=["chat.completion.chunk"], actual=found)


@check("chat.chunk.stable-id", level=Level.MUST, feature="streaming", operation=OP,
       observes="the chunks of a stream", spec=f"{SPEC}/properties/id",
       source=SOURCE + ": 'Each chunk has the same ID'")
def test_stable_identity(chat_stream: ChatStream) -> None:
    """Every chunk of one stream MUST carry the same `id`, `created` and `model`."""
    chunks = _chunks(chat_stream)
    problems = Problems()
    for field in ("id", "created", "model"):
        values = list(dict.fromkeys(c.get(field) for c in chunks))
        problems.expect(len(values) == 1, f"{field} takes {len(values)} values: {values[:5]}")
    problems.raise_if_any("chunk identity changes mid-stream", expected="one id/created/model")


def _choices(chunks: list[dict], problems: Problems) -> list[tuple[int, Hashable, dict]]:
    """(chunk number, index, choice) of every choice object; any other shape is a problem."""
    found = []
    for number, chunk in enumerate(chunks):
        entries = chunk.get("choices")
        if entries is not None and not isinstance(entries, list):
            problems.add(f"chunk {number}: choices is {describe(entries)}, expected an array")
            continue
        for entry in entries or []:
            if isinstance(entry, dict):
                found.append((number, hashable(entry.get("index", -1)), entry))
            else:
                problems.add(f"chunk {number}: a choice is {describe(entry)}, not a choice "
                             "object")
    return found


@check("chat.chunk.first-role", level=Level.MUST, feature="streaming", operation=OP,
       observes="the deltas of each streamed choice", spec=f"{SPEC}/properties/choices",
       source=SOURCE + " and recorded OpenAI streams")
def test_first_role(chat_stream: ChatStream) -> None:
    """Each choice's first delta MUST carry `role: "assistant"` and later deltas MUST NOT repeat it."""
    chunks = _chunks(chat_stream)
    if parts_of(chat_stream).invalid:  # a lost chunk may be the one that carried the role
        inconclusive("a chunk's data is not JSON, so which delta came first cannot be told "
                     "(chat.stream.data-json fails the stream)")
    problems = Problems()
    deltas: dict[Hashable, list[Any]] = defaultdict(list)
    for _, index, choice in _choices(chunks, problems):
        deltas[index].append(choice.get("delta"))
    for index in ordered(deltas):
        first, *later = deltas[index]
        problems.expect(member(first, "role") == "assistant",
                        f"choice {index}: first delta is {describe(first)}, without role "
                        "'assistant'")
        repeated = sum(1 for d in later if member(d, "role") is not None)
        problems.expect(not repeated, f"choice {index}: role repeated on {repeated} later deltas")
    problems.raise_if_any("role is not sent exactly once, on the first delta")


@check("chat.chunk.finish-reason-once", level=Level.MUST, feature="streaming", operation=OP,
       observes="the chunks of a stream that ran its course", spec=f"{SPEC}/properties/choices",
       source=SOURCE)
def test_finish_reason_once(chat_stream: ChatStream) -> None:
    """Each choice MUST get exactly one non-null `finish_reason`, on its last chunk."""
    require_intact(chat_stream, "the finish_reason of each choice")
    chunks = _chunks(chat_stream)
    problems = Problems()
    reasons: dict[Hashable, list[tuple[int, object]]] = defaultdict(list)
    last_seen: dict[Hashable, int] = {}
    for number, index, choice in _choices(chunks, problems):
        last_seen[index] = number
        if choice.get("finish_reason") is not None:
            reasons[index].append((number, choice["finish_reason"]))
    for index in ordered(last_seen):
        found, last = reasons.get(index, []), last_seen[index]
        problems.expect(len(found) == 1,
                        f"choice {index}: {len(found)} chunks carry a finish_reason: {found}")
        problems.expect(not found or found[-1][0] == last,
                        f"choice {index}: finish_reason on chunk {found[-1][0] if found else '-'}"
                        f" but the choice continues until chunk {last}")
    problems.raise_if_any("finish_reason is not sent exactly once, at the end of each choice")
