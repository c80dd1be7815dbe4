"""Fault modes of the Gemini surface, from the deviations real gateways shipped
(``../shared/reference/gemini/gateway-deviations.md``, row numbers below).

Each name is a hook committed where the violation happens (``errors``, ``content``,
``stream``); ``GEMINI_FAULTS`` names the checks each one trips (``tests/suite/test_faults.py``
proves it both ways). A hook whose fault is not registered yet is never active: the gateway
only serves a fault name listed there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from conformance.gateway.fault_types import Fault, same_reason


def _same(why: str, *checks: str) -> dict[str, str]:
    return same_reason("gemini", why, *checks)


class EveryOtherCheck(Mapping[str, str]):
    """Collateral of a fault that stops every request of a family but those of its own checks:
    each registered check whose id starts with `prefix`, but those it leaves `unchanged` (read
    when the suite's tests ask, once every check is loaded, so that a new check needs no
    entry here)."""

    def __init__(self, prefix: str, why: str, unchanged: tuple[str, ...]) -> None:
        self.prefix, self.why, self.unchanged = prefix, why, unchanged

    def _ids(self) -> list[str]:
        from conformance.check import REGISTRY  # the checks' registry, not the gateway's

        return sorted(i for i in REGISTRY
                      if i.startswith(self.prefix) and i not in self.unchanged)

    def __getitem__(self, check_id: str) -> str:
        if check_id not in self._ids():
            raise KeyError(check_id)
        return self.why

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids())

    def __len__(self) -> int:
        return len(self._ids())

# Rows 1, 8: `:streamGenerateContent` without `alt=sse` answered as `:generateContent` (one
# JSON object, not the streamed array).
STREAM_WITHOUT_ALT_NOT_STREAMED = "gemini-stream-without-alt-not-streamed"
# Rows 2, 12: the key is read from `?key=` and `Authorization` only: `x-goog-api-key` (the only
# way google-genai and gemini-cli send it) is refused.
GOOG_API_KEY_REFUSED = "gemini-auth-goog-api-key-refused"
# Row 10: `data: [DONE]` after the last chunk of an SSE stream (an OpenAI relay's habit).
DONE_APPENDED = "gemini-stream-done-appended"
# `data:{...}` without the space, which google-genai does not take for SSE data.
DATA_WITHOUT_SPACE = "gemini-stream-data-without-space"
# Rows 7, 18: an answer cut by maxOutputTokens says finishReason STOP.
MAX_TOKENS_AS_STOP = "gemini-max-tokens-as-stop"
# Row 15: thoughtsTokenCount dropped from usageMetadata (the total still counts the thoughts).
THOUGHTS_DROPPED = "gemini-usage-thoughts-dropped"
# Row 9: a failure answered as HTTP 200 with an empty body.
EMPTY_200_ON_FAILURE = "gemini-error-empty-200"
# Responses with snake_case keys (`usage_metadata`, `finish_reason`), which the SDK drops.
SNAKE_CASE_KEYS = "gemini-response-snake-case"
# Row 16 (reversed): finishReason in lower case (`stop`, `max_tokens`).
FINISH_REASON_LOWERCASE = "gemini-finish-reason-lowercase"
# Errors in the OpenAI envelope ({"error": {"message", "type", "param", "code"}}).
OPENAI_SHAPED_ERRORS = "gemini-errors-openai-shaped"

# --- the core checks' own faults (gemini.response/stream/generation/endpoints/auth) ---------
# The answer's content says `role: "assistant"` (an OpenAI relay's role passed through).
ROLE_ASSISTANT = "gemini-content-role-assistant"
# Each chunk of a stream gets a fresh responseId (a relay minting one per upstream event).
RESPONSE_ID_PER_CHUNK = "gemini-stream-response-id-per-chunk"
# Row 6: the first SSE chunk's JSON split across two events (truncated JSON).
CHUNK_SPLIT = "gemini-stream-chunk-split"
# Each chunk carries the whole text so far instead of the new text.
CUMULATIVE_TEXT = "gemini-stream-cumulative-text"
# finishReason STOP on every chunk, not only the last.
FINISH_ON_EVERY_CHUNK = "gemini-stream-finish-every-chunk"
# Row 14: the stream held, then written in one go.
STREAM_HELD = "gemini-stream-held"
# Row 18: generationConfig.maxOutputTokens dropped on the way upstream.
MAX_OUTPUT_TOKENS_IGNORED = "gemini-max-output-tokens-ignored"
# generationConfig.stopSequences dropped on the way upstream.
STOP_SEQUENCES_IGNORED = "gemini-stop-sequences-ignored"
# generationConfig.candidateCount dropped: one candidate whatever was asked.
CANDIDATE_COUNT_IGNORED = "gemini-candidate-count-ignored"
# temperature/topP/topK clamped into range instead of refused.
RANGES_CLAMPED = "gemini-sampling-ranges-clamped"
# responseMimeType and responseSchema dropped: JSON mode answers plain text.
JSON_MODE_IGNORED = "gemini-json-mode-ignored"
# systemInstruction turned into a `contents` turn with role `system` (which the API refuses).
SYSTEM_AS_TURN = "gemini-system-instruction-as-turn"
# Only /v1beta is routed: google-genai's default /v1 gets a 404.
V1_NOT_SERVED = "gemini-v1-not-served"
# The key is read from x-goog-api-key and Authorization only: `?key=` is refused.
QUERY_KEY_REFUSED = "gemini-auth-query-key-refused"
# The key is read from x-goog-api-key and `?key=` only: `Authorization: Bearer` is refused.
BEARER_REFUSED = "gemini-auth-bearer-refused"

# The faults of the core checks (response, stream, generation, endpoints, auth).
_CORE: tuple[Fault, ...] = (
    Fault(STREAM_WITHOUT_ALT_NOT_STREAMED, ":streamGenerateContent without alt answers one JSON "
          "object, as :generateContent would", ("gemini.stream.json-array",)),
    Fault(DONE_APPENDED, "`data: [DONE]` after the last SSE chunk", ("gemini.stream.sse",)),
    Fault(DATA_WITHOUT_SPACE, "SSE lines are `data:{...}`, without the space",
          ("gemini.stream.sse",)),
    Fault(CHUNK_SPLIT, "the first SSE chunk's JSON is cut across two events",
          ("gemini.stream.chunks-valid",)),
    Fault(CUMULATIVE_TEXT, "each chunk carries the whole text so far",
          ("gemini.stream.text-matches",)),
    Fault(FINISH_ON_EVERY_CHUNK, "finishReason STOP on every chunk, not only the last",
          ("gemini.stream.finish-last",)),
    Fault(STREAM_HELD, "the stream is held, then written in one go",
          ("gemini.stream.incremental",)),
    Fault(MAX_TOKENS_AS_STOP, "an answer cut by maxOutputTokens says finishReason STOP",
          ("gemini.response.finish-reason",)),
    Fault(FINISH_REASON_LOWERCASE, "finishReason in lower case (`stop`, `max_tokens`)",
          ("gemini.response.finish-reason",),
          collateral=_same("the FinishReason enum is part of the response schema",
                           "response.schema", "stream.chunks-valid",
                           "generated.schema-conformance")),
    Fault(SNAKE_CASE_KEYS, "answers have snake_case keys (`usage_metadata`, `finish_reason`)",
          ("gemini.response.camel-case",),
          collateral={
              **_same("the schema knows the camelCase names only", "response.schema",
                      "stream.chunks-valid"),
              **_same("`finishReason` is absent under that name", "stream.finish-last",
                      "generation.stop-sequences"),
              **_same("without `finishReason`, no candidate shows it ended naturally or was "
                      "cut: nothing to judge", "generation.json-mode",
                      "response.finish-reason"),
              "gemini.generation.max-output-tokens": "without `usageMetadata` the cut answer's "
                                                     "length is unknown: nothing to judge",
              "gemini.response.identity": "`modelVersion` and `responseId` are absent under "
                                          "those names",
              **_same("the generated cases' answers are snake_case too",
                      "generated.schema-conformance"),
              **_same("without `finishReason` and `usageMetadata` under their names, no call, "
                      "usage or thought shows where the checks read them",
                      "tools.function-call", "tools.function-response", "tools.mode-none",
                      "usage.arithmetic", "usage.count-tokens", "usage.stream-final",
                      "usage.thoughts-counted", "thinking.summaries")}),
    Fault(ROLE_ASSISTANT, 'candidates say `role: "assistant"`',
          ("gemini.response.role-and-parts", "gemini.response.schema",
           "gemini.stream.chunks-valid"),
          collateral=_same("the generated cases' answers carry the role too",
                           "generated.schema-conformance")),
    Fault(RESPONSE_ID_PER_CHUNK, "every chunk of a stream has its own responseId",
          ("gemini.response.identity",)),
    Fault(MAX_OUTPUT_TOKENS_IGNORED, "maxOutputTokens is dropped",
          ("gemini.generation.max-output-tokens",),
          collateral={"gemini.response.finish-reason": "the uncut answer overruns the cap it "
                                                       "was sent with, and says STOP"}),
    Fault(STOP_SEQUENCES_IGNORED, "stopSequences is dropped",
          ("gemini.generation.stop-sequences",)),
    Fault(CANDIDATE_COUNT_IGNORED, "candidateCount is dropped: one candidate",
          ("gemini.generation.candidate-count",)),
    Fault(RANGES_CLAMPED, "temperature, topP and topK are clamped into range, not refused",
          ("gemini.generation.ranges",)),
    Fault(JSON_MODE_IGNORED, "responseMimeType and responseSchema are dropped",
          ("gemini.generation.json-mode",)),
    Fault(SYSTEM_AS_TURN, "systemInstruction becomes a `system` turn, which is refused",
          ("gemini.generation.system-instruction",)),
    Fault(V1_NOT_SERVED, "only /v1beta is routed: /v1 gets a 404",
          ("gemini.endpoints.prefixes",)),
    Fault(GOOG_API_KEY_REFUSED, "the key is not read from x-goog-api-key",
          ("gemini.auth.header",),
          collateral=EveryOtherCheck(
              "gemini.", "every other request carries the key in x-goog-api-key and is "
              "refused, so nothing else can be judged",
              # its own check, the other key forms, and the refusals whose envelope and
              # status a refused key does not change
              unchanged=("gemini.auth.header", "gemini.auth.query-key", "gemini.auth.bearer",
                         "gemini.errors.envelope", "gemini.errors.invalid-key",
                         "gemini.errors.no-empty-200"))),
    Fault(QUERY_KEY_REFUSED, "the key is not read from `?key=`", ("gemini.auth.query-key",)),
    Fault(BEARER_REFUSED, "the key is not read from Authorization: Bearer",
          ("gemini.auth.bearer",)),
)

# --- usage, countTokens, tools, thinking and errors (gemini.usage/tools/thinking/errors) ------
# Row 15's sibling: the thoughts folded into candidatesTokenCount (a relay adding reasoning to
# the completion tokens): the total adds up, but no thoughtsTokenCount is reported.
THOUGHTS_IN_CANDIDATES = "gemini-usage-thoughts-in-candidates"
# totalTokenCount recomputed as prompt + candidates, leaving the reported thoughts out; its
# sibling: the unstreamed total copied from the stream's first chunk (the prompt only).
TOTAL_WITHOUT_THOUGHTS = "gemini-usage-total-without-thoughts"
TOTAL_PROMPT_ONLY = "gemini-usage-total-prompt-only"
# The final chunk's candidatesTokenCount counts only its own tokens (per-chunk usage passed on);
# its sibling: the final chunk repeats the intermediate usage (the prompt only).
STREAM_USAGE_LAST_DELTA = "gemini-stream-usage-last-delta"
STREAM_USAGE_NOT_FINAL = "gemini-stream-usage-not-final"
# countTokens estimated from the characters (4 per token, a proxy's own counter); its sibling
# sends totalTokens as a string.
COUNT_ESTIMATED = "gemini-count-tokens-estimated"
COUNT_AS_STRING = "gemini-count-tokens-string"
# A functionCall's args as its JSON text (OpenAI's `arguments`); allowedFunctionNames dropped,
# so a forced call names any declared function; mode NONE relayed as ANY.
ARGS_STRING = "gemini-function-args-string"
ALLOWED_NAMES_IGNORED = "gemini-function-allowed-names-ignored"
MODE_NONE_AS_ANY = "gemini-function-mode-none-as-any"
# A turn with functionResponse parts refused with 400; its sibling answers it with no parts.
FUNCTION_RESPONSE_REFUSED = "gemini-function-response-refused"
FUNCTION_RESPONSE_EMPTY = "gemini-function-response-empty"
# Thought summaries without `thought: true` (they read as answer text); its sibling merges them
# into the answer's text part.
THOUGHT_FLAG_DROPPED = "gemini-thinking-thought-flag-dropped"
THOUGHTS_MERGED = "gemini-thinking-thoughts-merged-into-text"
# Error `status` as the HTTP reason phrase ("Bad Request", a Go relay's http.StatusText).
ERROR_STATUS_PHRASE = "gemini-error-status-reason-phrase"
# Row 9's sibling: a failure answered 200 with a partial body (the start of an answer).
PARTIAL_200_ON_FAILURE = "gemini-error-partial-200"
# Any key, or none, let through; its sibling crashes on a key it does not know (500).
AUTH_NOT_ENFORCED = "gemini-auth-not-enforced"
WRONG_KEY_500 = "gemini-auth-wrong-key-500"
# An unknown model answered by the default model; its sibling refuses it with 503.
UNKNOWN_MODEL_FALLBACK = "gemini-unknown-model-fallback"
UNKNOWN_MODEL_503 = "gemini-unknown-model-503"
# safetySettings stripped on the way upstream (relays drop them to avoid blocks), so an invalid
# one is answered; a turn without `role` (it defaults to user) crashes the relay (500).
SAFETY_SETTINGS_STRIPPED = "gemini-safety-settings-stripped"
ROLELESS_TURN_500 = "gemini-roleless-turn-500"

# Without a thoughtsTokenCount, no summary is due: gemini.thinking.summaries has nothing to judge.
_NO_THOUGHTS_COUNT = {"gemini.thinking.summaries": "the usage reports no thinking tokens, so "
                      "the summaries check has no thinking answer to judge"}
# Every refusal the run provokes is judged for its envelope by these checks too.
_NO_ENVELOPE = {
    "gemini.errors.invalid-key": "its refusals of a wrong and a missing key lack the envelope's "
                                 "status string",
    "gemini.errors.unknown-model": "its 404 is not the envelope of its status",
    "gemini.generated.rejects-invalid": "the generated invalid requests are refused without "
                                        "the envelope",
    "gemini.generation.ranges": "the out-of-range refusals lack the INVALID_ARGUMENT envelope",
}
# A failure answered 200: every check of a refusal sees none.
_NO_ERROR = {
    "gemini.errors.envelope": "no request the run expects refused gets an error status, so no "
                              "envelope is there to judge",
    "gemini.errors.invalid-key": "a wrong and a missing key get a 200",
    "gemini.errors.unknown-model": "an unknown model gets a 200",
    "gemini.generated.rejects-invalid": "the generated invalid requests get a 200",
    "gemini.generation.ranges": "out-of-range sampling parameters get a 200",
}

_USAGE_TOOLS_ERRORS: tuple[Fault, ...] = (
    Fault(THOUGHTS_DROPPED, "thoughtsTokenCount is dropped from usageMetadata; the total still "
          "counts the thoughts (row 15)", ("gemini.usage.thoughts-counted",),
          collateral={"gemini.usage.arithmetic": "the total still counts the thoughts the "
                      "usage no longer reports", **_NO_THOUGHTS_COUNT}),
    Fault(THOUGHTS_IN_CANDIDATES, "the thinking tokens are counted in candidatesTokenCount, "
          "with no thoughtsTokenCount", ("gemini.usage.thoughts-counted",),
          collateral=_NO_THOUGHTS_COUNT),
    Fault(TOTAL_WITHOUT_THOUGHTS, "totalTokenCount leaves the reported thoughts out",
          ("gemini.usage.arithmetic",)),
    Fault(TOTAL_PROMPT_ONLY, "totalTokenCount counts the prompt only",
          ("gemini.usage.arithmetic",)),
    Fault(STREAM_USAGE_LAST_DELTA, "the final chunk's candidatesTokenCount counts only its own "
          "token", ("gemini.usage.stream-final",)),
    Fault(STREAM_USAGE_NOT_FINAL, "the final chunk repeats the running usage (the prompt only)",
          ("gemini.usage.stream-final",)),
    Fault(COUNT_ESTIMATED, "countTokens estimates four characters a token",
          ("gemini.usage.count-tokens",)),
    Fault(COUNT_AS_STRING, "countTokens sends totalTokens as a string",
          ("gemini.usage.count-tokens",)),
    Fault(ARGS_STRING, "a functionCall's args is its JSON text", ("gemini.tools.function-call",),
          collateral={"gemini.generated.schema-conformance": "a generated request with "
                      "function declarations is answered with a call whose args breaks the "
                      "schema"}),
    Fault(ALLOWED_NAMES_IGNORED, "allowedFunctionNames is dropped: a forced call names any "
          "declared function", ("gemini.tools.function-call",)),
    Fault(MODE_NONE_AS_ANY, "mode NONE is relayed as ANY", ("gemini.tools.mode-none",)),
    Fault(FUNCTION_RESPONSE_REFUSED, "a turn with functionResponse parts is refused with 400",
          ("gemini.tools.function-response",)),
    Fault(FUNCTION_RESPONSE_EMPTY, "a functionResponse turn is answered with no parts",
          ("gemini.tools.function-response",)),
    Fault(THOUGHT_FLAG_DROPPED, "thought summaries lose `thought: true`",
          ("gemini.thinking.summaries",)),
    Fault(THOUGHTS_MERGED, "thought summaries are merged into the answer's text part",
          ("gemini.thinking.summaries",)),
    Fault(OPENAI_SHAPED_ERRORS, "errors come in the OpenAI envelope", ("gemini.errors.envelope",),
          collateral=_NO_ENVELOPE),
    Fault(ERROR_STATUS_PHRASE, "error.status is the HTTP reason phrase ('Bad Request')",
          ("gemini.errors.envelope",), collateral=_NO_ENVELOPE),
    Fault(EMPTY_200_ON_FAILURE, "failures are answered 200 with an empty body (row 9)",
          ("gemini.errors.no-empty-200",), collateral=_NO_ERROR),
    Fault(PARTIAL_200_ON_FAILURE, "failures are answered 200 with the start of an answer",
          ("gemini.errors.no-empty-200",), collateral=_NO_ERROR),
    Fault(AUTH_NOT_ENFORCED, "any key, or none, is let through", ("gemini.errors.invalid-key",)),
    Fault(WRONG_KEY_500, "a wrong key gets a 500", ("gemini.errors.invalid-key",)),
    Fault(UNKNOWN_MODEL_FALLBACK, "an unknown model is answered by the default model",
          ("gemini.errors.unknown-model",)),
    Fault(UNKNOWN_MODEL_503, "an unknown model gets a 503", ("gemini.errors.unknown-model",)),
    Fault(SAFETY_SETTINGS_STRIPPED, "safetySettings are stripped, so invalid ones are answered",
          ("gemini.generated.rejects-invalid",)),
    Fault(ROLELESS_TURN_500, "a turn without `role` gets a 500",
          ("gemini.generated.schema-conformance",)),
)

GEMINI_FAULTS: tuple[Fault, ...] = (*_CORE, *_USAGE_TOOLS_ERRORS)
