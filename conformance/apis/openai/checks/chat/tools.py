"""Chat Completions: function calling, non-streamed and streamed, and the tool-result round trip.

Most requests force the behaviour (a named `tool_choice`, or `required` with a prompt that needs
both tools): the server enforces a forced choice, so any model answers with tool calls and a
turn without one fails. The server enforces `tool_choice: "none"` (no call) and
`parallel_tool_calls: false` (at most one) too. The checks judge structure, never the values a
model picks; what is left to the model is not judged: how many calls a `required` turn makes
(one call leaves the parallel indices unjudged: inconclusive), whether an `auto` turn calls
at all (a text answer leaves its finish_reason unjudged), and how long it writes (a turn the
token cap or the content filter cut short leaves its finish_reason unjudged).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from conformance import plan, schemas
from conformance.apis.openai.checks.chat import (
    DOC,
    OP,
    PATH,
    RESPONSE_SCHEMA,
    chat_body,
    choices_of,
    delta_of,
    first_message,
    new_schema_problems,
    not_a_message,
    read_chat_stream,
    require_choices,
    stream_finish_reason,
    user_message,
)
from conformance.apis.openai.checks.chat.midstream import require_intact, require_streaming_served
from conformance.apis.openai.checks.chat.parts import Parts
from conformance.apis.openai.streams import ChatStream
from conformance.check import (
    Level,
    Problems,
    check,
    expect,
    fail,
    observe,
    record,
    require_observed,
)
from conformance.http import Exchange, Request, post
from conformance.preconditions import (
    error_message,
    require_object,
    require_response,
    require_stream,
    require_success,
)
from conformance.shapes import describe, hashable, member

FEATURE = "tools"
SOURCE = "OpenAI API reference, chat/create `tools`, `tool_choice`; function calling guide"
TOOL_CALL_SPEC = schemas.pointer(DOC, "ChatCompletionMessageToolCall")
CHUNK_SPEC = schemas.pointer(DOC, "ChatCompletionMessageToolCallChunk")
TOOL_MAX_TOKENS = 150

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather",
    "description": "Get the current weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name, e.g. Paris"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
}}
TIME_TOOL = {"type": "function", "function": {
    "name": "get_time",
    "description": "Get the current local time in an IANA time zone.",
    "parameters": {
        "type": "object",
        "properties": {"timezone": {"type": "string", "description": "e.g. Asia/Tokyo"}},
        "required": ["timezone"],
        "additionalProperties": False,
    },
}}
TOOLS = [WEATHER_TOOL, TIME_TOOL]
PARAMETERS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
FORCED = "get_weather"
NAMED_PROMPT = "What is the weather in Paris right now? Use celsius."
PARALLEL_PROMPT = ("What is the weather in Paris (in celsius), and what is the local time in "
                   "Tokyo (time zone Asia/Tokyo)? Call both tools.")
# The prompt of the turns that leave the call to `tool_choice` ("auto", "none"): it asks for one.
ASK_TOOL_PROMPT = f"{NAMED_PROMPT} Use the {FORCED} tool."
TOOL_RESULT = '{"city": "Paris", "unit": "celsius", "temperature": 21, "sky": "sunny"}'


# --- the requests -----------------------------------------------------------------------------


@plan.exchange
def named_tool_call(model: str) -> Request:
    """`tool_choice` naming one function: the model must call exactly that one."""
    return post(PATH, chat_body(
        model, messages=[user_message(NAMED_PROMPT)], tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": FORCED}},
        max_completion_tokens=TOOL_MAX_TOKENS))


@plan.exchange(read=read_chat_stream)
def parallel_tool_stream(model: str) -> Request:
    """`tool_choice: "required"`, streamed, with a prompt that needs both tools."""
    return post(PATH, chat_body(
        model, messages=[user_message(PARALLEL_PROMPT)], tools=TOOLS, tool_choice="required",
        stream=True, max_completion_tokens=TOOL_MAX_TOKENS))


@plan.exchange(read=read_chat_stream)
def auto_tool_stream(model: str) -> Request:
    """`tool_choice: "auto"`, streamed, with a prompt that asks for the weather tool."""
    return post(PATH, chat_body(
        model, messages=[user_message(ASK_TOOL_PROMPT)], tools=TOOLS, tool_choice="auto",
        stream=True, max_completion_tokens=TOOL_MAX_TOKENS))


@plan.exchange
def tool_choice_none(model: str) -> Request:
    """`tool_choice: "none"` with the tools declared and a prompt that asks for one."""
    return post(PATH, chat_body(
        model, messages=[user_message(ASK_TOOL_PROMPT)], tools=TOOLS, tool_choice="none"))


@plan.exchange(read=read_chat_stream)
def sequential_tool_stream(model: str) -> Request:
    """`parallel_tool_calls: false` with `tool_choice: "required"`, streamed, and the prompt
    that needs both tools."""
    return post(PATH, chat_body(
        model, messages=[user_message(PARALLEL_PROMPT)], tools=TOOLS, tool_choice="required",
        parallel_tool_calls=False, stream=True, max_completion_tokens=TOOL_MAX_TOKENS))


@plan.exchange
def tool_follow_up(model: str, named_tool_call: Exchange) -> Request:
    """The conversation continued: the assistant's tool call (`content: null`) and its result."""
    call = _replayable_call(named_tool_call)
    messages = [
        user_message(NAMED_PROMPT),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": TOOL_RESULT},
    ]
    return post(PATH, chat_body(model, messages=messages, tools=TOOLS, max_completion_tokens=48))


