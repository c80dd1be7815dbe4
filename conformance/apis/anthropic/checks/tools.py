"""Messages with tools: the forced call (`tool_choice: {type: tool}`), streamed and not, its
streamed input, and the tool loop's second turn (a `tool_result` answering the call).

The call is forced, and the server enforces a forced choice, so any model answers with a
`tool_use` block; the checks judge its structure, never the values the model picked beyond the
tool's `input_schema`. Tools are optional: a clean 4xx refusal of the tool request ends these
checks `not_supported`.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from conformance import plan
from conformance.apis.anthropic.checks import (
    OP,
    PATH,
    SOURCE,
    SOURCE_STREAMING,
    WEATHER_QUESTION,
    WEATHER_TOOL,
    MessagesStream,
    blocks_of_type,
    content_blocks,
    judge_rules,
    message_body,
    require_offered,
    spec,
)
from conformance.check import Level, Problems, check, expect, inconclusive, observe, record
from conformance.http import Exchange, Request, post
from conformance.preconditions import (
    harness_status,
    refusal,
    require_object,
    require_response,
    require_success,
)
from conformance.shapes import describe
from conformance.stream_rules import JudgedStreams

FEATURE = "tools"
SOURCE_TOOLS = "Anthropic docs, tool use (tool_choice, tool_use and tool_result blocks); " + SOURCE
TOOL_NAME = WEATHER_TOOL["name"]
INPUT_SCHEMA = Draft202012Validator(WEATHER_TOOL["input_schema"])
TOOL_RESULT = '{"city": "Paris", "temperature_c": 21, "sky": "sunny"}'
# A call a client can replay when the gateway's own input is not an object (the input's shape
# is messages.tools.tool-use's call; the follow-up judges only that the loop continues).
STAND_IN_INPUT = {"city": "Paris"}


# --- the tool loop's second turn --------------------------------------------------------------


@plan.exchange
def message_tool_result(model: str, message_tool: Exchange) -> Request | None:
    """The forced call answered: the assistant's turn replayed, then a `tool_result` block for
    each of its `tool_use` blocks (None: the call has no block with an id to answer)."""
    body = message_tool.json_or_none() if message_tool.status == 200 else None
    calls = [c for c in blocks_of_type(body, "tool_use")
             if isinstance(c.get("id"), str) and c["id"]]
    if not calls:
        return None
    replayed = [{"type": "tool_use", "id": c["id"], "name": TOOL_NAME,
                 "input": c["input"] if isinstance(c.get("input"), dict) else STAND_IN_INPUT}
                for c in calls]
    results = [{"type": "tool_result", "tool_use_id": c["id"], "content": TOOL_RESULT}
               for c in calls]
    return post(PATH, message_body(model, tools=[WEATHER_TOOL], messages=[
        {"role": "user", "content": WEATHER_QUESTION},
        {"role": "assistant", "content": replayed},
        {"role": "user", "content": results}]))


# --- the forced call --------------------------------------------------------------------------


@check("messages.tools.tool-use", level=Level.MUST, feature=FEATURE, operation=OP,
       spec=spec("ToolUseBlock"), source=SOURCE_TOOLS,
       observes="the forced tool call, unstreamed and streamed",
       fix="Return a forced tool call as a `tool_use` block with a non-empty `id`, the tool's "
           "`name` and the parsed arguments as the `input` object, and set `stop_reason: "
           "\"tool_use\"`.")
def test_tool_use(message_tool: Exchange, judged_streams: JudgedStreams) -> None:
    """A forced tool call MUST come as a `tool_use` block naming the tool, with a non-empty `id` and an `input` object valid against the tool's `input_schema`, and `stop_reason: "tool_use"`, streamed or not."""
    answers = {"non-streamed": (require_object(message_tool), True)}
    for entry in judged_streams:
        if entry.label == "tool_use" and entry.summary.end == "message_stop":
            # Fragments that do not form an object are messages.tools.stream-input's call.
            whole = not any(v.rule == "tool-input-json" for v in entry.violations)
            answers["streamed"] = (entry.summary.message, whole)
    problems = Problems()
    judged = [where for where, (body, whole_input) in answers.items()
              if _judge_call(body, whole_input, where, problems)]
    record(judged=judged)
    problems.raise_if_any("the forced tool call is malformed", expected={
        "content": f"a tool_use block named {TOOL_NAME!r} with an id and an object input",
        "stop_reason": "tool_use"})
    if not judged:
        inconclusive("every answer was cut at max_tokens before its call was complete")
    observe("forced tool calls", len(judged))


