"""Chat Completions: log probabilities of the output tokens (`logprobs`, `top_logprobs`).

Asked for, they come with every choice as `logprobs.content`: one entry per output token, whose
bytes spell the answer. How many tokens the answer has is read from the exchange's own usage,
never guessed from its wording, and the entries are judged against the text they came with, so
any model (a fixed-reply mock included) is judged alike. A refusal's tokens
(`logprobs.refusal`) are not judged: the prompt asks nothing a model refuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance import plan, schemas
from conformance.apis.openai.checks.chat import (
    DOC,
    OP,
    PATH,
    chat_body,
    delta_of,
    message_of,
    read_chat_stream,
    require_choices,
)
from conformance.apis.openai.checks.chat.midstream import require_intact
from conformance.apis.openai.checks.chat.usage import answer_tokens, streamed_usage
from conformance.apis.openai.streams import ChatStream
from conformance.check import Level, Problems, check, inconclusive, record, require_observed, warn
from conformance.http import Exchange, Request, post
from conformance.preconditions import require_object
from conformance.shapes import describe, member

FEATURE = "logprobs"
SPEC = schemas.pointer(DOC, "ChatCompletionChoiceLogprobs")
ENTRY = "ChatCompletionTokenLogprob"
SOURCE = ("OpenAI API reference, chat/create `logprobs`, `top_logprobs` ('the maximum number of "
          "most likely tokens ... may be fewer than requested') and `choices[].logprobs`; seed "
          "003_440946b6d7473ee2.txt")
TOP = 2
EXPECTED = {"logprobs": {"content": [{"token": "str", "logprob": "<= 0", "bytes": "[0..255]|null",
                                      "top_logprobs": f"at most {TOP} entries"}],
                         "refusal": None}}


@plan.exchange
def logprobs_completion(model: str) -> Request:
    """The plain request with `logprobs: true` and `top_logprobs: 2`."""
    return post(PATH, chat_body(model, logprobs=True, top_logprobs=TOP))


@plan.exchange(read=read_chat_stream)
def logprobs_stream(model: str) -> Request:
    """The same, streamed with `include_usage`: the stream says itself how many tokens it had."""
    return post(PATH, chat_body(model, logprobs=True, top_logprobs=TOP, stream=True,
                                stream_options={"include_usage": True}))


@dataclass
class Tokens:
    """One choice's logprobs entries, each with where it was found, and the text they spell."""

    text: str | None  # None: the choice carries no text to compare with
    entries: list[tuple[str, Any]] = field(default_factory=list)


def require_refused_for_logprobs(exchange: Exchange, reference: Exchange) -> None:
    """A refusal is about logprobs (`not_supported` when clean) only when the same request
    without them got a 200; refused both ways, it answers the rest of the request, which
    other checks judge (streaming, include_usage)."""
    if exchange.ok and reference.ok and exchange.status != 200 and reference.status != 200:
        inconclusive(f"the same request without logprobs was refused too (HTTP "
                     f"{reference.status}), so this refusal says nothing about logprobs")


def entry_problems(entry: Any, top: int = TOP) -> list[str]:
    """What is wrong with one `logprobs.content` entry: its shape (schema: `token`, `logprob`
    <= 0, `bytes` 0..255 or null, `top_logprobs`), bytes that are not its token's, or more
    alternatives than requested (fewer is allowed)."""
    found = schemas.errors(DOC, ENTRY, entry)
    if found:
        return found
    alternatives = entry["top_logprobs"]
    labelled = [("", entry), *((f"top_logprobs[{n}].", alt) for n, alt in enumerate(alternatives))]
    found = [f"{where}bytes {e['bytes']} are not the UTF-8 of token {e['token']!r}"
             for where, e in labelled if not _spells(e)]
    if len(alternatives) > top:
        found.append(f"top_logprobs has {len(alternatives)} entries, more than the {top} "
                     "requested")
    return found


def _bytes(entry: dict[str, Any]) -> bytes:
    """The entry's UTF-8 as a client rebuilds it: its `bytes`, or its token's when null."""
    raw = entry["bytes"]
    # int(): JSON's 1.0 is an integer to the schema, but not to bytes()
    return entry["token"].encode() if raw is None else bytes(int(b) for b in raw)


def _spells(entry: dict[str, Any]) -> bool:
    """`bytes` are the UTF-8 of `token`, or a part of one character that no token string can
    hold (the token is then a stand-in, and only the bytes of consecutive tokens join up)."""
    try:
        return _bytes(entry).decode("utf-8") == entry["token"]
    except UnicodeDecodeError:
        return True


def spelled(entries: list[Any]) -> str:
    """The text the (well-formed) entries spell, their bytes joined."""
    return b"".join(_bytes(e) for e in entries).decode("utf-8", errors="replace")