def _replayable_call(exchange: Exchange) -> dict[str, Any]:
    """The call the gateway made, as a client replays it; a well-formed stand-in otherwise."""
    calls = first_message(exchange.json_or_none()).get("tool_calls") if exchange.status == 200 \
        else None
    call = calls[0] if isinstance(calls, list) and calls and isinstance(calls[0], dict) else {}
    function = call.get("function") if isinstance(call.get("function"), dict) else {}
    if all(isinstance(v, str) and v for v in (call.get("id"), function.get("name"))) and \
            isinstance(function.get("arguments"), str):
        return {"id": call["id"], "type": "function", "function": {
            "name": function["name"], "arguments": function["arguments"]}}
    return {"id": "call_conformance_0001", "type": "function", "function": {
        "name": FORCED, "arguments": '{"city":"Paris","unit":"celsius"}'}}


# --- reading streamed calls -------------------------------------------------------------------


@dataclass
class StreamedCall:
    """One tool call as a client accumulates it from its fragments (per `index`)."""

    index: Any
    first_chunk: int
    head: dict[str, Any]  # the first fragment: carries id, type and function.name
    arguments: list[str] = field(default_factory=list)
    later_heads: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    ids: list[Hashable] = field(default_factory=list)  # distinct call ids sent on this index

    @property
    def merged(self) -> bool:
        """Several calls share this index: a client cannot tell them apart (the defect
        chat.tools.parallel-indices judges), so their shape and fragments are not judged."""
        return len(self.ids) > 1

    def as_call(self) -> dict[str, Any]:
        """The call a client assembles: each of id, type and name from the first fragment that
        carries it (on which fragment it came is chat.tools.stream-deltas' rule, not this)."""
        heads = [self.head, *(fragment for _, fragment in self.later_heads)]
        functions = [h["function"] for h in heads if isinstance(h.get("function"), dict)]
        return {"id": _first(h.get("id") for h in heads),
                "type": _first(h.get("type") for h in heads),
                "function": {"name": _first(f.get("name") for f in functions),
                             "arguments": "".join(self.arguments)}}


def _first(values: Iterable[Any]) -> Any:
    return next((value for value in values if value is not None), None)


def _fragments(stream: ChatStream) -> list[tuple[int, Any]]:
    """(chunk number, tool_calls entry) of choice 0, in stream order.

    A `tool_calls` that is not an array is yielded whole, as one malformed fragment, so that
    the fragment checks name it rather than skip it.
    """
    found = []
    for number, entry in stream.choice_entries():
        delta = delta_of(entry)
        if delta is None or entry.get("index", 0) != 0:
            continue
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            found += [(number, fragment) for fragment in calls]
        elif calls is not None:
            found.append((number, calls))
    return found


