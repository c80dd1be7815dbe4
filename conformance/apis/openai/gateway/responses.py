"""``/v1/responses``: create (JSON or SSE), retrieve and delete stored responses.

The request is read and validated in ``responses_request``. Faults for this endpoint live in
``RESPONSES_FAULTS`` and are checked by name where the violation happens: in the request
reader, in the response builder, in the event list, or in the framing.

The one hosted tool offered is an offline web search (``web_search``/``web_search_preview``):
it never touches the network. A declared search runs first (a ``web_search_call`` item whose
query is the user's first sentence), then the message answers it. The search costs no output
tokens; its only input cost is the tool definition, billed like any other tool.
"""

from __future__ import annotations

import copy
import functools
import time
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from conformance import tokens
from conformance.apis.openai.streams import RESPONSES_OUTPUT_DELTAS
from conformance.gateway import behaviours
from conformance.gateway import generation as gen
from conformance.gateway.context import (
    GatewayState,
    current_behaviour,
    current_fault,
    gateway_state,
)
from conformance.gateway.errors import ApiError
from conformance.gateway.fault_types import Fault, same_reason
from conformance.gateway.sse import EVENT_STREAM, data_frame, event_frame, stream_response, to_json

from .errors import envelope
from .responses_request import ResponsesRequest, read_request
from .responses_stream_faults import rewrite_events
from .validation import asks_stream

# Why a fault also changes checks it does not target (`Fault.collateral`).
_SCHEMA = "the faulty body or event breaks the schema this check validates too"
_NOT_A_RESPONSE = "a chat.completion body is not a Response: no output items to read"
_CHAT_USAGE = "usage carries the Chat names, so its Responses counts cannot be read"
_FAILED_EARLY = "every stream fails after two events: no item or terminal event to judge"


STREAM_VALIDATION_IN_STREAM = "responses-stream-validation-in-stream"
UNTYPED_KEEPALIVE = "responses-stream-untyped-keepalive"


_same = functools.partial(same_reason, "responses")


# What a stream that fails after two events leaves unjudged (whatever way it reports it).
FAILED_EARLY_COLLATERAL = _same(
    _FAILED_EARLY, "stream.closes-after-terminal", "stream.event-order", "stream.function-call",
    "stream.incremental", "stream.single-terminal", "stream.terminal-last",
    "stream.terminal-output", "stream.terminal-status", "stream.text-done-matches",
    "tools.hosted-tool", "usage.stream-input")


# Faults against the Responses contract checks (conformance/apis/openai/checks/responses); each
# is a bug seen in real gateways, applied at one place, next to the behaviour it breaks.
CONTRACT_FAULTS = (
    Fault("responses-output-item-bare", "non-stream message items lack 'id' and 'status' (a "
          "gateway that builds items from a chat message)",
          ("responses.response.output-items", "responses.response.schema"),
          collateral=_same(_SCHEMA, "generated.schema-conformance", "input.forms",
                           "response.strict-schema")
          | _same("the cut answer's message item has no status at all",
                  "incomplete.item-status")
          | _same("the stored response keeps its ids and statuses, so the created and "
                  "the retrieved bodies differ", "state.retrieve")),
    Fault("responses-null-fields-dropped", "null fields (error, incomplete_details, "
          "instructions, ...) are left out of the non-stream body (exclude_none serialisation)",
          ("responses.response.strict-schema",)),
    Fault("responses-output-text-empty", "the non-stream output_text convenience field is ''",
          ("responses.response.output-text",)),
    Fault("responses-input-parts-rejected", "message content given as input_text parts is "
          "refused with 400 (only string content is accepted)", ("responses.input.forms",)),
    Fault("responses-stream-usage-no-input", "the streamed terminal usage reports "
          "input_tokens 0", ("responses.usage.stream-input",)),
    Fault("responses-usage-overbilled", "input_tokens include a hidden 200-token system prompt "
          "the client never sent", ("responses.usage.billing",)),
    Fault("responses-stream-json-content-type", "streams are sent as application/json",
          ("responses.stream.content-type",),
          collateral=_same(
              "no event of a stream sent as application/json can be read",
              *(f"stream.{name}" for name in (
                  "closes-after-terminal", "created-first", "event-name", "event-order",
                  "event-schema", "function-call", "incremental", "sequence-contiguous",
                  "sequence-number", "sequence-order", "single-terminal", "terminal-last",
                  "terminal-output", "terminal-status", "text-done-matches")),
              "tools.hosted-tool", "usage.stream-input")),
    Fault("responses-stream-created-at-iso", "response.created / in_progress carry created_at "
          "as an ISO 8601 string", ("responses.stream.event-schema",)),
    Fault("responses-stream-no-event-lines", "stream frames carry no 'event:' line (Chat-style "
          "data-only framing)", ("responses.stream.event-name",), outcome="warn"),
    Fault("responses-stream-sequence-from-one", "sequence_number starts at 1",
          ("responses.stream.sequence-contiguous",)),
    Fault("responses-stream-args-no-done", "function_call items close without "
          "response.function_call_arguments.done", ("responses.stream.function-call",)),
    Fault("responses-stream-terminal-output-empty", "the terminal event's response.output is "
          "[] (the created snapshot's output)", ("responses.stream.terminal-output",)),
    Fault("responses-tool-choice-ignored", "a tool_choice naming a function is dropped; the "
          "model answers in text", ("responses.tools.function-call",
                                    "responses.stream.function-call"),
          collateral=_same("there is no function call to read or answer",
                           "tools.arguments-json", "tools.function-output")),
    Fault("responses-function-output-dropped", "function_call_output input items are dropped, "
          "so the upstream refuses the unanswered function_call with a 400",
          ("responses.tools.function-output",)),
    Fault("responses-parallel-calls-ignored", "parallel_tool_calls: false is not forwarded",
          ("responses.tools.parallel-calls",)),
    Fault("responses-hosted-tool-500", "a hosted tool (web_search_preview) crashes the "
          "gateway with a 500", ("responses.tools.hosted-tool",)),
    Fault("responses-hosted-tool-malformed", "web_search_call items lack 'status' (built from "
          "an upstream search result that has none)",
          ("responses.tools.hosted-tool", "responses.stream.event-schema")),
    Fault("responses-hosted-tool-events-outside-item", "the response.web_search_call.* events "
          "are sent after the search item's output_item.done (flushed once the search ended)",
          ("responses.tools.hosted-tool", "responses.stream.event-order")),
    Fault("responses-json-schema-ignored", "text.format json_schema is dropped; the answer is "
          "prose", ("responses.structured.json-schema",)),
    Fault("responses-reasoning-tokens-misreported", "reasoning_tokens is read from the wrong "
          "upstream field: 0 when the model reasoned, the whole output when it did not",
          ("responses.reasoning.tokens",)),
    Fault("responses-reasoning-effort-ignored", "the reasoning parameter is accepted on every "
          "model and silently dropped", ("responses.reasoning.effort",)),
    Fault("responses-validation-422", "invalid requests get a FastAPI-style 422 "
          "{'detail': [...]} instead of the error envelope", ("responses.errors.envelope",),
          collateral=_same("invalid requests get the 422 body too: a 4xx "
                           "other than 400, without the envelope",
                           "errors.bad-request-status", "errors.stream-validation",
                           "generated.rejects-invalid", "reasoning.effort")),
    Fault("responses-invalid-json-500", "a body that is not JSON crashes into a 500",
          ("responses.errors.bad-request-status",),
          collateral=_same("a generated body that is not a JSON object (a "
                           "bare number) crashes into the same 500",
                           "generated.rejects-invalid")),
    Fault("responses-unknown-model-routed", "an unknown model on /v1/responses is answered by "
          "the default model", ("responses.errors.unknown-model",)),
)

