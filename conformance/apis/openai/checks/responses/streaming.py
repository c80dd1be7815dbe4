"""Responses, streamed: SSE framing, per-event schemas and how the stream ends."""

from __future__ import annotations

from typing import Any

from conformance import stream_rules, tokens
from conformance.apis.openai.checks.responses import (
    DOC,
    OP_CREATE,
    PATH,
    SOURCE_DOCS,
    SOURCE_STREAMING,
    STREAM_SPEC,
    judge_rules,
    message_text,
    output_items,
    require_stream_answer,
)
from conformance.apis.openai.streams import RESPONSES_OUTPUT_DELTAS, ResponsesStream
from conformance.check import (
    Level,
    Problems,
    check,
    record,
    require_observed,
)
from conformance.http import Exchange
from conformance.stream_rules import JudgedStreams
from conformance.streams import transcript

SOURCE = SOURCE_STREAMING + "; OpenAI API reference, responses/create `stream`"


@check("responses.stream.content-type", level=Level.MUST, feature="streaming",
       observes="the Content-Type of each answered stream", operation=OP_CREATE,
       spec=STREAM_SPEC, source=SOURCE,
       fix="Set the response header `Content-Type: text/event-stream` on streamed responses, "
           "whatever type the upstream sent.")
def test_content_type(responses_text_stream: ResponsesStream,
                      responses_function_stream: ResponsesStream,
                      responses_cut_stream: ResponsesStream,
                      responses_hosted_stream: ResponsesStream) -> None:
    """A streamed response MUST be sent with `Content-Type: text/event-stream`."""
    if responses_text_stream.exchange.status != 200:
        require_stream_answer(responses_text_stream)  # refused: a failure, streaming is core
    stream_rules.judge_content_type({
        "text": responses_text_stream, "function call": responses_function_stream,
        "max_output_tokens cut": responses_cut_stream, "hosted tool": responses_hosted_stream})


@check("responses.stream.event-schema", level=Level.MUST, feature="streaming",
       observes="events in the recorded streams", operation=OP_CREATE,
       spec=f"{STREAM_SPEC}/x-sse-events", source=SOURCE,
       fix="Send only documented Responses event types, each with the fields its schema requires "
           "(e.g. `item_id`, `output_index`, `content_index` and `delta` on "
           "`response.output_text.delta`).")
def test_event_schema(judged_streams: JudgedStreams) -> None:
    """Every event MUST be a JSON object with a string `type`, valid against the schema of its type (`x-sse-events`); an unknown type is not a Responses event."""
    judge_rules(judged_streams, "responses.stream.event-schema",
                "stream payloads are not typed event objects")
    stream_rules.judge_event_schemas(judged_streams, DOC, PATH, _event_name)


def _event_name(index: int, payload: dict[str, Any]) -> str:
    return f"event #{index} (seq={payload.get('sequence_number', '-')}, {payload['type']})"


@check("responses.stream.closes-after-terminal", level=Level.MUST, feature="streaming",
       observes="streams that reached their terminal event", operation=OP_CREATE,
       spec=f"{STREAM_SPEC}/x-sse-optional-terminator", source=SOURCE
       + "; openai-python reads the stream until the server closes it (or `data: [DONE]`)",
       fix="Close the response right after the terminal event (or after an optional `data: "
           "[DONE]`), instead of holding the stream open or writing further events.")
def test_closes_after_terminal(judged_streams: JudgedStreams) -> None:
    """After the terminal event (and an optional `data: [DONE]`) the server MUST close the stream; nothing may follow `[DONE]`."""
    judged_streams.required()
    record(done_sentinel={j.label: _sentinel_convention(j.stream) for j in judged_streams})
    problems = Problems()
    problems.items += stream_rules.held_open(judged_streams)
    for entry in judged_streams:
        stream = entry.stream
        problems.expect(not stream.after_done,
                        f"{entry.label} stream: {len(stream.after_done)} event(s) after "
                        f"[DONE]: {transcript(stream.after_done)[:3]}")
    problems.raise_if_any("the stream does not end after its terminal event",
                          expected="the server closes the stream after the terminal event "
                                   "(optionally after data: [DONE])")
    # How a stream ends can only be seen on a stream that reached its end.
    require_observed(sum(1 for j in judged_streams if j.stream.complete),
                     "streams that reached their terminal event",
                     "no stream sent a terminal event (see responses.stream.single-terminal)")


def _sentinel_convention(stream: ResponsesStream) -> str:
    if stream.done is not None:
        return "sends data: [DONE] after the terminal event (Open Responses convention)"
    return "ends with the terminal event, no [DONE] (OpenAI convention)"


# --- delivery ---------------------------------------------------------------------------------


@check("responses.stream.incremental", level=Level.SHOULD, feature="streaming",
       observes="the output deltas of the recorded streams, for an answer longer than one "
       "token", operation=OP_CREATE, spec=STREAM_SPEC,
       source=SOURCE_DOCS + " `stream`: 'streamed to the client as it is generated'",
       fix="Flush each event to the client as soon as the upstream produces it: turn off response "
           "buffering and compression for `text/event-stream`, in the gateway and in any proxy in "
           "front of it.")
def test_incremental(judged_streams: JudgedStreams, responses_plain: Exchange,
                     tokenizer: tokens.Tokenizer) -> None:
    """Output SHOULD reach the client as it is generated: in several deltas, over at least two network reads, the first at least 20 ms before the end of the stream."""
    stream_rules.judge_incremental(judged_streams,
                                   _text_length(responses_plain, tokenizer.encoding),
                                   RESPONSES_OUTPUT_DELTAS, "output deltas")


def _text_length(plain: Exchange, encoding: str | None) -> int | None:
    """Tokens of the plain answer (`tokens.answer_length` of its usage and its message text)."""
    body = plain.json_or_none() if plain.status == 200 else None
    if not isinstance(body, dict):
        return None
    usage = body.get("usage")
    reported = usage.get("output_tokens") if isinstance(usage, dict) else None
    text = message_text(body) if output_items(body, "message") else None
    return tokens.answer_length(reported, text, encoding)