_HEAD_KEYS = ("id", "type", "name")


def _head_keys(fragment: dict[str, Any]) -> list[str]:
    function = fragment.get("function") if isinstance(fragment.get("function"), dict) else {}
    present = {**fragment, "name": function.get("name")}
    return [key for key in _HEAD_KEYS if present.get(key) is not None]


def _accumulate(stream: ChatStream) -> dict[Any, StreamedCall]:
    calls: dict[Any, StreamedCall] = {}
    for number, fragment in _fragments(stream):
        if not isinstance(fragment, dict):
            continue
        index = hashable(fragment.get("index"))
        call = calls.get(index)
        if call is None:
            call = calls[index] = StreamedCall(index, number, fragment)
        elif _head_keys(fragment):
            call.later_heads.append((number, fragment))
        if fragment.get("id") is not None and hashable(fragment["id"]) not in call.ids:
            call.ids.append(hashable(fragment["id"]))
        function = fragment.get("function") if isinstance(fragment.get("function"), dict) \
            else {}
        if isinstance(function.get("arguments"), str):
            call.arguments.append(function["arguments"])
    return calls


def _stream_calls(stream: ChatStream, named: Exchange,
                  plain: ChatStream) -> dict[Any, StreamedCall]:
    """The calls of a tool stream that ran its course (none: it answered in text)."""
    _stream_accepted(stream, named, plain)
    require_intact(stream, "its tool calls")
    return _accumulate(stream)


def _streamed_calls(stream: ChatStream, named: Exchange,
                    plain: ChatStream) -> dict[Any, StreamedCall]:
    """The calls of a `required` stream (the server enforces at least one)."""
    calls = _stream_calls(stream, named, plain)
    expect(calls, 'tool_choice "required" produced no streamed tool call',
           expected="delta.tool_calls fragments", actual=stream.exchange.body[:500])
    return calls


def _auto_calls(stream: ChatStream, named: Exchange,
                plain: ChatStream) -> dict[Any, StreamedCall]:
    """The calls of the `auto` stream; whether to call is the model's choice there, so a text
    answer is recorded as not judged, never a failure."""
    calls = _stream_calls(stream, named, plain)
    if not calls:
        record(auto_streamed='the model answered in text (its choice under tool_choice "auto"): '
               "not judged")
    return calls


def _stream_accepted(stream: ChatStream, named: Exchange, plain: ChatStream) -> None:
    """Tools served (the non-streamed call succeeded) and streaming is core: a refused tool
    stream is a failure, not 'tools not supported' (unless streaming itself was refused)."""
    require_streaming_served(plain, "a streamed tool call")
    status = stream.exchange.status
    if named.status == 200 and status is not None and 400 <= status < 500:
        fail(f"tools are served (the non-streamed call got 200) and streaming is core, yet the "
             f"streamed tool request got HTTP {status}: {error_message(stream.exchange)}",
             expected=200, actual=f"{status}: {stream.exchange.body[:300]}")
    require_stream(stream.exchange)


def _unmerged(calls: dict[Any, StreamedCall]) -> dict[Any, StreamedCall]:
    """The calls alone on their index (the others are recorded as not judged)."""
    merged = [index for index, call in calls.items() if call.merged]
    if merged:
        record(not_judged=f"indices {merged} carry several calls each (judged by "
               "chat.tools.parallel-indices)")
    return {index: call for index, call in calls.items() if not call.merged}


def _named_calls(exchange: Exchange) -> list[Any]:
    body = require_object(exchange)
    calls = first_message(body).get("tool_calls")
    expect(isinstance(calls, list) and calls, "a tool_choice naming a function produced no "
           "tool_calls", expected=f"message.tool_calls calling {FORCED}",
           actual=first_message(body))
    return calls


# --- the checks -------------------------------------------------------------------------------


@check("chat.tools.call-shape", level=Level.MUST, feature=FEATURE, operation=OP,
       observes="tool calls forced by name and by `required`", spec=TOOL_CALL_SPEC,
       source=SOURCE,
       fix="Forward `tools` and `tool_choice`, and return each call as `{\"id\", \"type\": "
           "\"function\", \"function\": {\"name\", \"arguments\"}}` with `arguments` a JSON string "
           "that matches the function's `parameters`.")