# Faults a check once passed without judging (issue 8): each must now fail its checks.
VERDICT_FAULTS = (
    Fault("responses-stream-refused", "`stream: true` is refused with a 400 error envelope "
          "(a gateway that only proxies non-streamed requests)", (
              *(f"responses.stream.{name}" for name in (
                  "content-type", "event-schema", "closes-after-terminal", "created-first",
                  "sequence-number", "sequence-order", "sequence-contiguous", "event-name",
                  "event-order", "text-done-matches", "function-call", "single-terminal",
                  "terminal-last", "terminal-status", "terminal-output", "failure-shape",
                  "incremental")),
              "responses.usage.stream-input"),
          collateral=_same("every stream is refused, so that refusal says "
                           "nothing about hosted tools", "tools.hosted-tool")),
    Fault("responses-stream-tool-choice-ignored", "streamed requests lose a tool_choice naming "
          "a function (only the non-stream path maps it); the stream answers in text",
          ("responses.stream.function-call",)),
    Fault("responses-hosted-tool-dropped", "hosted tools (web_search_preview) and a tool_choice "
          "forcing them are stripped before forwarding; the answer is a 200 without any search",
          ("responses.tools.hosted-tool",)),
    Fault("responses-cut-reported-completed", "an answer cut at max_output_tokens is reported "
          "'completed' (status, message item, no incomplete_details), as when a backend's "
          "length stop is mapped to completed", ("responses.incomplete.details",
                                                  "responses.incomplete.item-status")),
)

