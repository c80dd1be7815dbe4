"""Responses, streamed: event order, judged by the event-order engine over every stream.

Each check owns a set of the engine's rules (`RULE_CHECKS`); it fails on the MUST rules it
owns and warns on the SHOULD ones, naming the offending event by sequence number with context.
"""

from __future__ import annotations

from conformance.apis.openai.checks.responses import (
    OP_CREATE,
    RULE_SUBJECTS,
    SOURCE_STREAMING,
    STREAM_SPEC,
    WEATHER_TOOL,
    judge_rules,
    output_types,
    require_stream_answer,
    spec,
    stream_answered,
)
from conformance.apis.openai.streams import ResponsesStream
from conformance.check import Level, check, expect, inconclusive
from conformance.http import Exchange
from conformance.preconditions import require_object
from conformance.stream_rules import JudgedStreams

SOURCE = SOURCE_STREAMING + "; openai-python ResponseStreamState (stream accumulator)"
SEQUENCE_SPEC = spec("SequenceNumber")
EVENT_SPEC = spec("ResponseStreamEvent")


def _stream_check(check_id: str, level: Level = Level.MUST, spec_pointer: str = EVENT_SPEC, *,
                  fix: str):
    """A check over the judged streams; it observes its rule group's subject (RULE_SUBJECTS)."""
    return check(check_id, level=level, feature="streaming", observes=_observes(check_id),
                 operation=OP_CREATE, spec=spec_pointer, source=SOURCE, fix=fix)


def _observes(check_id: str) -> str:
    return f"{RULE_SUBJECTS[check_id][0]} in the recorded streams"


@_stream_check("responses.stream.created-first",
               fix="Write `response.created` and then `response.in_progress` before anything else, "
                   "once each, minting the response `id` once per stream and reusing it in every "
                   "lifecycle event.")
def test_created_first(judged_streams: JudgedStreams) -> None:
    """The stream MUST open with `response.created` (then `response.in_progress`, a SHOULD), each lifecycle event once, with one `response.id` throughout."""
    judge_rules(judged_streams, "responses.stream.created-first",
                "the stream does not open with the response lifecycle events")


@_stream_check("responses.stream.sequence-number", spec_pointer=SEQUENCE_SPEC,
               fix="Add an integer `sequence_number` to every event payload you write, the ones "
                   "you synthesise included.")
def test_sequence_number(judged_streams: JudgedStreams) -> None:
    """Every event MUST carry an integer `sequence_number`."""
    judge_rules(judged_streams, "responses.stream.sequence-number",
                "events lack a sequence_number")


@_stream_check("responses.stream.sequence-order", spec_pointer=SEQUENCE_SPEC,
               fix="Assign `sequence_number` from one per-stream counter as each event is written "
                   "(renumber upstream events when you insert or reorder events), so that it only "
                   "goes up.")
def test_sequence_order(judged_streams: JudgedStreams) -> None:
    """`sequence_number` MUST strictly increase across the events of one stream."""
    judge_rules(judged_streams, "responses.stream.sequence-order",
                "sequence_number does not increase")


@_stream_check("responses.stream.sequence-contiguous", Level.SHOULD, SEQUENCE_SPEC,
               fix="Number events from one counter that starts at 0 and goes up by 1 for every "
                   "event you write, the ones you synthesise included.")
def test_sequence_contiguous(judged_streams: JudgedStreams) -> None:
    """`sequence_number` SHOULD start at 0 and go up by exactly 1 per event (as OpenAI numbers them)."""
    judge_rules(judged_streams, "responses.stream.sequence-contiguous",
                "sequence_number is not contiguous")


@_stream_check("responses.stream.event-name", spec_pointer=f"{STREAM_SPEC}/x-sse-events",
               fix="Write an `event: <type>` line before each `data:` line, with the value of the "
                   "payload's `type` (e.g. `event: response.output_text.delta`).")
def test_event_name(judged_streams: JudgedStreams) -> None:
    """Each SSE `event:` name MUST equal its payload's JSON `type`; every event SHOULD carry an `event:` line."""
    judge_rules(judged_streams, "responses.stream.event-name",
                "SSE event names do not match the payload types")


@_stream_check("responses.stream.event-order",
               fix="Send `response.output_item.added` before an item's parts and "
                   "`content_part.added` before its deltas, close each part and then its item with "
                   "their `.done` events, and number `output_index` and `content_index` from 0.")
def test_event_order(judged_streams: JudgedStreams) -> None:
    """Items and content parts MUST nest as documented: `output_item.added` → (`content_part.added` → deltas → text `.done` → `content_part.done`)* → `output_item.done`, indices counting up from 0, every event targeting an open item or part of the right type."""
    judge_rules(judged_streams, "responses.stream.event-order",
                "items, parts and deltas are out of order")


@_stream_check("responses.stream.text-done-matches",
               fix="Fill `response.output_text.done`, `content_part.done` and `output_item.done` "
                   "with the concatenation of the deltas you actually sent, not a separately built "
                   "or truncated text.")
def test_text_done_matches(judged_streams: JudgedStreams) -> None:
    """The text in `output_text.done` (and summary/refusal `.done`), in `content_part.done` and in `output_item.done` MUST equal the concatenated deltas."""
    judge_rules(judged_streams, "responses.stream.text-done-matches",
                "the final text differs from the streamed deltas")