def test_call_shape(named_tool_call: Exchange, parallel_tool_stream: ChatStream,
                    chat_stream: ChatStream) -> None:
    """A forced tool choice MUST yield tool calls with an `id`, `type: "function"`, the name of a declared function (the named one, when named) and `arguments` that parse as JSON valid against that function's parameters, streamed or not."""
    parts = Parts()  # the named call is judged even when the stream cannot be
    named = parts.judge("named choice", lambda: _named_calls(named_tool_call)) or []
    streamed = parts.judge("required, streamed", lambda: _unmerged(_streamed_calls(
        parallel_tool_stream, named_tool_call, chat_stream))) or {}
    observe("tool calls", len(named) + len(streamed))
    named_whole = _whole_turn("named", _named_finish_reason(named_tool_call))
    streamed_whole = _whole_turn("streamed", stream_finish_reason(parallel_tool_stream))
    for number, call in enumerate(named):
        parts.problems.items += [f"named choice, tool_calls[{number}]: {p}"
                                 for p in _call_problems(call, FORCED, named_whole)]
    for index, call in streamed.items():
        parts.problems.items += [f"streamed call index {index}: {p}"
                                 for p in _call_problems(call.as_call(), None, streamed_whole)]
    parts.finish("tool calls are malformed", expected={
        "id": "call_…", "type": "function",
        "function": {"name": "a declared function", "arguments": "JSON valid for it"}})


def _named_finish_reason(exchange: Exchange) -> Any:
    choices = choices_of(exchange.json_or_none())
    return choices[0].get("finish_reason") if choices else None


def _whole_turn(turn: str, reason: Any) -> bool:
    """False when the server cut the turn short: its last arguments may end mid-JSON, which
    says nothing about the gateway (recorded, not judged)."""
    if reason in CUT_SHORT:
        record(**{f"{turn}_arguments_not_judged": f"the turn ended {reason!r}: cut short"})
    return reason not in CUT_SHORT


def _call_problems(call: Any, only: str | None = None, arguments: bool = True) -> list[str]:
    if not isinstance(call, dict):
        return [f"{call!r} is not an object"]
    function = call.get("function") if isinstance(call.get("function"), dict) else {}
    name = function.get("name")
    found = []
    if not (isinstance(call.get("id"), str) and call["id"]):
        found.append(f"id is {call.get('id')!r}, not a non-empty string")
    if call.get("type") != "function":
        found.append(f"type is {call.get('type')!r}, expected 'function'")
    if name not in PARAMETERS:
        found.append(f"function.name {name!r} is not a declared function {sorted(PARAMETERS)}")
    elif only is not None and name != only:
        found.append(f"function.name is {name!r}, but tool_choice named {only!r}")
    if not arguments:
        return found
    return found + _argument_problems(function.get("arguments"), PARAMETERS.get(name))


def _argument_problems(arguments: Any, parameters: dict[str, Any] | None) -> list[str]:
    if not isinstance(arguments, str):
        return [f"function.arguments is {type(arguments).__name__}, not a JSON string"]
    try:
        value = json.loads(arguments)
    except ValueError as exc:
        return [f"function.arguments {arguments[:120]!r} is not JSON ({exc})"]
    if parameters is None:
        return []
    errors = Draft202012Validator(parameters).iter_errors(value)
    return [f"function.arguments{''.join(f'[{p!r}]' for p in e.absolute_path)}: {e.message}"
            for e in list(errors)[:3]]


@check("chat.tools.finish-reason", level=Level.MUST, feature=FEATURE, operation=OP,
       observes="turns that ended in tool calls (forced, or chosen under auto)",
       spec=schemas.pointer(DOC, "FinishReason"),
       source=SOURCE + "; OpenAI ends a turn forced to a named function with 'stop'",
       fix="Answer `finish_reason: \"tool_calls\"` whenever the message carries `tool_calls`, "
           "mapping the upstream's reason (e.g. `tool_use`) onto it.")