# Issue 10 (every rule reachable): one fault for each event-order rule that no other fault
# breaks, applied to the event list by responses_stream_faults.rewrite_events (the keep-alive
# in stream_frames); tests/gateway/test_reachability.py maps each rule to its fault.
_SEARCH_LIFECYCLE = "the web_search_call item's own events break it too, and this check judges them"
_NULL_USAGE = "the streamed usage is null, and this check reads it too"
STREAM_RULE_FAULTS = (
    Fault("responses-stream-no-in-progress", "the stream goes from response.created straight "
          "to the first output item, without response.in_progress",
          ("responses.stream.created-first",), outcome="warn"),
    Fault("responses-stream-in-progress-repeated", "response.in_progress is sent again before "
          "every output item (as a progress ping)", ("responses.stream.created-first",)),
    Fault("responses-stream-terminal-id-differs", "the terminal event carries the upstream's "
          "response id, not the one response.created announced",
          ("responses.stream.created-first",)),
    Fault(UNTYPED_KEEPALIVE, "a keep-alive frame `data: {}` (a payload without `type`) "
          "follows response.in_progress", ("responses.stream.event-schema",)),
    Fault("responses-stream-error-without-failed", "the stream fails after two events with an "
          "`error` event and closes without response.failed",
          ("responses.stream.failure-shape",),
          collateral=FAILED_EARLY_COLLATERAL),
    Fault("responses-stream-failed-without-error", "the stream fails after two events with "
          "`error` then response.failed whose response.error is null",
          ("responses.stream.failure-shape",),
          collateral=_same("every stream fails after two events: no item, text or answer to "
                           "judge", "stream.event-order", "stream.function-call",
                           "stream.incremental", "stream.text-done-matches",
                           "tools.hosted-tool", "usage.stream-input")),
    Fault("responses-stream-output-index-from-one", "output_index counts from 1",
          ("responses.stream.event-order",),
          collateral=_same(_SEARCH_LIFECYCLE, "tools.hosted-tool")),
    Fault("responses-stream-item-added-late", "a message's output_item.added comes after its "
          "content_part.added (the item is announced once its first part exists)",
          ("responses.stream.event-order",)),
    Fault("responses-stream-delta-item-id-wrong", "output_text deltas carry the upstream "
          "chunk id as item_id, not their message item's id",
          ("responses.stream.event-order",)),
    Fault("responses-stream-item-id-placeholder", "items are added (and streamed) under a "
          "placeholder id that output_item.done replaces with the real one",
          ("responses.stream.event-order",),
          collateral=_same(_SEARCH_LIFECYCLE, "tools.hosted-tool")),
    Fault("responses-stream-item-done-in-progress", "output_item.done carries the item with "
          "status 'in_progress' (the status it was added with)",
          ("responses.stream.event-order",),
          collateral=_same(_SEARCH_LIFECYCLE, "tools.hosted-tool")),
    Fault("responses-stream-empty-item-after-cut", "a cut answer's stream adds an empty, "
          "completed message item after the incomplete one (the length stop becomes an item)",
          ("responses.stream.event-order", "responses.incomplete.item-status")),
    Fault("responses-stream-part-index-from-one", "content_index and summary_index count "
          "from 1", ("responses.stream.event-order",)),
    Fault("responses-stream-no-text-done", "parts close without their output_text.done / "
          "reasoning_summary_text.done", ("responses.stream.event-order",)),
    Fault("responses-stream-part-done-empty", "content_part.done and "
          "reasoning_summary_part.done repeat the empty part of their `added` event",
          ("responses.stream.text-done-matches",)),
    Fault("responses-stream-no-part-done", "content parts and summary parts are never closed "
          "(no content_part.done / reasoning_summary_part.done)",
          ("responses.stream.event-order",)),
    Fault("responses-stream-item-done-without-text", "output_item.done carries message items "
          "with content [] and reasoning items with summary [] (the terminal output has them)",
          ("responses.stream.text-done-matches", "responses.stream.terminal-output")),
    Fault("responses-stream-citation-after-part", "a web-search answer's url_citation "
          "annotation.added comes after its content_part.done",
          ("responses.stream.event-order",)),
    Fault("responses-stream-args-done-empty", "function_call_arguments.done carries arguments "
          "'' (the upstream's empty last chunk)", ("responses.stream.function-call",)),
    Fault("responses-stream-args-redumped", "output_item.done and the terminal output carry "
          "function arguments re-serialised with spaces, unlike the streamed deltas",
          ("responses.stream.function-call",)),
    Fault("responses-stream-args-done-no-name", "function_call_arguments.done carries no "
          "function name", ("responses.stream.function-call",)),
    Fault("responses-stream-no-terminal", "the stream closes after its last output_item.done, "
          "without response.completed or response.incomplete",
          ("responses.stream.single-terminal",),
          collateral=_same("no stream has a terminal event, so there is none to judge",
                           "stream.closes-after-terminal", "stream.terminal-last",
                           "stream.terminal-output", "stream.terminal-status",
                           "usage.stream-input")),
    Fault("responses-stream-terminal-no-usage", "the terminal event's response.usage is null",
          ("responses.stream.terminal-output",),
          collateral=_same(_NULL_USAGE, "incomplete.max-output-tokens", "usage.field-names",
                           "usage.total", "usage.stream-input")),
    Fault("responses-stream-cut-ends-completed", "a cut answer's stream ends with "
          "response.completed (status 'completed') although its message item closed "
          "'incomplete'", ("responses.stream.terminal-status",),
          collateral=_same("the cut stream is reported completed, and this check judges the "
                           "streamed status too", "incomplete.details")),
)