def _judge_call(body: dict[str, Any], whole_input: bool, where: str, problems: Problems) -> bool:
    """Judge one answer; False when max_tokens cut it (a cut call carries no input)."""
    if body.get("stop_reason") == "max_tokens":
        return False
    calls = blocks_of_type(body, "tool_use")
    problems.expect(calls, f"{where}: no tool_use block although tool_choice forces "
                    f"{TOOL_NAME!r}; content is {describe([b.get('type') for b in content_blocks(body)])}")
    for position, call in enumerate(calls):
        where_call = f"{where}: tool_use #{position}"
        problems.expect(call.get("name") == TOOL_NAME,
                        f"{where_call} names {describe(call.get('name'))}, not {TOOL_NAME!r}")
        problems.expect(isinstance(call.get("id"), str) and call["id"],
                        f"{where_call} has id {describe(call.get('id'))}")
        if whole_input:
            problems.items += [f"{where_call}: {p}" for p in _input_problems(call.get("input"))]
    problems.expect(body.get("stop_reason") == "tool_use", f"{where}: stop_reason is "
                    f"{describe(body.get('stop_reason'))}, expected 'tool_use'")
    return True


def _input_problems(value: Any) -> list[str]:
    if not isinstance(value, dict):
        return [f"input is {describe(value)}, not an object"]
    return [f"input {describe(value)}: {error.message}"
            for error in INPUT_SCHEMA.iter_errors(value)]


# --- streamed input ---------------------------------------------------------------------------


@check("messages.tools.stream-input", level=Level.MUST, feature=FEATURE, operation=OP,
       spec=spec("ContentBlockDelta"), source=SOURCE_STREAMING,
       observes="tool_use blocks in the recorded streams",
       fix="Stream a tool_use block's input as `input_json_delta` events whose `partial_json` "
           "fragments, joined in order, are exactly the JSON text of the input object: no fragment "
           "dropped, repeated or re-encoded.")
def test_stream_input(message_tool_stream: MessagesStream,
                      judged_streams: JudgedStreams) -> None:
    """The `input_json_delta` fragments of a streamed tool_use block MUST concatenate to the JSON text of an object."""
    require_offered(message_tool_stream)  # a clean refusal: tools not supported
    judge_rules(judged_streams, "messages.tools.stream-input",
                "streamed tool input fragments do not form a JSON object")


# --- the tool loop ----------------------------------------------------------------------------


@check("messages.tools.result-follow-up", level=Level.MUST, feature=FEATURE, operation=OP,
       spec=spec("ToolResultBlockParam"), source=SOURCE_TOOLS,
       observes="the answer to a tool_result turn",
       fix="Accept an assistant turn that replays the `tool_use` block followed by a user turn "
           "whose `tool_result` block names the same `tool_use_id`, and translate both for the "
           "upstream.")
def test_result_follow_up(message_tool: Exchange, message_tool_result: Exchange | None) -> None:
    """A gateway that makes tool calls MUST accept the next turn, which replays the call and answers it with a `tool_result` block, and answer it with a message."""
    require_success(message_tool)  # a clean refusal of tools: not supported
    if message_tool_result is None:
        inconclusive("the forced call has no tool_use block with an id, so there was no call "
                     "to answer (see messages.tools.tool-use)")
    require_response(message_tool_result)
    harness_status(message_tool_result)
    # Tools were served: refusing their result is a broken loop, never "not supported".
    expect(message_tool_result.status == 200, "the tool_result turn was refused", expected=200,
           actual=f"{message_tool_result.status}: {message_tool_result.body[:300]}",
           root_cause=refusal(message_tool_result))
    body = require_object(message_tool_result)
    observe("answers to a tool_result turn")
    # The message's own shape is messages.response.*'s call; here, that the loop goes on.
    expect(isinstance(body.get("content"), list), "the tool_result turn is not answered with "
           "a message", expected="a message with a content list",
           actual=f"content is {describe(body.get('content'))}")