def test_finish_reason(named_tool_call: Exchange, parallel_tool_stream: ChatStream,
                       auto_tool_stream: ChatStream, chat_stream: ChatStream) -> None:
    """A turn that ends in tool calls MUST say `finish_reason: "tool_calls"` (`auto`, `required`, streamed or not); with a named function, `"stop"` is also allowed."""
    parts = Parts()  # the named turn is judged even when the stream cannot be
    if parts.judge("named function", lambda: _named_calls(named_tool_call)) is not None:
        _judge_ending(parts.problems, "named", "named function",
                      _named_finish_reason(named_tool_call), ("tool_calls", "stop"))
    if parts.judge("required, streamed", lambda: _streamed_calls(
            parallel_tool_stream, named_tool_call, chat_stream)) is not None:
        _judge_ending(parts.problems, "required_streamed", 'tool_choice "required" (streamed)',
                      stream_finish_reason(parallel_tool_stream), ("tool_calls",))
    if parts.judge("auto, streamed", lambda: _auto_calls(
            auto_tool_stream, named_tool_call, chat_stream)):
        _judge_ending(parts.problems, "auto_streamed",
                      'tool_choice "auto" (streamed, with tool calls)',
                      stream_finish_reason(auto_tool_stream), ("tool_calls",))
    parts.finish("finish_reason does not say the turn ended in tool calls")


# Reasons the server gives a turn it cut short, whatever the model was writing: a model may
# write text or long arguments before its calls end, and hit the token cap (or the filter)
# there, so such a turn does not show how it would have ended.
CUT_SHORT = ("length", "content_filter")


def _judge_ending(problems: Problems, key: str, turn: str, reason: Any,
                  allowed: tuple[str, ...]) -> None:
    """The finish_reason of a turn with tool calls; a turn cut short is recorded, not judged."""
    if reason in CUT_SHORT:
        record(**{key: f"{reason!r}: the turn was cut short, so how it ends is not judged"})
        return
    observe("turns that ended in tool calls")
    record(**{key: reason})
    problems.expect(reason in allowed, f"{turn}: finish_reason is {reason!r}, expected "
                    + " or ".join(repr(a) for a in allowed))


@check("chat.tools.message-content", level=Level.MUST, feature=FEATURE, operation=OP,
       observes="an assistant message carrying tool calls", spec=f"{schemas.pointer(DOC, 'ChatCompletionResponseMessage')}/properties/content",
       source=SOURCE,
       fix="Include the `content` key in an assistant message that carries `tool_calls`, as null "
           "or the text, never leaving it out or sending an array.")
def test_message_content(named_tool_call: Exchange) -> None:
    """The assistant message that carries tool calls MUST still have `content`, as null or a string (never an array or a missing key)."""
    _named_calls(named_tool_call)
    observe("an assistant message carrying tool calls")
    message = first_message(named_tool_call.json())
    expect("content" in message and isinstance(message["content"], (str, type(None))),
           "the tool-call message's content is missing or not a string/null",
           expected="content: null (or a string)",
           actual={k: message.get(k) for k in ("content",) if k in message} or message)


@check("chat.tools.choice-none", level=Level.MUST, feature=FEATURE, operation=OP,
       observes='the answer to tool_choice "none"',
       spec=schemas.pointer(DOC, "ChatCompletionToolChoiceOption"), source=SOURCE,
       fix='Forward `tool_choice: "none"` to the upstream (or leave `tools` out of the upstream '
           'request), so that no tool call can come back.')
def test_choice_none(tool_choice_none: Exchange, named_tool_call: Exchange) -> None:
    """With `tool_choice: "none"` the answer MUST NOT call a tool (no `tool_calls`, no `finish_reason: "tool_calls"`), whatever the prompt asks; a text answer or empty content is fine."""
    body = _answered_with_tools(tool_choice_none, named_tool_call,
                                'the request with tool_choice "none"')
    choice = require_choices(body)[0]
    problem = not_a_message(0, choice)
    if problem:
        fail(problem, expected="choices[0].message", actual=choice)
    observe('an answer to tool_choice "none"')
    calls = choice["message"].get("tool_calls")
    problems = Problems()
    problems.expect(not calls, f"the message carries tool_calls: {json.dumps(calls)[:300]}")
    problems.expect(choice.get("finish_reason") != "tool_calls",
                    "finish_reason is 'tool_calls': the turn claims to end in tool calls")
    problems.raise_if_any('tool_choice "none" was not honoured', expected="a message without "
                          "tool_calls, finish_reason 'stop' (or 'length')")