RESPONSES_FAULTS = (
    Fault("responses-part-type-text", "message content parts have type 'text', not "
          "'output_text'", ("responses.response.output-text-part",),
          collateral=_same(_SCHEMA, "generated.schema-conformance", "input.forms",
                           "response.schema", "response.strict-schema",
                           "stream.event-schema")
          | _same("no output_text part holds the text to read", "response.output-text",
                  "structured.json-schema")
          | _same("output_text deltas go into a 'text' part", "stream.event-order")),
    Fault("responses-chat-body", "non-stream /v1/responses returns a chat.completion body",
          ("responses.response.object", "responses.response.schema"),
          collateral=_same(_SCHEMA, "generated.schema-conformance", "input.forms",
                           "response.output-items", "response.strict-schema",
                           "usage.field-names")
          | _same(_NOT_A_RESPONSE, "state.retrieve", "state.previous-response",
                  "structured.json-schema", "tools.function-call", "tools.arguments-json",
                  "tools.function-output", "tools.parallel-calls", "response.output-text",
                  "response.output-text-part")
          | _same(_CHAT_USAGE, "usage.billing", "usage.stream-input",
                  "incomplete.max-output-tokens")),
    Fault("responses-usage-chat-names", "usage uses prompt_tokens/completion_tokens names",
          ("responses.usage.field-names",),
          collateral=_same(_SCHEMA, "generated.schema-conformance", "input.forms",
                           "response.schema", "response.strict-schema",
                           "stream.event-schema")
          | _same(_CHAT_USAGE, "usage.billing", "usage.stream-input", "usage.total",
                  "incomplete.max-output-tokens", "state.previous-response")),
    Fault("responses-usage-total-wrong", "usage.total_tokens = input + output + 1",
          ("responses.usage.total",)),
    Fault("responses-stream-no-sequence-number", "stream events lack sequence_number",
          ("responses.stream.sequence-number",),
          collateral=_same("each event's schema requires sequence_number",
                           "stream.event-schema")),
    Fault("responses-stream-sequence-not-increasing", "sequence_number restarts at 0 for each "
          "output item", ("responses.stream.sequence-order",)),
    Fault("responses-stream-event-name-mismatch", "the SSE 'event:' of text events uses the "
          "legacy name response.text.* while data.type says response.output_text.*",
          ("responses.stream.event-name",)),
    Fault("responses-stream-no-created", "the stream starts with response.in_progress; no "
          "response.created", ("responses.stream.created-first",)),
    Fault("responses-stream-delta-after-part-done", "the last output_text.delta comes after "
          "content_part.done", ("responses.stream.event-order",
                                # output_text.done then differs from the deltas before it
                                "responses.stream.text-done-matches")),
    Fault("responses-stream-done-text-mismatch", "output_text.done text lacks the last delta",
          ("responses.stream.text-done-matches",)),
    Fault("responses-stream-two-terminal", "response.completed is sent twice",
          ("responses.stream.single-terminal",)),
    Fault("responses-stream-terminal-not-last", "the last output_item.done comes after the "
          "terminal event", ("responses.stream.terminal-last",),
          collateral=_same("the item closed after the terminal event "
                           "was not closed before it", "stream.terminal-output")),
    Fault("responses-stream-status-mismatch", "response.completed carries status "
          "'in_progress'", ("responses.stream.terminal-status",),
          collateral=_same("status 'in_progress' breaks the terminal "
                           "event's schema", "stream.event-schema")),
    Fault("responses-max-output-ignored", "max_output_tokens is ignored",
          ("responses.incomplete.max-output-tokens",),
          collateral=_same("no answer is cut, so no incomplete status "
                           "is there to judge", "incomplete.details",
                           "incomplete.item-status")),
    Fault("responses-incomplete-no-details", "an incomplete response has incomplete_details "
          "null", ("responses.incomplete.details",)),
    Fault("responses-incomplete-item-completed", "the message item of a cut answer is marked "
          "'completed'", ("responses.incomplete.item-status",)),
    Fault("responses-previous-id-ignored", "previous_response_id is ignored (no context, "
          "echoed as null)", ("responses.state.previous-response",)),
    Fault("responses-get-stored-404", "GET /responses/{id} is 404 for a stored response",
          ("responses.state.retrieve",)),
    Fault("responses-unknown-previous-200", "an unknown previous_response_id is accepted",
          ("responses.errors.unknown-previous-response",)),
    Fault("responses-function-args-not-json", "function_call arguments are a Python repr, "
          "not JSON", ("responses.tools.arguments-json",)),
    Fault("responses-stream-error-bare", "the stream fails mid-way with a bare "
          "{'error': ...} payload and no response.failed", ("responses.stream.failure-shape",),
          collateral=FAILED_EARLY_COLLATERAL),
    # Issue 10: validation errors of streamed requests come as a 4xx before any stream.
    Fault(STREAM_VALIDATION_IN_STREAM, "a streamed request that fails validation gets HTTP 200 "
          "and an event stream holding only an `error` event (the same body unstreamed gets "
          "its 400)", ("responses.errors.stream-validation",),
          collateral=_same("the reasoning stream, which the default model refuses, comes as "
                           "such a 200 stream too, and the event-order engine judges it: no "
                           "response.created, an error event not followed by response.failed",
                           "stream.created-first", "stream.failure-shape")),
    Fault("responses-stream-not-closed", "the connection stays open (idle) after the "
          "terminal event", ("responses.stream.closes-after-terminal",)),
    # Issue 10: a relay that holds the stream until the upstream ends, in one write or several.
    Fault("responses-stream-buffered", "the whole stream is buffered, then sent in one write",
          ("responses.stream.incremental",)),
    Fault("responses-stream-held", "the whole stream is held until the last token, then "
          "flushed in 4 KiB blocks, back to back (several writes within a moment)",
          ("responses.stream.incremental",)),
    *VERDICT_FAULTS,
    *CONTRACT_FAULTS,
    *STREAM_RULE_FAULTS,
    Fault("responses-500-on-wrong-type", "a wrong-typed field (e.g. temperature as a string) "
          "crashes into a 500 server_error, not a 400",
          ("responses.generated.rejects-invalid", "responses.errors.bad-request-status"),
          collateral=_same("the wrong-typed fields of the streamed invalid requests crash into "
                           "the same 500", "errors.stream-validation")),
    Fault("responses-accepts-missing-model", "a body without 'model' gets a response from a "
          "default model", ("responses.generated.rejects-invalid",
                            "responses.errors.bad-request-status")),
    Fault("responses-output-tokens-string", "usage.output_tokens is sent as a string (JSON "
          "and stream)", ("responses.generated.schema-conformance", "responses.response.schema",
                          "responses.response.strict-schema", "responses.stream.event-schema",
                          "responses.usage.total", "responses.incomplete.max-output-tokens",
                          "responses.input.forms", "responses.state.previous-response")),
)


# --- output plan --------------------------------------------------------------------------


@dataclass
class PlannedItem:
    """One output item and the pieces (one token each) its stream deltas carry."""

    item: dict[str, Any]
    pieces: tuple[str, ...]


