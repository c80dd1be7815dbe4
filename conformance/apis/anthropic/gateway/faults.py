"""Fault modes of the Messages surface, from the deviations real gateways shipped
(``../shared/reference/anthropic/gateway-deviations.md``, row numbers below).

Each hook is committed where the violation happens (``messages``, ``errors``; the rewrites of
the event list in ``stream_faults``), as for the OpenAI endpoints. ``MESSAGES_FAULTS`` names the
checks each one trips (``tests/suite/test_faults.py`` proves it both ways).
"""

from __future__ import annotations

import functools

from conformance.gateway.fault_types import Fault, same_reason

# Row 1: the stream ends after message_delta, without message_stop (Claude Code hangs).
NO_MESSAGE_STOP = "messages-stream-no-message-stop"
# Row 6: message_start reports input_tokens 0; the real count comes only in message_delta.
START_INPUT_ZERO = "messages-start-input-tokens-zero"
# Row 13: data-only frames, no `event:` lines (the official SDKs drop every frame).
NO_EVENT_LINES = "messages-stream-no-event-lines"
# An OpenAI relay's `data: [DONE]` after message_stop.
DONE_APPENDED = "messages-stream-done-appended"
# Rows 3, 8, 16: errors on /v1/messages in the OpenAI envelope.
OPENAI_SHAPED_ERRORS = "messages-error-openai-shape"
# The right envelope, but error.type invalid_request_error whatever the status (a relay that
# maps every upstream failure to one type).
ERROR_TYPE_GENERIC = "messages-error-type-generic"
# The gateway's own errors come without the request-id header (relayed answers keep it).
ERRORS_NO_REQUEST_ID = "messages-errors-no-request-id"
# Any key, or none, is let through.
AUTH_NOT_ENFORCED = "messages-auth-not-enforced"
# Only x-api-key is read: `Authorization: Bearer` (the SDK's auth_token) is refused.
AUTH_BEARER_REFUSED = "messages-auth-bearer-refused"
# A request without anthropic-version is answered as if it carried one.
VERSION_IGNORED = "messages-version-header-ignored"
# A request without anthropic-version crashes the gateway (500).
VERSION_500 = "messages-version-header-500"
# A missing max_tokens is filled in (LiteLLM's default of 4096) instead of refused.
MAX_TOKENS_DEFAULTED = "messages-max-tokens-defaulted"
# A missing max_tokens is refused with 422 (a framework's validation status), not 400.
MAX_TOKENS_422 = "messages-max-tokens-422"
# `system` must be a string: a list of text blocks is refused.
SYSTEM_BLOCKS_REFUSED = "messages-system-blocks-refused"
# A user turn's content must be a string: a list of text blocks is refused.
CONTENT_BLOCKS_REFUSED = "messages-content-blocks-refused"
# A temperature above 1 is clamped to 1 and answered, not refused.
TEMPERATURE_CLAMPED = "messages-temperature-clamped"
# A body that is not JSON crashes the gateway (500).
INVALID_JSON_500 = "messages-invalid-json-500"
# Fields a relay passes on without reading (container, inference_geo, cache_control, ...) are
# not validated: invalid values are answered.
PASSTHROUGH_UNVALIDATED = "messages-passthrough-fields-unvalidated"
# `stop_sequences: []` crashes the gateway (500: it reads the first stop sequence).
EMPTY_STOP_SEQUENCES_500 = "messages-empty-stop-sequences-500"

# Streams sent as application/json: no client reads them as events.
STREAM_JSON = "messages-stream-json-content-type"
# A block's first delta before its content_block_start (a relay that buffers the start).
BLOCK_DELTA_BEFORE_START = "messages-stream-delta-before-block-start"
# message_start after the first block opens.
START_NOT_FIRST = "messages-stream-start-not-first"
# message_delta sent twice.
MESSAGE_DELTA_TWICE = "messages-stream-message-delta-twice"
# Rows 4, 12: OpenAI finish reasons ("stop", "length") in message_delta.
STOP_REASON_OPENAI = "messages-stream-stop-reason-openai"
# The connection stays open after message_stop (clients hang until their timeout).
NOT_CLOSED = "messages-stream-not-closed"
# A relay that collects the whole stream before sending it, in one write.
STREAM_BUFFERED = "messages-stream-buffered"
# The stream says the answer was cut (max_tokens) where the same request unstreamed ended.
STOP_REASON_MAX_TOKENS = "messages-stream-stop-reason-max-tokens"
# A text_delta whose text is under another key ("Text"): valid JSON, not the documented shape.
TEXT_DELTA_CAMEL_CASE = "messages-stream-text-delta-renamed"