@check("chat.tools.stream-deltas", level=Level.MUST, feature=FEATURE, operation=OP,
       observes="streamed tool-call fragments", spec=CHUNK_SPEC, source=SOURCE + "; recorded OpenAI streams; openai-python accumulates "
       "fragments by index and concatenates their strings",
       fix="Forward upstream tool-call fragments as they come, keeping each one's `index` and "
           "putting `id`, `type` and `function.name` only on a call's opening fragment; do not "
           "repeat them on later `arguments` fragments or re-encode those.")
def test_stream_deltas(parallel_tool_stream: ChatStream, named_tool_call: Exchange,
                       chat_stream: ChatStream) -> None:
    """Every streamed tool-call fragment MUST carry `index`; `id`, `type` and `function.name` MUST come on the first fragment of each index only; the `arguments` fragments MUST concatenate to valid JSON."""
    calls = _streamed_calls(parallel_tool_stream, named_tool_call, chat_stream)
    problems = Problems()
    fragments = _fragments(parallel_tool_stream)
    observe("streamed tool-call fragments", len(fragments))
    whole = _whole_turn("streamed", stream_finish_reason(parallel_tool_stream))
    for number, fragment in fragments:
        index = member(fragment, "index")
        if not isinstance(fragment, dict):
            problems.add(f"chunk {number}: a tool_calls entry is {describe(fragment)}, not a "
                         "fragment object")
        elif not isinstance(index, int) or isinstance(index, bool):
            problems.add(f"chunk {number}: tool-call fragment without an integer index: "
                         f"{json.dumps(fragment)[:160]}")
    for index, call in _unmerged(calls).items():
        missing = [k for k in _HEAD_KEYS if k not in _head_keys(call.head)]
        problems.expect(not missing, f"index {index}: the first fragment (chunk "
                        f"{call.first_chunk}) lacks {missing}")
        for number, fragment in call.later_heads[:3]:
            problems.add(f"index {index}: chunk {number} repeats {_head_keys(fragment)}; clients "
                         "that concatenate fragments get e.g. the name twice")
        if whole:
            problems.items += [f"index {index}: {p}" for p in _argument_problems(
                "".join(call.arguments), None)]
    problems.raise_if_any("streamed tool-call fragments are malformed", expected=[
        {"index": 0, "id": "call_…", "type": "function",
         "function": {"name": "get_weather", "arguments": ""}},
        {"index": 0, "function": {"arguments": "{\"city\":"}}])


# How many calls a `required` turn makes is the model's choice: with one call there is nothing
# parallel to judge (inconclusive), never a pass.
@check("chat.tools.parallel-indices", level=Level.MUST, feature=FEATURE, operation=OP,
       observes="two or more tool calls in one stream", spec=f"{CHUNK_SPEC}/properties/index",
       source=SOURCE + "; `parallel_tool_calls`",
       fix="Give each tool call in a stream its own `tool_calls[].index` (0, 1, … in the order the "
           "calls start) and repeat that index on every fragment of the call.")
def test_parallel_indices(parallel_tool_stream: ChatStream, named_tool_call: Exchange,
                          chat_stream: ChatStream) -> None:
    """Parallel tool calls in one stream MUST each have their own `index`, numbered 0, 1, … in order of appearance."""
    _streamed_calls(parallel_tool_stream, named_tool_call, chat_stream)
    ids_by_index: dict[Hashable, list[Hashable]] = defaultdict(list)
    order: list[Any] = []
    for _, fragment in _fragments(parallel_tool_stream):
        if not isinstance(fragment, dict) or fragment.get("id") is None:
            continue
        index = hashable(fragment.get("index"))
        ids_by_index[index].append(hashable(fragment["id"]))
        if index not in order:
            order.append(index)
    calls = max(len({i for ids in ids_by_index.values() for i in ids}), len(order))
    record(calls=calls, indices=order)
    require_observed(calls if calls > 1 else 0, "parallel tool calls", f"the model made "
                     f"{calls} tool call(s) in the stream, so no parallel calls were there to "
                     "tell apart")
    problems = Problems()
    for index, ids in ids_by_index.items():
        distinct = list(dict.fromkeys(ids))
        problems.expect(len(distinct) == 1, f"index {index} carries {len(distinct)} different "
                        f"calls {distinct[:4]}: clients merge them into one broken call")
    problems.expect(order == list(range(len(order))), f"call indices appear as {order}, "
                    f"expected {list(range(len(order)))}")
    problems.raise_if_any("parallel tool calls do not have distinct indices")