@dataclass
class OutputPlan:
    items: list[PlannedItem]
    output_tokens: int
    reasoning_tokens: int
    truncated: bool


def _last_user_text(context: list[dict[str, Any]]) -> str:
    return gen.last_user_text(item for item in context if item.get("type") == "message")


def _functions_to_call(request: ResponsesRequest, behaviour: str) -> list[dict[str, Any]]:
    if request.input_items[-1].get("type") == "function_call_output":
        return []  # a tool result came back: answer it with text
    choice = request.tool_choice
    if not behaviours.chooses_tools(behaviour, choice):
        return []  # left to the model, which does not pick tools
    if isinstance(choice, dict) and choice["type"] != "function":
        return []  # the web search is forced
    forced = choice["name"] if isinstance(choice, dict) else None
    return gen.functions_to_call(request.function_tools, choice, forced,
                                 request.parallel_tool_calls)


def _searches_web(request: ResponsesRequest, behaviour: str) -> bool:
    """A declared web search runs unless tool_choice rules tools out or forces a function (or
    leaves it to a model that does not pick tools)."""
    choice = request.tool_choice
    if not behaviours.chooses_tools(behaviour, choice):
        return False
    forces_function = isinstance(choice, dict) and choice.get("type") == "function"
    return request.offers_web_search and choice != "none" and not forces_function


def _answer_text(request: ResponsesRequest, context: list[dict[str, Any]],
                 query: str | None, behaviour: str) -> str:
    last = request.input_items[-1]
    fixed = behaviours.ignores_instructions(behaviour)  # the wording only: JSON modes still hold
    if last.get("type") == "function_call_output" and not fixed:
        output = last.get("output")
        text = output if isinstance(output, str) else tokens.content_text(output)
        return gen.tool_result_answer(context, text)
    kind = request.text_format.get("type")
    if kind == "json_schema":
        return gen.compact_json(gen.schema_instance(request.text_format.get("schema") or {}))
    if kind == "json_object":
        return behaviours.fixed_json_object() if fixed else \
            gen.json_object_text(context, _last_user_text(context))
    if fixed:
        return behaviours.FIXED_REPLY_TEXT
    if query is not None:
        return gen.search_answer_text(context, query)
    return gen.answer_text(context, _last_user_text(context))


def plan_output(request: ResponsesRequest, context: list[dict[str, Any]], response_id: str,
                fault: str | None, behaviour: str = behaviours.OBEDIENT) -> OutputPlan:
    encoding = request.model.encoding
    budget = None if fault == "responses-max-output-ignored" else request.max_output_tokens
    items: list[PlannedItem] = []
    used = reasoning_tokens = 0
    truncated = False
    if request.model.reasoning and request.reasoning_effort != "none":
        summary = gen.generate(gen.reasoning_text(_last_user_text(context)), encoding,
                               max_tokens=budget)
        reasoning_tokens = used = summary.token_count
        items.append(PlannedItem(_reasoning_item(response_id, summary.text), summary.pieces))
    remaining = None if budget is None else budget - used
    functions = _functions_to_call(request, behaviour)
    if functions:
        calls, calls_used = gen.generate_arguments(
            functions, encoding, remaining, lambda function: _arguments_text(function, fault))
        for position, (function, arguments) in enumerate(zip(functions, calls, strict=False)):
            call_id = gen.stable_id("call_", context, function["name"], position)
            items.append(PlannedItem(
                _function_call_item(response_id, len(items), call_id, function["name"],
                                    arguments), arguments.pieces))
        used += calls_used
        truncated = calls[-1].truncated
    else:
        query = None
        if _searches_web(request, behaviour):
            # The search runs on the gateway: its item costs no output tokens.
            query = gen.search_query(_last_user_text(context))
            items.append(PlannedItem(_web_search_item(response_id, len(items), query, fault), ()))
        text = gen.generate(_answer_text(request, context, query, behaviour), encoding,
                            max_tokens=remaining)
        used += text.token_count
        truncated = text.truncated
        items.append(PlannedItem(_message_item(response_id, len(items), text, fault),
                                 text.pieces))
    if fault == "responses-cut-reported-completed":
        truncated = False  # the bug: a length stop is mapped to "completed"
    return OutputPlan(items, used, reasoning_tokens, truncated)


def _arguments_text(function: dict[str, Any], fault: str | None) -> str:
    instance = gen.default_arguments(function)
    if fault == "responses-function-args-not-json":
        return repr(instance)  # the bug: str(dict) instead of json.dumps
    return gen.compact_json(instance)


def _reasoning_item(response_id: str, summary: str) -> dict[str, Any]:
    return {
        "id": gen.stable_id("rs_", response_id, "reasoning"),
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": summary}],
    }


def _function_call_item(response_id: str, index: int, call_id: str, name: str,
                        arguments: gen.Generated) -> dict[str, Any]:
    return {
        "id": gen.stable_id("fc_", response_id, index),
        "type": "function_call",
        "status": "incomplete" if arguments.truncated else "completed",
        "call_id": call_id,
        "name": name,
        "arguments": arguments.text,
    }


def _web_search_item(response_id: str, index: int, query: str,
                     fault: str | None) -> dict[str, Any]:
    item = {
        "id": gen.stable_id("ws_", response_id, index),
        "type": "web_search_call",
        "status": "completed",
        "action": {"type": "search", "query": query},
    }
    if fault == "responses-hosted-tool-malformed":
        del item["status"]
    return item


