"""Gemini, streamed: `:streamGenerateContent` in both wire forms (`?alt=sse`, as google-genai
asks, and the JSON array without `alt`), each chunk on its own, where `finishReason` goes, the
assembled text against the unstreamed answer, and delivery as the answer is generated."""

from __future__ import annotations

import itertools

from conformance import schemas
from conformance.apis.gemini.checks import (
    DOC,
    FINISH,
    OP_STREAM,
    SOURCE,
    SOURCE_STREAMING,
    GeminiStream,
    answered,
    candidates,
    path_spec,
    spec,
    text_of,
)
from conformance.check import Level, Problems, check, fail, inconclusive, observe, record
from conformance.delivery import delivery, judge_delivery
from conformance.http import Exchange
from conformance.preconditions import ignored_stream, require_object, require_success
from conformance.shapes import describe

STREAM_PATH = "/models/{model}:streamGenerateContent"
STREAM_SPEC = f"{path_spec(STREAM_PATH)}/post/responses/200/content"
SSE_SPEC = f"{STREAM_SPEC}/text~1event-stream"
ARRAY_SPEC = f"{STREAM_SPEC}/application~1json"
BOTH = "the chunks of both stream forms (?alt=sse and the JSON array)"


def _streamed(*streams: GeminiStream) -> list[GeminiStream]:
    """The streams a client could read chunks from; the SSE one (the SDK's) must have answered:
    streaming is core, so its refusal is a failure."""
    require_success(streams[0].exchange)
    readable = [s for s in streams if s.answered]
    if not readable:
        inconclusive("no stream could be read as chunks (see gemini.stream.sse and "
                     "gemini.stream.json-array)")
    return readable


@check("gemini.stream.sse", level=Level.MUST, feature="streaming", operation=OP_STREAM,
       observes="the ?alt=sse stream", spec=SSE_SPEC, source=SOURCE_STREAMING,
       fix="Answer `:streamGenerateContent?alt=sse` as `Content-Type: text/event-stream`, one "
           "`data: <GenerateContentResponse JSON>` line and a blank line per chunk (the space "
           "after `data:` included), and end by closing the connection, without `data: [DONE]`.")
def test_sse(gemini_stream_sse: GeminiStream) -> None:
    """With `?alt=sse` the answer MUST be `text/event-stream` whose events are `data: ` lines (with the space, which google-genai requires), one chunk each (judged by gemini.stream.chunks-valid), with no `[DONE]` sentinel."""
    exchange = gemini_stream_sse.exchange
    require_success(exchange)
    problems = Problems()
    if exchange.media_type != "text/event-stream":
        cause = ignored_stream(exchange)
        fail(f"Content-Type is {exchange.media_type or 'missing'!r}, not text/event-stream"
             + (": the gateway answered the streamed request with one JSON object"
                if exchange.json_or_none() is not None else ""),
             expected="text/event-stream", actual=exchange.body[:300], root_cause=cause)
    observe("SSE events", len(exchange.events))
    for deviation in exchange.deviations:
        problems.expect(not (deviation.kind == "no-space" and deviation.raw.startswith("data:")),
                        f"line {deviation.line} {deviation.raw!r}: `data:` without the space; "
                        "google-genai reads only `data: ` lines and fails on this stream")
    if gemini_stream_sse.done is not None:
        problems.add(f"event #{gemini_stream_sse.done.index} is `data: [DONE]`: Gemini streams "
                     "have no sentinel, and google-genai fails to parse it as JSON")
    if not exchange.events:
        problems.add("the stream holds no event")
    problems.raise_if_any("the ?alt=sse stream is not framed as Gemini's",
                          expected="data: <GenerateContentResponse>\\n\\n per chunk, no [DONE]")


