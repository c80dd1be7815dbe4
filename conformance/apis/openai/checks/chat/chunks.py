"""Chat Completions, streamed: the `chat.completion.chunk` objects and their order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from typing import Any

from conformance import plan, schemas
from conformance.apis.openai.checks.chat import (
    DOC,
    OP,
    PATH,
    chat_body,
    choices_of,
    read_chat_stream,
)
from conformance.apis.openai.checks.chat.midstream import (
    beyond,
    intact,
    judged_chunks,
    parts_of,
    requested_n,
    require_intact,
)
from conformance.apis.openai.checks.chat.parts import Parts
from conformance.apis.openai.streams import ChatStream
from conformance.check import Level, Problems, check, expect, inconclusive, observe, record
from conformance.http import Exchange, Request, post
from conformance.preconditions import (
    error_message,
    harness_status,
    require_clean_decline,
    require_response,
    require_stream,
)
from conformance.shapes import describe, hashable, member, ordered

SCHEMA = "CreateChatCompletionStreamResponse"
Choice = tuple[int, Hashable, dict]  # (chunk number, index, choice object)
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
       observes="the chunks of a stream", source=SOURCE,
       fix="Check every chunk you emit against `CreateChatCompletionStreamResponse` and correct "
           "the fields it reports (e.g. `choices[].delta` an object, `created` an integer).")
def test_schema(chat_stream: ChatStream) -> None:
    """Every chunk MUST be valid against the chat.completion.chunk schema."""
    problems = Problems()
    for number, chunk in enumerate(_chunks(chat_stream)):
        for error in schemas.errors(DOC, SCHEMA, chunk, limit=3):
            problems.add(f"chunk {number}: {error}")
    problems.raise_if_any("chunks do not match the chat.completion.chunk schema",
                          expected=f"valid {SPEC}")


@check("chat.chunk.object", level=Level.MUST, feature="streaming", operation=OP,
       observes="the chunks of a stream", spec=f"{SPEC}/properties/object", source=SOURCE,
       fix='Set `object: "chat.completion.chunk"` on every streamed chunk (not `chat.completion`, '
           'not left out).')
def test_object(chat_stream: ChatStream) -> None:
    """Every chunk's `object` MUST be `chat.completion.chunk`."""
    found = sorted({str(c.get("object")) for c in _chunks(chat_stream)})
    expect(found == ["chat.completion.chunk"], "a chunk's object is not chat.completion.chunk",
           expected=["chat.completion.chunk"], actual=found)


@check("chat.chunk.stable-id", level=Level.MUST, feature="streaming", operation=OP,
       observes="the chunks of a stream", spec=f"{SPEC}/properties/id",
       source=SOURCE + ": 'Each chunk has the same ID'",
       fix="Generate `id`, `created` and `model` once per stream and copy the same values onto "
           "every chunk, including the usage chunk.")
def test_stable_identity(chat_stream: ChatStream) -> None:
    """Every chunk of one stream MUST carry the same `id`, `created` and `model`."""
    chunks = _chunks(chat_stream)
    problems = Problems()
    for field in ("id", "created", "model"):
        values = list(dict.fromkeys(c.get(field) for c in chunks))
        problems.expect(len(values) == 1, f"{field} takes {len(values)} values: {values[:5]}")
    problems.raise_if_any("chunk identity changes mid-stream", expected="one id/created/model")


def _choices(chunks: list[dict], problems: Problems) -> list[Choice]:
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
       source=SOURCE + " and recorded OpenAI streams",
       fix='Put `role: "assistant"` in the first delta of each choice only, and leave it out of '
           'every later delta.')
def test_first_role(chat_stream: ChatStream) -> None:
    """Each choice's first delta MUST carry `role: "assistant"` and later deltas MUST NOT repeat it."""
    chunks = _chunks(chat_stream)
    if parts_of(chat_stream).invalid:  # a lost chunk may be the one that carried the role
        inconclusive("a chunk's data is not JSON, so which delta came first cannot be told "
                     "(chat.stream.data-json fails the stream)")
    problems = Problems()
    choices = _within_n(_choices(chunks, problems), requested_n(chat_stream))
    problems.items += _role_problems(choices)
    problems.raise_if_any("role is not sent exactly once, on the first delta")


