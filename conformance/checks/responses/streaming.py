"""Responses, streamed: SSE framing, per-event schemas and how the stream ends."""

from __future__ import annotations

from typing import Any

from conformance import schemas
from conformance.check import (
    Level,
    Problems,
    check,
    observe,
    record,
    require_observed,
)
from conformance.checks.responses import (
    DOC,
    OP_CREATE,
    PATH,
    SOURCE_STREAMING,
    STREAM_SPEC,
    JudgedStreams,
    judge_rules,
    require_core_streams,
    require_stream_answer,
)
from conformance.stream_contract import stream_contract
from conformance.streams import ResponsesStream, transcript

SOURCE = SOURCE_STREAMING + "; OpenAI API reference, responses/create `stream`"


@check("responses.stream.content-type", level=Level.MUST, feature="streaming",
       observes="the Content-Type of each answered stream", operation=OP_CREATE,
       spec=STREAM_SPEC, source=SOURCE)
def test_content_type(responses_text_stream: ResponsesStream,
                      responses_function_stream: ResponsesStream,
                      responses_cut_stream: ResponsesStream,
                      responses_hosted_stream: ResponsesStream) -> None:
    """A streamed response MUST be sent with `Content-Type: text/event-stream`."""
    if responses_text_stream.exchange.status != 200:
        require_stream_answer(responses_text_stream)  # refused: a failure, streaming is core
    streams = {"text": responses_text_stream, "function call": responses_function_stream,
               "max_output_tokens cut": responses_cut_stream,
               "hosted tool": responses_hosted_stream}
    # Every answered stream: the other checks read events only from text/event-stream ones.
    answered = {label: s.exchange for label, s in streams.items() if s.exchange.status == 200}
    observe("answered streams", len(answered))
    problems = Problems()
    for label, exchange in answered.items():
        problems.expect(exchange.media_type == "text/event-stream",
                        f"{label} stream: Content-Type is "
                        f"{exchange.media_type or 'missing'!r}")
    problems.raise_if_any("streams are not sent as text/event-stream",
                          expected="text/event-stream")


@check("responses.stream.event-schema", level=Level.MUST, feature="streaming",
       observes="events in the recorded streams", operation=OP_CREATE,
       spec=f"{STREAM_SPEC}/x-sse-events", source=SOURCE)
def test_event_schema(judged_streams: JudgedStreams) -> None:
    """Every event MUST be a JSON object with a string `type`, valid against the schema of its type (`x-sse-events`); an unknown type is not a Responses event."""
    judge_rules(judged_streams, "responses.stream.event-schema",
                "stream payloads are not typed event objects")
    problems = Problems()
    for entry in judged_streams:
        for index, payload in enumerate(entry.stream.payloads):
            problems.items += [f"{entry.label} stream, {p}"
                               for p in _payload_problems(index, payload)]
    problems.raise_if_any("stream events do not match their schemas",
                          expected="each payload valid against its x-sse-events schema")


def _payload_problems(index: int, payload: Any) -> list[str]:
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        return []  # judged by the engine's event-type-present rule above
    event_type = payload["type"]
    schema = stream_contract(DOC, PATH).schema_for(payload)
    where = f"event #{index} (seq={payload.get('sequence_number', '-')}, {event_type})"
    return [f"{where}: {error}" for error in schemas.errors(DOC, schema, payload, limit=3)]


@check("responses.stream.closes-after-terminal", level=Level.MUST, feature="streaming",
       observes="streams that reached their terminal event", operation=OP_CREATE,
       spec=f"{STREAM_SPEC}/x-sse-optional-terminator", source=SOURCE
       + "; openai-python reads the stream until the server closes it (or `data: [DONE]`)")
def test_closes_after_terminal(judged_streams: JudgedStreams) -> None:
    """After the terminal event (and an optional `data: [DONE]`) the server MUST close the stream; nothing may follow `[DONE]`."""
    require_core_streams(judged_streams)
    record(done_sentinel={j.label: _sentinel_convention(j.stream) for j in judged_streams})
    problems = Problems()
    for entry in judged_streams:
        stream, exchange = entry.stream, entry.exchange
        if exchange.cut and stream.complete:
            terminal = stream.events[stream.terminal_index or 0]
            problems.add(
                f"{entry.label} stream: the terminal event {stream.terminal['type']} arrived "
                f"at {_seconds(terminal.time)}, then the server kept the connection open "
                f"until the harness cut it after {exchange.elapsed:.1f}s ({exchange.cut}); "
                "SDK clients read until the server closes, so they hang")
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


def _seconds(value: float | None) -> str:
    return "an unknown time" if value is None else f"{value:.2f}s"