@check("responses.stream.function-call", level=Level.MUST, feature="tools",
       observes=_observes("responses.stream.function-call"), operation=OP_CREATE,
       spec=spec("ResponseFunctionCallArgumentsDoneEvent"), source=SOURCE,
       fix="Stream a call's arguments as `response.function_call_arguments.delta` events, then one "
           "`response.function_call_arguments.done` with the `name` and the whole `arguments`, "
           "before the item's `output_item.done`.")
def test_function_call(responses_function_call: Exchange,
                       responses_function_stream: ResponsesStream,
                       judged_streams: JudgedStreams) -> None:
    """A streamed function call MUST send `function_call_arguments.delta`* then exactly one `function_call_arguments.done` (with the function `name`) before `output_item.done`, all carrying the same arguments."""
    # Tools are offered when the non-streamed forced call is answered (a clean refusal there
    # is `not_supported`); then the stream must answer too, since streaming is core.
    require_object(responses_function_call)
    require_stream_answer(responses_function_stream)
    # tool_choice names the function: the server enforces the call, so a stream without one
    # ignored tool_choice (a failure of the tools contract, not the model's choice).
    calls = RULE_SUBJECTS["responses.stream.function-call"][1](responses_function_stream)
    if not calls and not stream_answered(responses_function_stream):
        inconclusive("the function-call stream ended without a completed or incomplete "
                     "response (it failed or was cut), so no call could be expected (see "
                     "responses.stream.failure-shape and responses.stream.single-terminal)")
    expect(calls, f"tool_choice forced {WEATHER_TOOL['name']}, but the stream added no "
           "function_call item: tool_choice was ignored on the streamed request",
           expected=f"response.output_item.added with a function_call item calling "
                    f"{WEATHER_TOOL['name']}",
           actual=_item_types(responses_function_stream))
    judge_rules(judged_streams, "responses.stream.function-call",
                "the function call's argument events are inconsistent")


def _item_types(stream: ResponsesStream) -> list[object]:
    """The types of the items the stream's terminal response (or its added events) carries."""
    if stream.terminal_response is not None:
        return output_types(stream.terminal_response)
    return [p["item"].get("type") for p in stream.of_type("response.output_item.added")
            if isinstance(p.get("item"), dict)]


@_stream_check("responses.stream.single-terminal",
               fix="Send the terminal event from one place, once per stream, choosing "
                   "`response.completed`, `response.incomplete` or `response.failed` by how the "
                   "answer ended; never forward the upstream's terminal event and then send your "
                   "own.")
def test_single_terminal(judged_streams: JudgedStreams) -> None:
    """A stream MUST end with exactly one terminal event: `response.completed`, `response.incomplete` or `response.failed`."""
    judge_rules(judged_streams, "responses.stream.single-terminal",
                "the stream does not have exactly one terminal event")


@_stream_check("responses.stream.terminal-last",
               fix="Write every delta, `.done` and keep-alive event before the terminal "
                   "`response.completed`, `response.incomplete` or `response.failed` event, never "
                   "after it.")
def test_terminal_last(judged_streams: JudgedStreams) -> None:
    """The terminal event MUST be the last event of the stream: no other event may follow it."""
    judge_rules(judged_streams, "responses.stream.terminal-last",
                "events follow the terminal event")


@_stream_check("responses.stream.terminal-status",
               fix="Set the terminal event's `response.status` to match its type (`completed`, "
                   "`incomplete`, `failed`), and end with `response.incomplete` when an item was "
                   "closed `incomplete`.")
def test_terminal_status(judged_streams: JudgedStreams) -> None:
    """The terminal `response.status` MUST agree with the event type, and a stream with an `incomplete` item MUST end with `response.incomplete`."""
    judge_rules(judged_streams, "responses.stream.terminal-status",
                "the terminal status disagrees with the terminal event")


@_stream_check("responses.stream.terminal-output",
               fix="Assemble the terminal `response.output` from the items as you closed them with "
                   "`output_item.done` (not from a second upstream answer), close every added item "
                   "first, and include the final `usage`.")
def test_terminal_output(judged_streams: JudgedStreams) -> None:
    """The terminal response MUST carry `usage` and an `output` equal to the items closed by `output_item.done` (same ids, types and text, in order), every added item closed first."""
    judge_rules(judged_streams, "responses.stream.terminal-output",
                "the terminal response does not match the streamed items")


@_stream_check("responses.stream.failure-shape", spec_pointer=spec("ResponseErrorEvent"),
               fix='When the upstream fails mid-stream, write an `error` event and then '
                   '`response.failed` whose `response.error.message` gives the reason, instead of '
                   'forwarding its `{"error": ...}` body as a `data:` line.')
def test_failure_shape(judged_streams: JudgedStreams) -> None:
    """A failure after the 200 MUST arrive as an `error` event followed by `response.failed` (with `response.error.message`), never as a bare `{"error": {...}}` payload."""
    judge_rules(judged_streams, "responses.stream.failure-shape",
                "a mid-stream failure is not reported as response events")