def _within_n(choices: list[Choice], n: int) -> list[Choice]:
    """The choices but those whose integer index is beyond the n asked for: a choice that was
    never asked for is chat.chunk.choice-index's verdict, not a choice to judge."""
    return [found for found in choices if not beyond(found[2].get("index"), n)]


def _role_problems(choices: list[Choice]) -> list[str]:
    """Each choice whose role is not sent exactly once, on its first delta."""
    deltas: dict[Hashable, list[Any]] = defaultdict(list)
    for _, index, choice in choices:
        deltas[index].append(choice.get("delta"))
    problems = Problems()
    for index in ordered(deltas):
        first, *later = deltas[index]
        problems.expect(member(first, "role") == "assistant",
                        f"choice {index}: first delta is {describe(first)}, without role "
                        "'assistant'")
        repeated = sum(1 for d in later if member(d, "role") is not None)
        problems.expect(not repeated, f"choice {index}: role repeated on {repeated} later deltas")
    return problems.items


@check("chat.chunk.finish-reason-once", level=Level.MUST, feature="streaming", operation=OP,
       observes="the chunks of a stream that ran its course", spec=f"{SPEC}/properties/choices",
       source=SOURCE,
       fix="Send `finish_reason: null` on every chunk of a choice except its last, which carries "
           "the final value (`stop`, `length`, `tool_calls`) exactly once.")
def test_finish_reason_once(chat_stream: ChatStream) -> None:
    """Each choice MUST get exactly one non-null `finish_reason`, on its last chunk."""
    require_intact(chat_stream, "the finish_reason of each choice")
    chunks = _chunks(chat_stream)
    problems = Problems()
    problems.items += _finish_problems(_choices(chunks, problems))
    problems.raise_if_any("finish_reason is not sent exactly once, at the end of each choice")


def _finish_problems(choices: list[Choice]) -> list[str]:
    """Each choice whose finish_reason is not sent exactly once, on its last chunk."""
    reasons: dict[Hashable, list[tuple[int, object]]] = defaultdict(list)
    last_seen: dict[Hashable, int] = {}
    for number, index, choice in choices:
        last_seen[index] = number
        if choice.get("finish_reason") is not None:
            reasons[index].append((number, choice["finish_reason"]))
    problems = Problems()
    for index in ordered(last_seen):
        found, last = reasons.get(index, []), last_seen[index]
        problems.expect(len(found) == 1,
                        f"choice {index}: {len(found)} chunks carry a finish_reason: {found}")
        problems.expect(not found or found[-1][0] == last,
                        f"choice {index}: finish_reason on chunk {found[-1][0] if found else '-'}"
                        f" but the choice continues until chunk {last}")
    return problems.items


# --- choice indices: one stream per choice asked for ------------------------------------------


@plan.exchange(read=read_chat_stream)
def chat_two_choices_stream(model: str) -> Request:
    """`chat_two_choices`, streamed: the two choices come interleaved in one stream."""
    return post(PATH, chat_body(model, n=2, max_completion_tokens=16, stream=True))


# A client assembles each choice by its index: an index never asked for opens a choice of its
# own, and two choices on one index merge into one garbled answer with two roles and two ends.
# The n = 2 stream's roles and finish_reasons are judged only where the one-choice stream gets
# them right (otherwise they are chat.chunk.first-role's and finish-reason-once's verdicts), and
# whether both choices come only where the non-streamed n = 2 answer has both (a gateway that
# ignores n is chat.limits.n's verdict).
@check("chat.chunk.choice-index", level=Level.MUST, feature="streaming", operation=OP,
       observes="the choice indices of a stream (and of an n = 2 stream, when n is served)",
       spec=f"{SPEC}/properties/choices", source=SOURCE + "; `n` in chat/create",
       fix="Set each chunk's `choices[].index` to the choice it belongs to (0 … n-1), and with `n` "
           "> 1 give every index its own first delta with `role` and its own `finish_reason`.")