@check("chat.tools.parallel-disabled", level=Level.MUST, feature=FEATURE, operation=OP,
       observes="streamed tool calls made with parallel_tool_calls: false",
       spec=f"{schemas.pointer(DOC, 'CreateChatCompletionRequest')}/properties/"
       "parallel_tool_calls", source=SOURCE + "; `parallel_tool_calls`; OpenAI's reasoning "
       "models decline the parameter with a 400 (openapi/SOURCES.md §7)",
       fix="Forward `parallel_tool_calls: false` to the upstream, so that a turn returns at most "
           "one entry in `tool_calls`.")
def test_parallel_disabled(sequential_tool_stream: ChatStream, parallel_tool_stream: ChatStream,
                           named_tool_call: Exchange, chat_stream: ChatStream) -> None:
    """With `parallel_tool_calls: false` a turn MUST make at most one tool call, even when the prompt needs two tools."""
    exchange = sequential_tool_stream.exchange
    if parallel_tool_stream.exchange.status == 200 and exchange.status != 200:
        # Streamed tools are served: this refusal is about the parameter, which a gateway may
        # decline cleanly (not_supported), as OpenAI's own reasoning models do.
        require_success(exchange)
    calls = _streamed_calls(sequential_tool_stream, named_tool_call, chat_stream)
    # A call is an index, or each distinct id on one (calls squeezed onto one index count).
    count = observe("tool calls", sum(max(len(call.ids), 1) for call in calls.values()))
    record(calls=count, indices=list(calls))
    expect(count <= 1, f"{count} tool calls in one turn although parallel_tool_calls is false",
           expected="at most one tool call",
           actual=[{"index": index, "ids": call.ids} for index, call in calls.items()])


@check("chat.tools.follow-up", level=Level.MUST, feature=FEATURE, operation=OP,
       observes="the answer to a tool result",
       spec=schemas.pointer(DOC, "ChatCompletionRequestAssistantMessage"), source=SOURCE,
       fix='Accept an assistant message with `tool_calls` and `content: null` followed by a `role: '
           '"tool"` message with its `tool_call_id`, and translate both for the upstream.')
def test_follow_up(named_tool_call: Exchange, tool_follow_up: Exchange,
                   chat_completion: Exchange) -> None:
    """A request that carries the assistant's `tool_calls` message (with `content: null`) and the matching `tool` result MUST be accepted and answered with a valid completion."""
    body = _answered_with_tools(tool_follow_up, named_tool_call, "the conversation continued "
                                "with the assistant's tool call (content: null) and its result")
    observe("an answer to a tool result")
    problems = new_schema_problems(body, chat_completion)  # shared ones: chat.response.schema
    expect(not problems, "the answer to the tool result is not a valid chat.completion",
           expected=f"valid {schemas.pointer(DOC, RESPONSE_SCHEMA)}", actual=problems)


def _answered_with_tools(exchange: Exchange, named: Exchange, what: str) -> dict[str, Any]:
    """The answer to a tool request. Tools are served when the named call got 200, so refusing
    `what` then is a failure, not 'tools not supported'."""
    require_success(named)  # a gateway without tools: not_supported
    require_response(exchange)
    if exchange.status != 200:
        fail(f"tools are served, yet {what} was refused: HTTP {exchange.status}: "
             f"{error_message(exchange)}", expected=200,
             actual=f"{exchange.status}: {exchange.body[:300]}")
    return require_object(exchange)