def _message_item(response_id: str, index: int, text: gen.Generated,
                  fault: str | None) -> dict[str, Any]:
    cut = text.truncated and fault not in ("responses-incomplete-item-completed",
                                           "responses-cut-reported-completed")
    part_type = "text" if fault == "responses-part-type-text" else "output_text"
    return {
        "id": gen.stable_id("msg_", response_id, index),
        "type": "message",
        "status": "incomplete" if cut else "completed",
        "role": "assistant",
        "content": [{"type": part_type, "text": text.text, "annotations": [], "logprobs": []}],
    }


# --- response object ----------------------------------------------------------------------

HIDDEN_PROMPT_TOKENS = 200  # the system prompt responses-usage-overbilled bills


def _reported_reasoning(plan: OutputPlan, fault: str | None) -> int:
    if fault == "responses-reasoning-tokens-misreported":
        return 0 if plan.reasoning_tokens else plan.output_tokens
    return plan.reasoning_tokens


def usage_json(input_tokens: int, plan: OutputPlan, fault: str | None) -> dict[str, Any]:
    input_tokens += HIDDEN_PROMPT_TOKENS if fault == "responses-usage-overbilled" else 0
    total = input_tokens + plan.output_tokens
    if fault == "responses-usage-total-wrong":
        total += 1
    if fault == "responses-usage-chat-names":
        return {"prompt_tokens": input_tokens, "completion_tokens": plan.output_tokens,
                "total_tokens": total}
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": str(plan.output_tokens) if fault == "responses-output-tokens-string"
        else plan.output_tokens,
        "output_tokens_details": {"reasoning_tokens": _reported_reasoning(plan, fault)},
        "total_tokens": total,
    }


def output_text(output: list[dict[str, Any]]) -> str:
    return "".join(
        part.get("text", "")
        for item in output if item.get("type") == "message"
        for part in item["content"] if part.get("type") in ("output_text", "text")
    )


def response_json(response_id: str, created_at: int, request: ResponsesRequest,
                  plan: OutputPlan, input_tokens: int, previous_id: str | None,
                  fault: str | None) -> dict[str, Any]:
    incomplete = plan.truncated
    details = {"reason": "max_output_tokens"} if incomplete else None
    if fault == "responses-incomplete-no-details":
        details = None
    output = [p.item for p in plan.items]
    body: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": "incomplete" if incomplete else "completed",
        "background": False,
        "error": None,
        "incomplete_details": details,
        "instructions": request.instructions,
        "max_output_tokens": request.max_output_tokens,
        "max_tool_calls": None,
        "model": request.model.id,
        "output": output,
        "parallel_tool_calls": request.parallel_tool_calls,
        "previous_response_id": previous_id,
        "reasoning": _reasoning_echo(request),
        "service_tier": "default",
        "store": request.store,
        "temperature": request.temperature,
        "text": {"format": request.text_format, "verbosity": request.verbosity},
        "tool_choice": request.tool_choice,
        "tools": request.tools,
        "top_logprobs": 0,
        "top_p": request.top_p,
        "truncation": request.truncation,
        "usage": usage_json(input_tokens, plan, fault),
        "user": request.user,
        "metadata": request.metadata,
        "output_text": output_text(output),
    }
    if not incomplete:
        body["completed_at"] = created_at
    if request.user is None:
        del body["user"]  # the schema types it as a string: omit rather than send null
    return body


def _reasoning_echo(request: ResponsesRequest) -> dict[str, Any]:
    if not request.model.reasoning:
        return {"effort": None, "summary": None}
    return {"effort": request.reasoning_effort or "medium", "summary": request.reasoning_summary}


def chat_shaped_body(response: dict[str, Any], plan: OutputPlan) -> dict[str, Any]:
    """What a gateway that proxies /responses to /chat/completions wrongly returns."""
    usage = response["usage"]
    return {
        "id": "chatcmpl-" + response["id"].removeprefix("resp_"),
        "object": "chat.completion",
        "created": response["created_at"],
        "model": response["model"],
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": response["output_text"], "refusal": None},
            "logprobs": None,
            "finish_reason": "length" if plan.truncated else "stop",
        }],
        "usage": {"prompt_tokens": usage["input_tokens"],
                  "completion_tokens": usage["output_tokens"],
                  "total_tokens": usage["total_tokens"]},
    }


def _body_faults(body: dict[str, Any], fault: str | None) -> dict[str, Any]:
    """The non-stream body as a faulty gateway serialises it."""
    if fault == "responses-null-fields-dropped":
        return {key: value for key, value in body.items() if value is not None}
    if fault == "responses-output-text-empty":
        return {**body, "output_text": ""}
    if fault == "responses-output-item-bare":
        bare = [{k: v for k, v in item.items() if k not in ("id", "status")}
                if item["type"] == "message" else item for item in body["output"]]
        return {**body, "output": bare}
    return body


# --- stream -------------------------------------------------------------------------------


def _item_events(index: int, planned: PlannedItem, fault: str | None) -> list[dict[str, Any]]:
    item = planned.item
    if item["type"] == "reasoning":
        return _reasoning_events(index, planned)
    if item["type"] == "function_call":
        return _function_call_events(index, planned)
    if item["type"] == "web_search_call":
        return _web_search_events(index, planned, fault)
    return _message_events(index, planned, fault)