def test_choice_index(chat_stream: ChatStream, chat_two_choices_stream: ChatStream,
                      chat_two_choices: Exchange) -> None:
    """Every streamed `choices[].index` MUST be one of the `n` choices asked for (only 0 without `n`), and with `n: 2` each index MUST get its own role delta and finish_reason."""
    parts = Parts()  # the one-choice stream is judged even when the n = 2 one cannot be
    parts.problems.items += _indices_beyond_n(chat_stream, "stream")
    two = parts.judge("n = 2 stream", lambda: _served(chat_two_choices_stream))
    if two is not None:
        parts.problems.items += _indices_beyond_n(two, "n = 2 stream")
        parts.problems.items += [f"n = 2 stream: {p}" for p in
                                 _per_choice_problems(chat_stream, two, chat_two_choices)]
    parts.finish("streamed choices are not indexed by the choice they belong to",
                 expected="indices 0 .. n-1, each with one role delta and one finish_reason")


def _indices_beyond_n(stream: ChatStream, name: str) -> list[str]:
    """The integer indices of `stream` beyond the n it asked for, as one problem (an index that
    is no integer is chat.chunk.schema's verdict)."""
    n = requested_n(stream)
    choices = _choices(_chunks(stream), Problems())  # malformed choices: chat.chunk.schema's
    observe("streamed choice indices", len(choices))
    outside = [(number, choice["index"]) for number, _, choice in choices
              if beyond(choice.get("index"), n)]
    if not outside:
        return []
    return [f"{name}: {len(outside)} chunk(s) carry a choice index beyond the n = {n} asked for "
            f"(chunk, index): {outside[:8]}"]


def _served(stream: ChatStream) -> ChatStream | None:
    """The n = 2 stream, or None when the gateway declined it cleanly (n is optional: a 4xx
    with the error envelope); a 4xx without it, or anything but a 200 or a 4xx, fails."""
    exchange = stream.exchange
    require_response(exchange)
    if exchange.status is not None and 400 <= exchange.status < 500:
        harness_status(exchange)
        require_clean_decline(exchange, "n")
        record(n_two_stream=f"declined with HTTP {exchange.status} ({error_message(exchange)}): "
               "only the one-choice stream is judged")
        return None
    require_stream(exchange)
    return stream


def _per_choice_problems(one: ChatStream, two: ChatStream, plain_two: Exchange) -> list[str]:
    """Both choices present, each with one role delta and one finish_reason, where the n = 2
    stream ran its course and the rule is not already broken in the one-choice stream."""
    if not (intact(one) and intact(two)):
        record(n_two_choices="a stream did not run its course intact (the chat.stream and "
               "chat.chunk checks judge why), so the n = 2 choices are not judged one by one")
        return []
    observe("n = 2 streams judged choice by choice")
    choices = _choices(judged_chunks(two), Problems())
    found = _missing_choices(choices, plain_two)
    single = _choices(judged_chunks(one), Problems())
    for rule, problems_of in (("role", _role_problems), ("finish_reason", _finish_problems)):
        if problems_of(single):
            record(**{f"n_two_{rule}": "not judged: the one-choice stream already breaks it"})
        else:
            found += problems_of(choices)
    return found


def _missing_choices(choices: list[Choice], plain_two: Exchange) -> list[str]:
    """The choices the non-streamed n = 2 answer has and the stream never carries."""
    answered = len(choices_of(plain_two.json_or_none())) if plain_two.status == 200 else 0
    if answered != 2:
        record(n_two_presence=f"the non-streamed n = 2 answer has {answered} choice(s) "
               "(chat.limits.n's verdict), so both are not required in the stream")
        return []
    streamed = {index for _, index, _ in choices}
    return [f"choice {index} never comes, although the non-streamed n = 2 answer has it"
            for index in (0, 1) if index not in streamed]
