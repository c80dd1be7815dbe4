"""Chat Completions, streamed: the text a client assembles from the content deltas.

A client shows each `delta.content` as it comes and appends it to what it has: a delta must be
only the new text, and must carry whole characters. Both are judged against what the same
exchange shows (its own usage, the same request not streamed), never against what a model was
asked to write.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from difflib import SequenceMatcher
from functools import partial

from conformance import plan, schemas, tokens
from conformance.apis.openai.checks.chat import (
    DOC,
    OP,
    PATH,
    chat_body,
    delta_of,
    first_message,
    read_chat_stream,
    user_message,
)
from conformance.apis.openai.checks.chat.midstream import (
    answered_both_ways,
    intact,
    require_intact,
)
from conformance.apis.openai.checks.chat.usage import answer_tokens, streamed_usage
from conformance.apis.openai.streams import ChatStream
from conformance.check import (
    Level,
    Problems,
    check,
    expect,
    fail,
    inconclusive,
    observe,
    record,
    require_observed,
)
from conformance.http import Exchange, Request, post
from conformance.shapes import member

DELTA_SPEC = schemas.pointer(DOC, "ChatCompletionStreamResponseDelta")
SOURCE = "OpenAI API reference, chat streaming: 'partial message deltas'"

# --- each delta is new text only ---------------------------------------------------------

# Re-encoding the assembled text rarely gives the model's own token count exactly (merges across
# delta boundaries, another tokenizer behind a model alias): it may exceed the reported count by
# half and a few tokens. Text repeated by the relay is at least twice as long.
USAGE_FACTOR = 1.5
USAGE_SLACK = 3
# The cumulative shape (each delta the previous one plus more) is judged on streams with at
# least this many content deltas, and called out when most of their transitions show it: one
# such transition can happen in real text ("ha", "hah"), a run of them cannot.
MIN_CUMULATIVE_DELTAS = 3
# Removing a relay's repeats from the stream and getting exactly the non-streamed answer proves
# them only when they restate at least this many different deltas: between two runs a model may
# say one word once more ("ha", "ha"), while a relay repeats whatever it relays.
MIN_DISTINCT_REPEATS = 2
# A last delta that resends all the text before it is judged on its own (no non-streamed answer
# the stream agrees with) only when that text spans two different deltas and at least this many
# characters: a short answer may say the same thing twice.
MIN_RESENT_CHARS = 20


@check("chat.stream.deltas-append", level=Level.MUST, feature="streaming", operation=OP,
       observes="the content deltas of a stream that ran its course (against the same request "
       "not streamed, and against its own usage when the include_usage stream has one)",
       spec=f"{DELTA_SPEC}/properties/content",
       source=SOURCE + "; openai-python's stream helpers append every delta's content",
       fix="Send in each `delta.content` only the newly generated text; when the upstream sends "
           "cumulative text, send the part after what was already sent.")
def test_deltas_append(chat_completion: Exchange, chat_stream: ChatStream,
                       chat_usage_stream: ChatStream, tokenizer: tokens.Tokenizer) -> None:
    """Each `delta.content` MUST carry only the text generated since the previous delta, so that the concatenated deltas are the answer: never the text so far again, nor a delta twice."""
    require_intact(chat_stream, "the streamed text")
    answer = member(first_message(chat_completion.json_or_none()), "content")
    streams = [chat_stream]
    if intact(chat_usage_stream):  # a declined or broken one is other checks' verdict
        streams.append(chat_usage_stream)
    problems = Problems()
    judged = 0
    for stream in streams:
        found = [_cumulative_problems(stream), _repeat_problems(stream, answer)]
        if stream is chat_usage_stream:
            found.append(_usage_problems(stream, tokenizer.encoding))
        judgements = [f for f in found if f is not None]
        judged += len(judgements)
        # The shapes overlap (a cumulative stream also differs from the answer): one per stream.
        problems.items += next((f for f in judgements if f), [])
    problems.raise_if_any("content deltas repeat text the client already has",
                          expected="each delta.content holds only the new text")
    require_observed(judged, "judgements of content deltas", "the streams carried fewer "
                     f"than {MIN_CUMULATIVE_DELTAS} content deltas, no usage to count the "
                     "assembled text against and no non-streamed answer they agree with, so "
                     "there was nothing to judge")


def _content_deltas(stream: ChatStream) -> list[str]:
    """The non-empty `delta.content` strings of choice 0, in order."""
    found = []
    for _, entry in stream.choice_entries():
        content = member(delta_of(entry), "content")
        if member(entry, "index") == 0 and isinstance(content, str) and content:
            found.append(content)
    return found


def _cumulative_problems(stream: ChatStream) -> list[str] | None:
    """The cumulative shape, when most deltas restate the previous one and add to it (None: too
    few deltas to tell)."""
    deltas = _content_deltas(stream)
    if len(deltas) < MIN_CUMULATIVE_DELTAS:
        return None
    restating = [n for n in range(1, len(deltas)) if len(deltas[n]) > len(deltas[n - 1])
                 and deltas[n].startswith(deltas[n - 1])]
    record(**{f"{stream.exchange.id}_content_deltas": len(deltas),
              f"{stream.exchange.id}_restating_deltas": len(restating)})
    if len(restating) < 2 or 2 * len(restating) <= len(deltas) - 1:
        return []
    return [f"{stream.exchange.id}: {len(restating)} of {len(deltas) - 1} content deltas start "
            f"with the whole previous delta, so the client shows the text again each time: "
            f"{[deltas[n] for n in restating[:3]]}"]


def _repeat_problems(stream: ChatStream, answer: object) -> list[str] | None:
    """The stream against the same request not streamed: [] when its text is the answer, a
    problem when removing one relay's repeats gives exactly the answer; otherwise (the model
    wrote something else, or no answer to compare) the last delta alone (None: too short)."""
    deltas = _content_deltas(stream)
    if isinstance(answer, str):
        if "".join(deltas) == answer:
            return []
        for form, undo in REPEATS.items():
            text, repeated = undo(deltas)
            if text == answer and len(set(repeated)) >= MIN_DISTINCT_REPEATS:
                return [f"{stream.exchange.id}: {form} ({len(repeated)} delta(s) repeated, "
                        f"e.g. {repeated[:3]}); without the repeats the text is exactly the "
                        f"same request's non-streamed answer: {text[:120]!r}"]
        record(**{f"{stream.exchange.id}_differs": "the streamed text is not the non-streamed "
                  "answer, with or without any relay's repeats removed (the model wrote "
                  "something else, or the text changed otherwise)"})
    before = "".join(deltas[:-1])
    if len(before) < MIN_RESENT_CHARS or len(set(deltas[:-1])) < MIN_DISTINCT_REPEATS:
        return None
    if deltas[-1] != before:
        return []
    return [f"{stream.exchange.id}: the last content delta resends all {len(before)} "
            f"characters before it: {before[:120]!r}"]


def _resent(deltas: list[str]) -> tuple[str, list[str]]:
    """The text without the deltas sent again right after themselves, and those deltas."""
    again = {n for n in range(1, len(deltas)) if deltas[n] == deltas[n - 1]}
    return ("".join(d for n, d in enumerate(deltas) if n not in again),
            [deltas[n] for n in sorted(again)])


def _final_resent(deltas: list[str]) -> tuple[str, list[str]]:
    """The text without a last delta that is all the text before it, and what that repeats."""
    if len(deltas) > 1 and deltas[-1] == "".join(deltas[:-1]):
        return "".join(deltas[:-1]), deltas[:-1]
    return "".join(deltas), []


def _restated(deltas: list[str], *, whole: bool) -> tuple[str, list[str]]:
    """The text with each delta's restatement of the previous one cut off (the whole previous
    delta, or only the new text it brought), and the restated parts."""
    new, repeated = deltas[:1], []
    for n in range(1, len(deltas)):
        said = deltas[n - 1] if whole else new[-1]
        if len(deltas[n]) > len(said) and deltas[n].startswith(said):
            repeated.append(said)
            new.append(deltas[n][len(said):])
        else:
            new.append(deltas[n])
    return "".join(new), repeated


# Each relay bug that repeats streamed text, and how to undo it.
REPEATS: dict[str, Callable[[list[str]], tuple[str, list[str]]]] = {
    "content deltas are sent again right after themselves": _resent,
    "the last content delta resends all the text before it": _final_resent,
    "each content delta is the text so far": partial(_restated, whole=True),
    "each content delta restates the previous delta's new text": partial(_restated, whole=False),
}


def _usage_problems(stream: ChatStream, encoding: str | None) -> list[str] | None:
    """The assembled text against the stream's own `completion_tokens` (None: no usage to
    count against, or no tokenizer to count with)."""
    reported = answer_tokens(streamed_usage(stream))
    if encoding is None or not reported:  # a missing or zero count is chat.usage.*'s verdict
        record(usage_not_compared="no tokenizer is known for the model" if encoding is None
               else "the include_usage stream reports no completion tokens")
        return None
    text = stream.text()
    counted = tokens.count_text(text, encoding)
    limit = USAGE_FACTOR * reported + USAGE_SLACK
    record(assembled_tokens=counted, reported_answer_tokens=reported, tokenizer=encoding)
    if counted <= limit:
        return []
    return [f"{stream.exchange.id}: the concatenated deltas are {counted} tokens ({encoding}), "
            f"while the same stream's usage reports {reported} answer tokens (over "
            f"{limit:g} is text the deltas repeat): {text[:160]!r}"]


# --- whole characters --------------------------------------------------------------------

ECHO_PHRASE = "Crème brûlée, naïve café, 東京タワー 🙂🎉"


def _echo_body(model: str, **extra: object) -> dict:
    """The plain request, asking to repeat a phrase of accents, CJK and emoji (one emoji
    spans two BPE tokens, so a stream sent token by token must join them)."""
    return chat_body(model, messages=[
        {"role": "system", "content": "You are a concise assistant."},
        user_message(f"Repeat this phrase exactly, and write nothing else: {ECHO_PHRASE}"),
    ], **extra)


@plan.exchange
def chat_non_ascii(model: str) -> Request:
    return post(PATH, _echo_body(model))


@plan.exchange(read=read_chat_stream)
def chat_non_ascii_stream(model: str) -> Request:
    """`chat_non_ascii`, streamed."""
    return post(PATH, _echo_body(model, stream=True))


# Bytes 0x80-0x9F as Windows-1252 shows them (the Latin-1 reading is the C1 control itself).
_CP1252 = {bytes([b]).decode("cp1252"): b for b in range(0x80, 0xA0)
           if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}
_CONTINUATION = "[\u0080-\u00bf" + "".join(_CP1252) + "]"
# One character's UTF-8 bytes read as Latin-1 or Windows-1252: a lead byte, its continuations.
_MOJIBAKE = re.compile(f"[\u00c2-\u00df]{_CONTINUATION}|[\u00e0-\u00ef]{_CONTINUATION}{{2}}"
                       f"|[\u00f0-\u00f4]{_CONTINUATION}{{3}}")
# U+FFFD stands for bytes a decoder could not read; a lone surrogate is half of a character.
_BROKEN = re.compile("[\ufffd\ud800-\udfff]")


def garbled(text: str) -> list[str]:
    """The marks of broken UTF-8 handling in `text`: U+FFFD, lone surrogates, mojibake."""
    found = _BROKEN.findall(text)
    return found + [m for m in _MOJIBAKE.findall(text) if _reads_as_utf8(m)]


def _reads_as_utf8(sequence: str) -> bool:
    raw = bytes(_CP1252.get(c, ord(c)) for c in sequence)
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


@check("chat.stream.utf8-text", level=Level.MUST, feature="streaming", operation=OP,
       observes="non-ASCII text of one request answered both streamed and not",
       spec=f"{DELTA_SPEC}/properties/content",
       source=SOURCE + "; RFC 8259 §8.1 (JSON text is UTF-8 Unicode)",
       fix="Decode the upstream byte stream with an incremental UTF-8 decoder, so a character "
           "split across network reads is joined, never replaced by U+FFFD or decoded as Latin-1.")
def test_utf8_text(chat_non_ascii: Exchange, chat_non_ascii_stream: ChatStream) -> None:
    """Streamed content MUST carry whole characters: where its ASCII text equals the non-streamed text of the same request, none of that text's other characters lost, and no U+FFFD, lone surrogate or mojibake (UTF-8 read as Latin-1) that the non-streamed text lacks."""
    expected, streamed = answered_both_ways(chat_non_ascii, chat_non_ascii_stream)
    if not isinstance(expected, str) or expected.isascii():
        inconclusive("the non-streamed answer has no non-ASCII text (the model did not repeat "
                     "the phrase), so there is no multi-byte character to compare")
    (skeleton, characters), (streamed_skeleton, streamed_characters) = map(
        _split_ascii, (expected, streamed))
    if skeleton == streamed_skeleton:  # the same answer: its characters must be the same too
        broken, varied = _character_changes(characters, streamed_characters)
        if varied and not broken:  # '—' for '–': a model's choice, not a broken character
            record(characters_varied=varied)
            inconclusive("the streamed answer differs from the non-streamed one only in whole "
                         f"characters a model may write either way ({'; '.join(varied)}), so "
                         "none was shown broken")
        observe("non-ASCII text, streamed and not")
        expect(not broken, f"the stream loses or garbles characters of the non-streamed answer "
               f"(the ASCII text of both is the same): {'; '.join(broken)}",
               expected=expected, actual=streamed)
        return
    # The model wrote something else: only marks of broken characters tell.
    extra = Counter(garbled(streamed)) - Counter(garbled(expected))
    if not extra:
        inconclusive("the streamed answer's ASCII text differs from the non-streamed one (the "
                     "model answered differently, or the stream changed more than characters) "
                     "and it shows no broken character, so no character can be compared")
    observe("non-ASCII text, streamed and not")
    fail(f"the stream breaks characters the non-streamed answer carries whole: {dict(extra)}",
         expected=expected, actual=streamed)


def _split_ascii(text: str) -> tuple[str, str]:
    """The ASCII characters of `text`, and the others, each in order."""
    return ("".join(c for c in text if c.isascii()),
            "".join(c for c in text if not c.isascii()))


def _character_changes(expected: str, streamed: str) -> tuple[list[str], list[str]]:
    """How one sequence of characters became the other, in words: the changes that break a
    character (one lost, or replaced by a garbled mark), and the others (a whole character
    added or written differently)."""
    said = {"delete": "lost {a!r}", "insert": "added {b!r}", "replace": "{a!r} became {b!r}"}
    broken: list[str] = []
    varied: list[str] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, expected, streamed,
                                              autojunk=False).get_opcodes():
        if op != "equal":
            change = said[op].format(a=expected[i1:i2], b=streamed[j1:j2])
            lost = op == "delete" or len(garbled(streamed[j1:j2])) > 0
            (broken if lost else varied).append(change)
    return broken, varied