def judge(choices: dict[str, Tokens], counted: int | None, count_source: str,
          problems: Problems) -> None:
    """Every entry well formed, each choice's entries spelling its text, as many entries in all
    as the usage gives the answer tokens; at least one entry with every alternative asked for."""
    entries = [entry for tokens in choices.values() for _, entry in tokens.entries]
    for label, tokens in choices.items():
        shapes = [f"{where}: {p}" for where, entry in tokens.entries
                  for p in entry_problems(entry)]
        problems.items += shapes
        text = None if shapes else spelled([entry for _, entry in tokens.entries])
        if text is not None and tokens.text is not None and text != tokens.text:
            problems.add(f"{label}: the tokens spell {text[:200]!r}, not the text "
                         f"{tokens.text[:200]!r}")
    record(entries=len(entries), output_tokens=counted)
    if counted is not None and len(entries) != counted:
        problems.add(f"{len(entries)} logprobs entries for the {counted} output tokens of "
                     f"{count_source}: one entry per token")
    problems.raise_if_any("the logprobs do not describe the answer's tokens", expected=EXPECTED)
    require_observed(len(entries), "logprobs entries", "the answer has no output token, so "
                     "there is no logprobs entry to judge")
    if not any(len(entry["top_logprobs"]) == TOP for entry in entries):
        warn(f"no entry carries the {TOP} top_logprobs requested: the reference allows fewer "
             "'in some cases', so fewer on every token reads as top_logprobs ignored",
             expected=TOP, actual=sorted({len(entry["top_logprobs"]) for entry in entries}))


def _no_entries(what: str, holder: dict[str, Any]) -> str:
    """Text that came without logprobs entries, and what its `logprobs` was instead."""
    shown = describe(holder["logprobs"]) if "logprobs" in holder else "absent"
    return f"{what} came with logprobs {shown}, not with a logprobs.content array"


@check("chat.logprobs.content", level=Level.MUST, feature=FEATURE, operation=OP, spec=SPEC,
       observes="the logprobs entries of a completion requested with logprobs", source=SOURCE,
       fix="Forward `logprobs` and `top_logprobs`, and return `choices[].logprobs.content` with "
           "one entry per output token: its `token`, `logprob` ≤ 0, UTF-8 `bytes` and at most "
           "`top_logprobs` alternatives.")
def test_content(logprobs_completion: Exchange, chat_completion: Exchange) -> None:
    """With `logprobs: true` and `top_logprobs: 2`, a completion MUST carry `choices[].logprobs.content`: one entry per output token (as many as `usage.completion_tokens`, reasoning tokens aside), each a `token` with its `logprob` (at most 0), its UTF-8 `bytes` and at most 2 `top_logprobs`, the entries spelling the message's content."""
    require_refused_for_logprobs(logprobs_completion, chat_completion)
    body = require_object(logprobs_completion)
    problems = Problems()
    choices: dict[str, Tokens] = {}
    for position, choice in enumerate(require_choices(body)):
        content = member(message_of(choice), "content")
        entries = member(member(choice, "logprobs"), "content")
        label = f"choices[{position}]"
        if isinstance(entries, list):
            choices[label] = Tokens(content if isinstance(content, str) else None, [
                (f"{label}.logprobs.content[{n}]", entry) for n, entry in enumerate(entries)])
        elif isinstance(content, str) and content:
            problems.add(_no_entries(f"{label}'s text", choice))
    judge(choices, answer_tokens(body.get("usage")), "usage.completion_tokens", problems)


@check("chat.logprobs.stream", level=Level.MUST, feature=FEATURE, operation=OP, spec=SPEC,
       observes="the logprobs entries of a stream requested with logprobs and include_usage",
       source=SOURCE + "; chat completion chunk `choices[].logprobs`",
       fix="Forward `logprobs` on streamed requests and attach to each chunk the "
           "`logprobs.content` entries of exactly the tokens in its `delta.content`.")
def test_stream(logprobs_stream: ChatStream, chat_usage_stream: ChatStream) -> None:
    """With `logprobs: true`, `top_logprobs: 2` and `include_usage`, every chunk whose delta carries content MUST carry `logprobs.content`, the entries of all chunks together being one per output token (as many as the usage chunk's `completion_tokens`, reasoning tokens aside), each well formed as in a completion, spelling the streamed text."""
    require_refused_for_logprobs(logprobs_stream.exchange, chat_usage_stream.exchange)
    require_intact(logprobs_stream, "the streamed logprobs")
    problems = Problems()
    choices: dict[str, Tokens] = {}
    for number, entry in logprobs_stream.choice_entries():
        index = member(entry, "index")
        tokens = choices.setdefault(f"choice {index}", Tokens(logprobs_stream.text(index)))
        content = member(delta_of(entry), "content")
        found = member(member(entry, "logprobs"), "content")
        if isinstance(found, list):
            tokens.entries += [(f"chunk {number} logprobs.content[{n}]", e)
                               for n, e in enumerate(found)]
        elif isinstance(content, str) and content:
            problems.add(_no_entries(f"chunk {number}'s delta.content {content!r}", entry))
    judge(choices, answer_tokens(streamed_usage(logprobs_stream)),
          "the usage chunk's completion_tokens", problems)