def _message_events(index: int, planned: PlannedItem, fault: str | None) -> list[dict]:
    item = planned.item
    where = {"item_id": item["id"], "output_index": index}
    part = item["content"][0]
    empty_part = {**part, "text": ""}
    text = part["text"]
    done_text = text
    if fault == "responses-stream-done-text-mismatch":
        done_text = "".join(planned.pieces[:-1]) if len(planned.pieces) > 1 else text + " "
    deltas = [
        {"type": "response.output_text.delta", **where, "content_index": 0, "delta": piece,
         "logprobs": []}
        for piece in planned.pieces
    ]
    events = [
        {"type": "response.output_item.added", "output_index": index,
         "item": {**item, "status": "in_progress", "content": []}},
        {"type": "response.content_part.added", **where, "content_index": 0,
         "part": empty_part},
        *deltas,
        {"type": "response.output_text.done", **where, "content_index": 0, "text": done_text,
         "logprobs": []},
        {"type": "response.content_part.done", **where, "content_index": 0, "part": part},
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]
    if fault == "responses-stream-delta-after-part-done" and deltas:
        last = events.pop(next(i for i, e in enumerate(events) if e is deltas[-1]))
        events.insert(len(events) - 1, last)  # after content_part.done, before item done
    return events


def _function_call_events(index: int, planned: PlannedItem) -> list[dict]:
    item = planned.item
    where = {"item_id": item["id"], "output_index": index}
    return [
        {"type": "response.output_item.added", "output_index": index,
         "item": {**item, "arguments": "", "status": "in_progress"}},
        *({"type": "response.function_call_arguments.delta", **where, "delta": piece}
          for piece in planned.pieces),
        {"type": "response.function_call_arguments.done", **where, "name": item["name"],
         "arguments": item["arguments"]},
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def _web_search_events(index: int, planned: PlannedItem, fault: str | None) -> list[dict]:
    """added -> in_progress -> searching -> completed -> done, all on the search item."""
    item = planned.item
    where = {"item_id": item["id"], "output_index": index}
    # A malformed item (no status) stays malformed while in progress too.
    running = {**item, "status": "in_progress"} if "status" in item else item
    progress = [{"type": f"response.web_search_call.{stage}", **where}
                for stage in ("in_progress", "searching", "completed")]
    added = {"type": "response.output_item.added", "output_index": index, "item": running}
    done = {"type": "response.output_item.done", "output_index": index, "item": item}
    if fault == "responses-hosted-tool-events-outside-item":
        return [added, done, *progress]
    return [added, *progress, done]


def _reasoning_events(index: int, planned: PlannedItem) -> list[dict]:
    item = planned.item
    where = {"item_id": item["id"], "output_index": index, "summary_index": 0}
    summary = item["summary"][0]
    return [
        {"type": "response.output_item.added", "output_index": index,
         "item": {**item, "summary": []}},
        {"type": "response.reasoning_summary_part.added", **where,
         "part": {**summary, "text": ""}},
        *({"type": "response.reasoning_summary_text.delta", **where, "delta": piece}
          for piece in planned.pieces),
        {"type": "response.reasoning_summary_text.done", **where, "text": summary["text"]},
        {"type": "response.reasoning_summary_part.done", **where, "part": summary},
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def stream_events(response: dict[str, Any], plan: OutputPlan, fault: str | None) -> list[dict]:
    snapshot = {**response, "status": "in_progress", "output": [], "usage": None,
                "incomplete_details": None, "output_text": ""}
    snapshot.pop("completed_at", None)
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": snapshot},
        {"type": "response.in_progress", "response": snapshot},
    ]
    for index, planned in enumerate(plan.items):
        events.extend(_item_events(index, planned, fault))
    terminal_type = "response.completed" if response["status"] == "completed" else \
        "response.incomplete"
    events.append({"type": terminal_type, "response": response})
    events = _event_order_faults(_event_content_faults(events, fault), fault)
    events = rewrite_events(events, fault)
    _number_events(events, fault)
    return events


def _event_content_faults(events: list[dict], fault: str | None) -> list[dict]:
    """Faults that drop an event or change what one carries."""
    if fault == "responses-stream-args-no-done":
        return [e for e in events if e["type"] != "response.function_call_arguments.done"]
    if fault == "responses-stream-created-at-iso":
        for event in events[:2]:
            created = time.gmtime(event["response"]["created_at"])
            event["response"] = {**event["response"],
                                 "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", created)}
    terminal = events[-1]
    if fault == "responses-stream-usage-no-input":
        usage = dict(terminal["response"]["usage"])
        usage["input_tokens"], usage["total_tokens"] = 0, usage["output_tokens"]
        terminal["response"] = {**terminal["response"], "usage": usage}
    if fault == "responses-stream-terminal-output-empty":
        terminal["response"] = {**terminal["response"], "output": []}
    if fault == "responses-stream-status-mismatch":
        terminal["response"] = {**terminal["response"], "status": "in_progress"}
    return events


def _event_order_faults(events: list[dict], fault: str | None) -> list[dict]:
    """Faults that drop, repeat or move whole events."""
    if fault == "responses-stream-no-created":
        events = events[1:]
    if fault == "responses-stream-two-terminal":
        events.append(copy.deepcopy(events[-1]))
    if fault == "responses-stream-terminal-not-last":
        last_item_done = max(i for i, e in enumerate(events)
                             if e["type"] == "response.output_item.done")
        events.append(events.pop(last_item_done))
    return events


