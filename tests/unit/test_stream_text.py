"""Streamed text: deltas that repeat text (judged against usage and the same request not
streamed), what marks broken UTF-8 handling, and the reference gateway's whole characters."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from conformance import check as check_model
from conformance import tokens
from conformance.apis.openai.checks.chat import read_chat_stream, stream_text
from conformance.apis.openai.checks.chat.stream_text import ECHO_PHRASE, garbled
from conformance.apis.openai.streams import ChatStream
from conformance.check import CheckFailed, Inconclusive
from conformance.gateway import generation as gen
from conformance.http import Exchange
from tests.unit.chat_exchanges import answer, choice, stream


@pytest.mark.parametrize("text", [ECHO_PHRASE, "plain ASCII", "Ação, Größe, ñandú, «ok» – 1 €"])
def test_whole_text_shows_no_breakage(text: str) -> None:
    assert garbled(text) == []


@pytest.mark.parametrize(("text", "marks"), [
    ("caf\ufffd\ufffd", ["\ufffd", "\ufffd"]),  # a character cut between two deltas
    ("\ud83d and \ude42", ["\ud83d", "\ude42"]),  # an emoji cut between its UTF-16 halves
    ("café".encode().decode("latin-1"), ["Ã©"]),
    ("it’s".encode().decode("cp1252"), ["â€™"]),
    ("東".encode().decode("latin-1"), ["æ\x9d±"]),
])
def test_breakage_is_named(text: str, marks: list[str]) -> None:
    assert garbled(text) == marks


@pytest.mark.parametrize("encoding", tokens.ENCODINGS)
def test_generated_pieces_are_whole_characters(encoding: str) -> None:
    """A character the BPE splits over tokens comes whole in one piece; usage still counts
    every token."""
    generated = gen.generate(ECHO_PHRASE, encoding)
    assert generated.text == ECHO_PHRASE
    assert generated.token_count == tokens.count_text(ECHO_PHRASE, encoding)
    assert len(generated.pieces) < generated.token_count  # some character spans two tokens
    assert all(piece and "\ufffd" not in piece for piece in generated.pieces)


# --- chat.stream.deltas-append: each delta only the new text ---------------------------------

PIECES = ["An", " API", " gateway", " routes", " client", " requests", " to", " backend",
          " services", "."]
ANSWER = "".join(PIECES)
STREAMED = {"model": "m", "stream": True}
DECLINED = {"error": {"message": "stream_options is not supported", "type":
                      "invalid_request_error", "param": None, "code": None}}
O200K = tokens.Tokenizer("o200k_base", "unit test")


@pytest.fixture(autouse=True)
def running() -> Iterator[None]:
    check_model.begin(None)
    yield
    check_model.finish()


def completion(content: str | None) -> Exchange:
    return answer("chat_completion", 200, {"object": "chat.completion", "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant",
                                                          "content": content}}]})


def streamed(deltas: list[str], xid: str = "chat_stream",
             finish_content: str | None = None) -> ChatStream:
    """Content deltas as sent, then the finish chunk (carrying `finish_content`, if any)."""
    entries = choice([{"content": d} for d in deltas], "stop")
    if finish_content is not None:
        entries[-1]["delta"] = {"content": finish_content}
    return stream(xid, entries, STREAMED)


def with_usage(built: ChatStream, completion_tokens: int) -> ChatStream:
    """`built` with an include_usage chunk before its [DONE]."""
    usage = {"object": "chat.completion.chunk", "choices": [], "usage": {
        "prompt_tokens": 5, "completion_tokens": completion_tokens,
        "total_tokens": 5 + completion_tokens}}
    exchange = built.exchange
    exchange.body = exchange.body.replace("data: [DONE]",
                                          f"data: {json.dumps(usage)}\n\ndata: [DONE]")
    exchange.events = []
    return read_chat_stream(exchange)


def declined() -> ChatStream:
    return read_chat_stream(answer("chat_usage_stream", 400, DECLINED))


def judge_deltas(non_streamed: str | None, plain: ChatStream,
                 usage: ChatStream | None = None) -> None:
    stream_text.test_deltas_append(completion(non_streamed), plain, usage or declined(), O200K)


def overlapping(pieces: list[str]) -> list[str]:
    """Each delta the previous piece again, then its own (the reviewer's `overlap` relay)."""
    return [before + piece for before, piece in zip(["", *pieces[:-1]], pieces, strict=True)]


# The reviewer's relays, each with include_usage declined (no usage to count against), and the
# siblings: the answer comes back exactly once the relay's repeats are removed.
@pytest.mark.parametrize(("deltas", "finish", "form"), [
    ([p for p in PIECES for _ in range(2)], None, "sent again right after themselves"),
    (overlapping(PIECES), None, "restates the previous delta's new text"),
    (PIECES, ANSWER, "resends all the text before it"),
    # siblings: a delta resent on every third one (a relay's retried write), the text so far
    # on three deltas only (too few for the cumulative shape alone)
    ([q for n, p in enumerate(PIECES) for q in [p] * (1 + (n % 3 == 0))], None,
     "sent again right after themselves"),
    (["An", "An API", "An API gateway", *PIECES[3:]], None,
     "each content delta is the text so far"),
], ids=["doubled", "overlap", "final-repeat", "some-resent", "briefly-cumulative"])
def test_repeats_fail_against_the_non_streamed_answer(deltas: list[str], finish: str | None,
                                                      form: str) -> None:
    with pytest.raises(CheckFailed) as raised:
        judge_deltas(ANSWER, streamed(deltas, finish_content=finish))
    assert form in raised.value.actual[0]


def test_a_resent_text_fails_even_where_usage_counts_it() -> None:
    """A relay that counts usage on what it streamed agrees with its own repeated text."""
    repeated = streamed(PIECES, "chat_usage_stream", finish_content=ANSWER)
    usage = with_usage(repeated, tokens.count_text(ANSWER * 2, "o200k_base"))
    with pytest.raises(CheckFailed) as raised:
        judge_deltas(ANSWER, streamed(PIECES), usage)
    assert raised.value.actual == [
        f"chat_usage_stream: the last content delta resends all the text before it "
        f"({len(PIECES)} delta(s) repeated, e.g. {PIECES[:3]}); without the repeats the text "
        f"is exactly the same request's non-streamed answer: {ANSWER!r}"]


@pytest.mark.parametrize("non_streamed", [None, "A gateway sits in front of APIs."],
                         ids=["no-answer", "model-answered-differently"])
def test_a_resent_text_fails_on_its_own(non_streamed: str | None) -> None:
    """Without a non-streamed answer the stream agrees with, the last delta alone tells."""
    with pytest.raises(CheckFailed) as raised:
        judge_deltas(non_streamed, streamed(PIECES, finish_content=ANSWER))
    assert raised.value.actual == [f"chat_stream: the last content delta resends all "
                                   f"{len(ANSWER)} characters before it: {ANSWER!r}"]


# A model may say a word twice, or once more in one run than in the other: no relay did that.
@pytest.mark.parametrize(("deltas", "non_streamed"), [
    (["ha", "ha"], "haha"),
    (["Ha", " ha", " ha", "!"], "Ha ha ha!"),
    (["Ha", " ha", " ha", "!"], "Ha ha!"),  # one laugh more when streamed
    ([*PIECES[:3], " gateway", *PIECES[3:]], ANSWER),  # a stutter in the streamed run
    (["Ha", " ha", "Ha ha"], "Ha haHa ha"),  # said again when not streamed too
    (["Ha", " ha", "Ha ha"], None),  # nothing to compare: under the length floor
    (["Ha", " ha", "Ha ha"], "Ha!"),  # the model answered differently: the same
])
def test_a_model_repeating_itself_does_not_fail(deltas: list[str],
                                                non_streamed: str | None) -> None:
    judge_deltas(non_streamed, streamed(deltas))
    assert check_model.finish().observed  # passed, on something judged


def test_a_short_repeat_with_nothing_to_compare_is_inconclusive() -> None:
    with pytest.raises(Inconclusive, match="nothing to judge"):
        judge_deltas(None, streamed(["ha", "ha"]))


def test_a_stream_that_is_the_answer_passes() -> None:
    judge_deltas(ANSWER, streamed(PIECES), with_usage(streamed(PIECES, "chat_usage_stream"), 10))
    # each stream: the cumulative shape and the non-streamed answer; the usage stream's usage
    assert check_model.finish().observed == {"judgements of content deltas": 5}


# --- chat.stream.utf8-text: whole characters --------------------------------------------------


def per_token(text: str, encoding: str) -> list[str]:
    """The reviewer's `utf8-ignore` relay: each token decoded alone, partial bytes dropped."""
    return [tokens.decode_bytes([t], encoding).decode(errors="ignore")
            for t in tokens.encode(text, encoding)]


def judge_utf8(non_streamed: str, pieces: list[str]) -> None:
    stream_text.test_utf8_text(
        answer("chat_non_ascii", 200, {"choices": [{"index": 0, "message": {
            "role": "assistant", "content": non_streamed}}]}),
        stream("chat_non_ascii_stream", choice([{"content": p} for p in pieces], "stop"),
               STREAMED))


@pytest.mark.parametrize(("pieces", "changes"), [
    (per_token(ECHO_PHRASE, "o200k_base"), "lost '🎉'"),
    (per_token(ECHO_PHRASE, "cl100k_base"), "lost '東'; lost 'ワ'; lost '🎉'"),
    ([ECHO_PHRASE.encode("ascii", "ignore").decode()], "lost 'èûéïé東京タワー🙂🎉'"),
    ([ECHO_PHRASE.encode("latin-1", "ignore").decode("latin-1")], "lost '東京タワー🙂🎉'"),
    ([ECHO_PHRASE.replace("🎉", "\ufffd\ufffd")], "'🎉' became '\ufffd\ufffd'"),
    ([ECHO_PHRASE.replace("é,", "Ã©,")], "'é' became 'Ã©'"),
], ids=["per-token-o200k", "per-token-cl100k", "ascii-only", "latin-1-only", "replaced",
        "mojibake"])
def test_characters_lost_or_altered_around_the_same_text_fail(pieces: list[str],
                                                              changes: str) -> None:
    with pytest.raises(CheckFailed) as raised:
        judge_utf8(ECHO_PHRASE, pieces)
    assert raised.value.message.endswith(f"(the ASCII text of both is the same): {changes}")


@pytest.mark.parametrize(("non_streamed", "streamed"), [
    (ECHO_PHRASE, ECHO_PHRASE.replace("🙂", "🙂🙂")),
    ("Tea \u2014 or coffee?", "Tea \u2013 or coffee?"),
], ids=["added", "dash-written-otherwise"])
def test_whole_characters_written_otherwise_are_a_models_choice(non_streamed: str,
                                                                 streamed: str) -> None:
    """Two runs of a model may differ in a whole character: no character was broken."""
    with pytest.raises(Inconclusive, match="a model may write either way"):
        judge_utf8(non_streamed, [streamed])


def test_the_same_characters_pass() -> None:
    judge_utf8(ECHO_PHRASE, gen.generate(ECHO_PHRASE, "o200k_base").pieces)
    assert check_model.finish().observed == {"non-ASCII text, streamed and not": 1}


def test_another_answer_is_judged_on_broken_characters_only() -> None:
    with pytest.raises(Inconclusive, match="the model answered differently"):
        judge_utf8(ECHO_PHRASE, ["Sure: ", ECHO_PHRASE.replace("🎉", "")])
    with pytest.raises(CheckFailed, match="breaks characters"):
        judge_utf8(ECHO_PHRASE, ["Sure: ", ECHO_PHRASE.replace("é", "\ufffd")])


def test_an_ascii_answer_is_inconclusive() -> None:
    with pytest.raises(Inconclusive, match="no non-ASCII text"):
        judge_utf8("I am a fixed reply.", ["I am", " a fixed reply."])