@check("gemini.stream.json-array", level=Level.MUST, feature="streaming", operation=OP_STREAM,
       observes="the stream without alt", spec=ARRAY_SPEC, source=SOURCE_STREAMING
       + "; reference gateway-deviations.md rows 1 and 8 (new-api#4086, kgateway#10804)",
       fix="Treat `:streamGenerateContent` without `alt` as a stream too, and answer it as "
           "`application/json`: one JSON array whose elements are the GenerateContentResponse "
           "chunks, written as they are generated.")
def test_json_array(gemini_stream_array: GeminiStream) -> None:
    """Without `alt`, `:streamGenerateContent` MUST answer `application/json` with one JSON array of GenerateContentResponse chunks, not one JSON object and not SSE."""
    exchange = gemini_stream_array.exchange
    require_success(exchange)
    problems = Problems()
    problems.expect(exchange.media_type == "application/json", f"Content-Type is "
                    f"{exchange.media_type or 'missing'!r}, not application/json")
    if gemini_stream_array.broken:
        problems.add(gemini_stream_array.broken)
    elif not gemini_stream_array.chunks:
        problems.add("the array is empty: it holds no chunk")
    observe("array elements", len(gemini_stream_array.chunks))
    record(elements=len(gemini_stream_array.chunks))
    problems.raise_if_any("the stream without alt is not one JSON array of chunks",
                          expected="application/json: [GenerateContentResponse, …]")


@check("gemini.stream.chunks-valid", level=Level.MUST, feature="streaming", operation=OP_STREAM,
       observes=BOTH, spec=spec("GenerateContentResponse"), source=SOURCE_STREAMING,
       fix="Forward each chunk whole (never split a JSON object across events or truncate it) and "
           "make each a valid `GenerateContentResponse`, as the unstreamed answer is.")
def test_chunks_valid(gemini_stream_sse: GeminiStream,
                      gemini_stream_array: GeminiStream) -> None:
    """Every chunk of a stream MUST be a complete JSON object valid against `GenerateContentResponse`."""
    problems = Problems()
    for found in _streamed(gemini_stream_sse, gemini_stream_array):
        observe("chunks", len(found.chunks))
        for n, chunk in enumerate(found.chunks):
            if not isinstance(chunk, dict):
                problems.add(f"{found.form} stream, chunk #{n} is not a JSON object: "
                             f"{describe(chunk)}")
                continue
            problems.items += [f"{found.form} stream, chunk #{n}, {error}" for error in
                               schemas.errors(DOC, "GenerateContentResponse", chunk, limit=3)]
    problems.raise_if_any("stream chunks are not valid GenerateContentResponse objects",
                          expected="each chunk valid on its own")


@check("gemini.stream.finish-last", level=Level.MUST, feature="streaming", operation=OP_STREAM,
       observes="the candidates of both stream forms", spec=f"{spec('Candidate')}/properties/"
       "finishReason", source=SOURCE_STREAMING + "; reference streaming.md (chunk semantics)",
       fix="Put `finishReason` only on the last chunk of each candidate (the one the upstream's "
           "stop arrives with), and always send that chunk.")
def test_finish_last(gemini_stream_sse: GeminiStream,
                     gemini_stream_array: GeminiStream) -> None:
    """Each candidate of a stream MUST get its `finishReason` on its last chunk, and only there."""
    problems = Problems()
    for found in _streamed(gemini_stream_sse, gemini_stream_array):
        last: dict[int, int] = {}  # candidate index -> its last chunk
        finished: dict[int, list[int]] = {}  # candidate index -> chunks with finishReason
        for n, chunk in enumerate(found.responses):
            for candidate in candidates(chunk):
                index = candidate.get("index", 0)
                last[index] = n
                if FINISH in candidate:
                    finished.setdefault(index, []).append(n)
        observe("streamed candidates", len(last))
        for index, final in last.items():
            at = finished.get(index, [])
            where = f"{found.form} stream, candidate {index}"
            if not at:
                problems.add(f"{where}: no chunk has a finishReason, so the client never learns "
                             "how the answer ended")
            else:
                problems.expect(at == [final], f"{where}: finishReason on chunk(s) {at}, but "
                                f"its last chunk is #{final}")
    problems.raise_if_any("finishReason is not on each candidate's last chunk only",
                          expected="finishReason on the final chunk of each candidate")