def _number_events(events: list[dict], fault: str | None) -> None:
    sequence = 1 if fault == "responses-stream-sequence-from-one" else 0
    for event in events:
        if fault == "responses-stream-sequence-not-increasing" and \
                event["type"] == "response.output_item.added":
            sequence = 0  # the bug: a counter per output item instead of per response
        if fault != "responses-stream-no-sequence-number":
            event["sequence_number"] = sequence
        sequence += 1


def _event_name(event_type: str, fault: str | None) -> str:
    if fault == "responses-stream-event-name-mismatch" and \
            event_type.startswith("response.output_text."):
        return event_type.replace("response.output_text.", "response.text.")
    return event_type


def stream_frames(events: list[dict], fault: str | None) -> list[bytes]:
    if fault == "responses-stream-error-bare":
        error = ApiError(500, "The upstream model failed mid-stream.", type="server_error")
        return [event_frame(e["type"], to_json(e)) for e in events[:2]] + [
            data_frame(to_json(envelope(error)))]
    if fault == "responses-stream-no-event-lines":
        return [data_frame(to_json(e)) for e in events]  # Chat-style data-only frames
    frames = [event_frame(_event_name(e["type"], fault), to_json(e)) for e in events]
    if fault == UNTYPED_KEEPALIVE:
        frames.insert(2, data_frame("{}"))  # a proxy's idle ping, sent as a payload
    return frames


# --- handlers -----------------------------------------------------------------------------


def _previous_record(state: GatewayState, request: ResponsesRequest,
                     fault: str | None) -> dict[str, Any] | None:
    previous_id = request.previous_response_id
    if previous_id is None:
        return None
    record = state.store.get(previous_id)
    if record is None and fault != "responses-unknown-previous-200":
        raise ApiError(404, f"Previous response with id '{previous_id}' not found.",
                       param="previous_response_id", code="previous_response_not_found")
    if fault == "responses-previous-id-ignored":
        return None
    return record


# responses-stream-held flushes the held stream in blocks of this size: a few writes, so that
# the embedded gateway, sharing the interpreter with the suite, hands it over within a moment.
HELD_BLOCK_BYTES = 4096


def _send_stream(events: list[dict], state: GatewayState, fault: str | None) -> Response:
    frames = stream_frames(events, fault)
    media_type = "application/json" if fault == "responses-stream-json-content-type" else \
        EVENT_STREAM
    if fault == "responses-stream-buffered":  # the bug: the relay collects the whole stream first
        return stream_response([b"".join(frames)], state, media_type=media_type)
    if fault == "responses-stream-held":  # the bug: held to the end, then flushed in blocks
        whole = b"".join(frames)
        blocks = [whole[n:n + HELD_BLOCK_BYTES] for n in range(0, len(whole), HELD_BLOCK_BYTES)]
        return stream_response(blocks, state, media_type=media_type, burst=True)
    hang_after = len(frames) if fault == "responses-stream-not-closed" else None
    return stream_response(frames, state, hang_after=hang_after, media_type=media_type,
                           first_token_frame=_first_token_frame(frames))


def _first_token_frame(frames: list[bytes]) -> int | None:
    """The frame of the first output delta (found in the frames: a fault may add frames)."""
    marks = [f'"type":"{kind}"'.encode() for kind in RESPONSES_OUTPUT_DELTAS]
    return next((n for n, frame in enumerate(frames) if any(m in frame for m in marks)), None)


async def create_response(request: Request) -> Response:
    fault = current_fault(request)
    state = gateway_state(request)
    raw = await request.body()
    try:
        parsed = read_request(raw, fault)
    except ApiError as error:
        if fault == STREAM_VALIDATION_IN_STREAM and 400 <= error.status < 500 and \
                asks_stream(raw):  # the bug: the stream was opened before validation
            event = {"type": "error", "code": error.code, "message": error.message,
                     "param": error.param, "sequence_number": 0}
            return stream_response([event_frame("error", to_json(event))], state)
        raise
    previous = _previous_record(state, parsed, fault)
    context = (previous["context"] if previous else []) + parsed.input_items
    previous_id = None if fault == "responses-previous-id-ignored" else \
        parsed.previous_response_id
    response_id = f"resp_{uuid.uuid4().hex}"
    plan = plan_output(parsed, context, response_id, fault, current_behaviour(request))
    input_tokens = tokens.count_responses_input(context, parsed.model.encoding,
                                                parsed.instructions, parsed.tools)
    body = response_json(response_id, int(time.time()), parsed, plan, input_tokens,
                         previous_id, fault)
    if parsed.store:
        # The next turn's context: everything so far plus this turn's visible output.
        next_context = context + [p.item for p in plan.items if p.item["type"] != "reasoning"]
        state.store.put(response_id, {"response": body, "context": next_context})
    if parsed.stream:
        return _send_stream(stream_events(body, plan, fault), state, fault)
    if fault == "responses-chat-body":
        return JSONResponse(chat_shaped_body(body, plan))
    return JSONResponse(_body_faults(body, fault))


def _not_found(response_id: str) -> ApiError:
    return ApiError(404, f"Response with id '{response_id}' not found.", param="response_id",
                    code="not_found")


async def retrieve_response(request: Request) -> Response:
    response_id = request.path_params["response_id"]
    record = gateway_state(request).store.get(response_id)
    if record is None or current_fault(request) == "responses-get-stored-404":
        raise _not_found(response_id)
    return JSONResponse(record["response"])


async def delete_response(request: Request) -> Response:
    response_id = request.path_params["response_id"]
    if not gateway_state(request).store.delete(response_id):
        raise _not_found(response_id)
    return JSONResponse({"id": response_id, "object": "response.deleted", "deleted": True})