# --- the message, its stop reason and its tools (messages.response.*, messages.tools.*) ---
# A max_tokens cut reported as a natural end (a relay that maps every finish to end_turn),
# unstreamed; its sibling in the stream's message_delta.
CUT_AS_END_TURN = "messages-cut-reported-end-turn"
STREAM_CUT_AS_END_TURN = "messages-stream-cut-reported-end-turn"
# Row 14 (and 15): a stop-sequence hit reported as end_turn with stop_sequence null; its
# sibling, the other half of row 14: the stop string leaks into the text.
STOP_AS_END_TURN = "messages-stop-sequence-as-end-turn"
STOP_LEAKED = "messages-stop-sequence-leaked"
# Row 5: content [] while output_tokens > 0 (the same request streamed is fine); its sibling:
# a cut answer whose text block is emptied.
CONTENT_EMPTY = "messages-content-empty"
CUT_TEXT_EMPTY = "messages-cut-text-empty"
# Ids of another API: an OpenAI completion id for the message, OpenAI call ids streamed.
ID_WITHOUT_PREFIX = "messages-id-without-prefix"
STREAM_TOOL_ID_OPENAI = "messages-stream-tool-id-openai"
# Gemini's role name, and a message without its `type`.
ROLE_MODEL = "messages-role-model"
TYPE_MISSING = "messages-type-missing"
# OpenAI's service tier name ("default") copied into usage.
SERVICE_TIER_OPENAI = "messages-usage-service-tier-openai"
# A tool call's input as its JSON text (OpenAI's `arguments`), and OpenAI's finish reason.
TOOL_INPUT_STRING = "messages-tool-input-string"
TOOL_STOP_REASON_OPENAI = "messages-tool-stop-reason-openai"
# Streamed input_json_delta fragments that encode the input's JSON text as a JSON string.
STREAM_TOOL_INPUT_ENCODED = "messages-stream-tool-input-double-encoded"
# The second turn of a tool loop (a tool_result block) refused with 400.
TOOL_RESULT_REFUSED = "messages-tool-result-refused"


# --- usage, count_tokens and thinking (messages.usage.*, messages.thinking.*) -----------------
# Row 6's sibling: message_start says 1 input token (not 0, so it looks real); the real count
# comes in message_delta.
START_INPUT_ONE = "messages-start-input-tokens-one"
# Per-chunk usage forwarded as it came (row 17's other side): message_delta counts only the last
# chunk (1 token); its sibling counts everything up front in message_start and then only the
# increment since (0), so a client that replaces the count keeps 0.
OUTPUT_LAST_DELTA = "messages-stream-output-tokens-last-delta"
OUTPUT_INCREMENT = "messages-stream-output-tokens-increment"
# Counts added where they replace: message_delta's input_tokens adds message_start's to its own;
# its sibling adds message_start's output placeholder to the final output_tokens.
DELTA_INPUT_SUMMED = "messages-stream-input-tokens-summed"
OUTPUT_PLUS_START = "messages-stream-output-tokens-plus-start"
# Row 20: half the prompt reported as cache reads and still counted in input_tokens; its
# sibling: output_tokens 0 beside the text.
CACHE_IN_INPUT = "messages-usage-cache-read-in-input"
OUTPUT_ZERO = "messages-usage-output-tokens-zero"
# count_tokens that leaves the system prompt out; its sibling sends the count as a string.
COUNT_WITHOUT_SYSTEM = "messages-count-tokens-without-system"
COUNT_AS_STRING = "messages-count-tokens-string"
# A hidden 200-token system prompt billed on every answer (count_tokens is passed on without it).
HIDDEN_PROMPT_BILLED = "messages-hidden-system-prompt-billed"
HIDDEN_PROMPT_TOKENS = 200
# Rows 11-12: thinking dropped from the answer while output_tokens still counts it; its sibling
# puts the thinking block after the text.
THINKING_DROPPED = "messages-thinking-dropped"
THINKING_AFTER_TEXT = "messages-thinking-after-text"
# Row 10: streamed thinking without its signature_delta; row 4: the thinking streamed as
# thinking_delta into a text block.
SIGNATURE_MISSING = "messages-stream-signature-missing"
THINKING_IN_TEXT_BLOCK = "messages-stream-thinking-delta-in-text-block"