@check("gemini.stream.text-matches", level=Level.MUST, feature="streaming", operation=OP_STREAM,
       observes="the streamed text beside the unstreamed answer to the same request",
       spec=f"{spec('Part')}/properties/text", source=SOURCE_STREAMING + "; " + SOURCE,
       fix="Send in each chunk only the text generated since the previous chunk, and every piece "
           "of it: clients join the chunks' text, so a cumulative, repeated or dropped piece "
           "corrupts the answer.")
def test_text_matches(gemini_generate: Exchange, gemini_stream_sse: GeminiStream,
                      gemini_stream_array: GeminiStream) -> None:
    """The text joined across a stream's chunks MUST equal the unstreamed answer's text for the same deterministic request (each chunk carries only the new text)."""
    reference = text_of(require_object(gemini_generate))
    problems = Problems()
    compared, differed = 0, []
    for found in _streamed(gemini_stream_sse, gemini_stream_array):
        joined, pieces = found.text(), found.pieces()
        if joined == reference:
            compared += 1
            continue
        defect = _framing_defect(pieces, reference)
        if defect:
            compared += 1
            problems.add(f"{found.form} stream: {defect}: joined {joined[:120]!r}, unstreamed "
                         f"{reference[:120]!r}", shows=found.exchange)
        else:
            differed.append(found.form)
    record(reference=reference, compared=compared, sampled_differently=differed)
    problems.raise_if_any("the streamed text is not the answer's text",
                          expected=f"the chunks' text joined: {reference[:200]!r}")
    if not compared:
        inconclusive("the streams answered differently from the unstreamed request (the model "
                     "sampled another answer), so their text could not be compared")
    observe("streams compared", compared)


def _framing_defect(pieces: list[str], reference: str) -> str | None:
    """What the chunks' text shows went wrong in the gateway, not in the model (None: the
    stream just says something else): each chunk repeating the text so far, or a chunk sent
    twice. Only these are told apart from a model that sampled another answer."""
    if len(pieces) > 1 and pieces[-1] == reference \
            and all(b.startswith(a) for a, b in itertools.pairwise(pieces)):
        return "each chunk carries the whole text so far, not only the new text"
    once = [p for n, p in enumerate(pieces) if n == 0 or p != pieces[n - 1]]
    if len(once) < len(pieces) and "".join(once) == reference:
        return "a chunk's text is sent twice in a row"
    return None


@check("gemini.stream.incremental", level=Level.SHOULD, feature="streaming",
       operation=OP_STREAM, observes="the arrival of the text chunks of both stream forms",
       spec=STREAM_SPEC, source=SOURCE_STREAMING,
       fix="Write each chunk to the client as soon as the upstream produces it (in the array form "
           "too, element by element): turn off response buffering and compression for streamed "
           "Gemini answers, in the gateway and any proxy in front of it.")
def test_incremental(gemini_generate: Exchange, gemini_stream_sse: GeminiStream,
                     gemini_stream_array: GeminiStream) -> None:
    """Output SHOULD reach the client as it is generated: in several chunks, over at least two network reads, the first at least 20 ms before the end of the stream."""
    body = answered(gemini_generate)
    if body is not None and len(text_of(body).split()) <= 1:
        inconclusive("the same request not streamed is answered in one word at most, too short "
                     "to be delivered in several chunks")
    judge_delivery([delivery(found.form, found.exchange, [
        at for chunk, at in zip(found.chunks, found.times, strict=True)
        if isinstance(chunk, dict) and text_of(chunk)])
        for found in _streamed(gemini_stream_sse, gemini_stream_array)], "text chunks")