_same = functools.partial(same_reason, "messages")


# The usage faults' reason for the stop-reason check: it judges a cut from the usage.
CUT_BELOW_CAP = ("the cut stream's final output_tokens falls below its max_tokens, so its "
                 "max_tokens stop reason no longer matches its usage")

# Every check that reads events: none can be read from a stream that is not text/event-stream.
STREAM_READERS = ("stream.closes-after-stop", "stream.event-name", "stream.event-schema",
                  "stream.no-done", "stream.message-start", "stream.block-order",
                  "stream.message-delta",
                  "stream.message-stop", "stream.matches-message", "stream.incremental",
                  "usage.start-input-tokens", "usage.output-cumulative",
                  "usage.stream-agrees", "thinking.signature", "tools.stream-input")

MESSAGES_FAULTS: tuple[Fault, ...] = (
    Fault(STREAM_JSON, "streams are sent as application/json",
          ("messages.stream.content-type",),
          collateral=_same("no event of a stream sent as application/json can be read",
                           *STREAM_READERS)),
    Fault(NO_EVENT_LINES, "stream frames carry no 'event:' line (Chat-style data-only "
          "framing, row 13)", ("messages.stream.event-name",)),
    Fault(DONE_APPENDED, "'data: [DONE]' follows message_stop (an OpenAI relay's habit)",
          ("messages.stream.no-done",)),
    Fault(NO_MESSAGE_STOP, "the stream ends after message_delta, without message_stop (row 1)",
          ("messages.stream.message-stop",),
          collateral=_same("a stream without message_stop never completes, so no assembled "
                           "message can be compared and no end is followed by a close",
                           "stream.matches-message", "stream.closes-after-stop")),
    Fault(START_INPUT_ZERO, "message_start reports input_tokens 0, the real count comes in "
          "message_delta (row 6)", ("messages.usage.start-input-tokens",)),
    Fault(BLOCK_DELTA_BEFORE_START, "a block's first delta arrives before its "
          "content_block_start", ("messages.stream.block-order",),
          collateral=_same("the forced call's stream opens with its tool_use block, whose "
                           "first input fragment is then outside it: the rest is no JSON "
                           "object", "tools.stream-input")),
    Fault(START_NOT_FIRST, "message_start arrives after the first content_block_start",
          ("messages.stream.message-start",)),
    Fault(MESSAGE_DELTA_TWICE, "message_delta is sent twice", ("messages.stream.message-delta",)),
    Fault(STOP_REASON_OPENAI, "message_delta carries OpenAI finish reasons ('stop', 'length', "
          "'tool_calls'; rows 4, 12)", ("messages.stream.message-delta",),
          collateral=_same("the stop reason is outside MessageDelta's enum, which the "
                           "per-event schemas also judge; the streamed stop reason differs "
                           "from the unstreamed one", "stream.event-schema",
                           "stream.matches-message")
          | _same("the streamed stop reason no longer says what happened (a cut, a stop "
                  "sequence, a tool call)", "response.stop-reason", "response.stop-sequence",
                  "tools.tool-use")),
    Fault(NOT_CLOSED, "the connection stays open (idle) after message_stop",
          ("messages.stream.closes-after-stop",)),
    Fault(STREAM_BUFFERED, "the whole stream is buffered, then sent in one write",
          ("messages.stream.incremental",)),
    Fault(STOP_REASON_MAX_TOKENS, "every stream's message_delta says stop_reason "
          "'max_tokens', also where the answer ended on its own",
          ("messages.stream.matches-message",),
          collateral=_same("the streamed stop reason no longer says why the answer stopped",
                           "response.stop-reason", "response.stop-sequence")),
    Fault(TEXT_DELTA_CAMEL_CASE, "text_delta carries its text under 'Text'",
          ("messages.stream.event-schema",),
          collateral=_same("a client reads no text from the streams, which are billed for "
                           "it", "response.empty-content")),
    # --- request, headers and errors -----------------------------------------------------
    Fault(OPENAI_SHAPED_ERRORS, "errors on /v1/messages come in the OpenAI envelope "
          "(rows 3, 8, 16)", ("messages.errors.envelope",),
          collateral={**_same("its refusal (401, 404) must be the envelope of its status, "
                              "and is the OpenAI one", "request.auth-header",
                              "errors.unknown-model"),
                      **_same("the generated invalid requests are refused without the "
                              "envelope", "generated.rejects-invalid")}),
    Fault(ERROR_TYPE_GENERIC, "error.type is invalid_request_error whatever the status",
          ("messages.errors.envelope",),
          collateral=_same("its refusal (401, 404) carries the error.type of a 400",
                           "request.auth-header", "errors.unknown-model")),
    Fault(ERRORS_NO_REQUEST_ID, "the gateway's own errors carry no request-id header",
          ("messages.errors.request-id",)),
    Fault(AUTH_NOT_ENFORCED, "a wrong or missing key is let through",
          ("messages.request.auth-header",)),
    Fault(AUTH_BEARER_REFUSED, "only x-api-key is read: Authorization: Bearer is refused",
          ("messages.request.auth-header",), outcome="warn"),
    Fault(VERSION_IGNORED, "a request without anthropic-version is answered",
          ("messages.request.version-header",)),
    Fault(VERSION_500, "a request without anthropic-version gets a 500",
          ("messages.request.version-header",)),
    Fault(MAX_TOKENS_DEFAULTED, "a missing max_tokens is filled in (4096) instead of refused",
          ("messages.request.max-tokens-required",),
          collateral=_same("a generated invalid case removes the required max_tokens, and is "
                           "answered", "generated.rejects-invalid")),
    Fault(MAX_TOKENS_422, "a missing max_tokens gets 422, not 400",
          ("messages.request.max-tokens-required",), outcome="warn"),
    Fault(SYSTEM_BLOCKS_REFUSED, "`system` as a list of text blocks is refused",
          ("messages.request.system-blocks",)),
    Fault(CONTENT_BLOCKS_REFUSED, "a user turn's content as a list of text blocks is refused",
          ("messages.request.content-blocks",)),
    Fault(TEMPERATURE_CLAMPED, "a temperature above 1 is clamped and answered, not refused",
          ("messages.errors.bad-request-status",),
          collateral=_same("a generated invalid case (default seed) sets temperature 2, and "
                           "is answered", "generated.rejects-invalid")),
    Fault(INVALID_JSON_500, "a body that is not JSON gets a 500",
          ("messages.errors.bad-request-status",)),
    Fault(PASSTHROUGH_UNVALIDATED, "fields a relay passes on unread (container, "
          "inference_geo, cache_control, service_tier, output_config) are not validated",
          ("messages.generated.rejects-invalid",)),
    Fault(EMPTY_STOP_SEQUENCES_500, "`stop_sequences: []` gets a 500",
          ("messages.generated.schema-conformance",)),
    # the message, its stop reason and its tools (messages.response.*, messages.tools.*)
    Fault(CUT_AS_END_TURN, "an unstreamed answer cut at max_tokens says stop_reason "
          "'end_turn'", ("messages.response.stop-reason",)),
    Fault(STREAM_CUT_AS_END_TURN, "a streamed answer cut at max_tokens says stop_reason "
          "'end_turn' in message_delta", ("messages.response.stop-reason",)),
    Fault(STOP_AS_END_TURN, "a stop-sequence hit is reported as 'end_turn' with "
          "stop_sequence null (row 14)", ("messages.response.stop-sequence",)),
    Fault(STOP_LEAKED, "the matched stop sequence is left at the end of the text (row 14)",
          ("messages.response.stop-sequence",)),
    Fault(CONTENT_EMPTY, "an unstreamed answer that ends its turn has content [] while "
          "output_tokens > 0 (row 5)", ("messages.response.empty-content",),
          collateral={
              "messages.response.stop-sequence": "the plain answer has no text to take a "
              "stop sequence from, so the experiment is not run",
              "messages.stream.matches-message": "the stream has a text block the "
              "unstreamed answer lacks"}),
    Fault(CUT_TEXT_EMPTY, "an unstreamed answer cut at max_tokens has an empty text block",
          ("messages.response.empty-content",)),
    Fault(ID_WITHOUT_PREFIX, "unstreamed message ids are OpenAI completion ids "
          "('chatcmpl-…')", ("messages.response.id-prefix",)),
    Fault(STREAM_TOOL_ID_OPENAI, "streamed tool_use ids are OpenAI call ids ('call_…')",
          ("messages.response.id-prefix",)),
    Fault(ROLE_MODEL, "unstreamed answers say role 'model'", ("messages.response.identity",),
          collateral=_same("role is outside the schema's const, for the generated requests' "
                           "answers too", "response.schema", "generated.schema-conformance")),
    Fault(TYPE_MISSING, "unstreamed answers have no 'type'", ("messages.response.identity",),
          collateral=_same("type is required by the schema, for the generated requests' "
                           "answers too", "response.schema", "generated.schema-conformance")),
    Fault(SERVICE_TIER_OPENAI, "usage.service_tier is OpenAI's 'default'",
          ("messages.response.schema",),
          collateral=_same("the generated requests' answers break the schema alike",
                           "generated.schema-conformance")),
    Fault(TOOL_INPUT_STRING, "an unstreamed tool_use block's input is its JSON text",
          ("messages.tools.tool-use",),
          collateral=_same("input is an object in the schema", "response.schema")),
    Fault(TOOL_STOP_REASON_OPENAI, "an unstreamed tool call says stop_reason 'tool_calls'",
          ("messages.tools.tool-use",),
          collateral=_same("the stop reason is outside the schema's enum, and differs from "
                           "the streamed one", "response.schema", "stream.matches-message")),
    Fault(STREAM_TOOL_INPUT_ENCODED, "streamed input_json_delta fragments encode the input "
          "as a JSON string", ("messages.tools.stream-input",)),
    Fault(TOOL_RESULT_REFUSED, "a turn with a tool_result block is refused with 400",
          ("messages.tools.result-follow-up",)),
    # usage, count_tokens and thinking (messages.usage.*, messages.thinking.*)
    Fault(START_INPUT_ONE, "message_start reports input_tokens 1, the real count comes in "
          "message_delta", ("messages.usage.start-input-tokens",)),
    Fault(OUTPUT_LAST_DELTA, "message_delta's output_tokens counts only the last chunk (1)",
          ("messages.usage.output-cumulative",),
          collateral={**_same("the client's final output_tokens differs from the unstreamed "
                              "count of the same content", "usage.stream-agrees"),
                      **_same(CUT_BELOW_CAP, "response.stop-reason")}),
    Fault(OUTPUT_INCREMENT, "message_start counts the whole output, message_delta only the "
          "increment since (0)", ("messages.usage.output-cumulative",),
          collateral={**_same("the client's final output_tokens (0) differs from the "
                              "unstreamed count of the same content", "usage.stream-agrees"),
                      **_same(CUT_BELOW_CAP, "response.stop-reason")}),
    Fault(DELTA_INPUT_SUMMED, "message_delta's input_tokens adds message_start's count to its "
          "own", ("messages.usage.stream-agrees",)),
    Fault(OUTPUT_PLUS_START, "message_delta's output_tokens adds message_start's placeholder",
          ("messages.usage.stream-agrees",)),
    Fault(CACHE_IN_INPUT, "unstreamed usage reports half the prompt as cache reads, still "
          "counted in input_tokens (row 20)", ("messages.usage.shape",),
          collateral=_same("the prompt billed (input_tokens + cache reads) exceeds "
                           "count_tokens' count by the cache reads", "usage.count-tokens")),
    Fault(OUTPUT_ZERO, "an unstreamed answer that ends its turn reports output_tokens 0",
          ("messages.usage.shape",),
          collateral=_same("the same content streamed counts its output tokens; 0 does not "
                           "cover the thinking either", "usage.stream-agrees",
                           "thinking.blocks")),
    Fault(COUNT_WITHOUT_SYSTEM, "count_tokens leaves the system prompt out",
          ("messages.usage.count-tokens",)),
    Fault(COUNT_AS_STRING, "count_tokens sends input_tokens as a string",
          ("messages.usage.count-tokens",)),
    Fault(HIDDEN_PROMPT_BILLED, f"a hidden {HIDDEN_PROMPT_TOKENS}-token system prompt is billed "
          "on every answer", ("messages.usage.billing",),
          collateral=_same("count_tokens, passed on without the hidden prompt, no longer "
                           "matches the billed prompt", "usage.count-tokens")),
    Fault(THINKING_DROPPED, "thinking blocks are dropped from unstreamed answers (output_tokens "
          "still counts them)", ("messages.thinking.blocks",)),
    Fault(THINKING_AFTER_TEXT, "an unstreamed answer's thinking block comes after its text",
          ("messages.thinking.blocks",)),
    Fault(SIGNATURE_MISSING, "streamed thinking blocks get no signature_delta (row 10)",
          ("messages.thinking.signature",)),
    Fault(THINKING_IN_TEXT_BLOCK, "the thinking is streamed as thinking_delta into a text block "
          "(row 4)", ("messages.stream.block-order",),
          collateral=_same("no thinking block is streamed, so no signature can be judged",
                           "thinking.signature")),
)
