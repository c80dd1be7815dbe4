"""Responses: function tools (forced calls, arguments, results, parallel calls) and hosted tools."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator

from conformance import plan, schemas
from conformance.apis.openai.checks.responses import (
    DOC,
    OP_CREATE,
    PATH,
    RULE_CHECKS,
    SEED_HOSTED,
    SOURCE_DOCS,
    TIME_TOOL,
    TOOL_QUESTION,
    WEATHER_TOOL,
    judge,
    output_items,
    output_types,
    require_output,
    responses_body,
    spec,
    stream_answered,
    stream_usable,
)
from conformance.apis.openai.streams import ResponsesStream
from conformance.check import (
    Level,
    Problems,
    check,
    expect,
    fail,
    inconclusive,
    observe,
    record,
    require_observed,
)
from conformance.http import Exchange, Request, post
from conformance.preconditions import (
    error_message,
    harness_status,
    require_object,
    require_response,
    require_success,
)

SOURCE = f"{SOURCE_DOCS} `tools`, `tool_choice`, `parallel_tool_calls`; function calling guide"
HOSTED_ITEM_TYPES = ("web_search_call", "file_search_call")


def _function_calls(exchange: Exchange) -> list[dict[str, Any]]:
    """The function calls of an answer (a clean refusal: tools are `not_supported`)."""
    body = require_object(exchange)
    require_output(body)
    return output_items(body, "function_call")


@check("responses.tools.function-call", level=Level.MUST, feature="tools",
       observes="function_call items of the forced call", operation=OP_CREATE,
       spec=spec("FunctionToolCall"), source=SOURCE,
       fix="Forward `tool_choice` to the upstream, and return the call as a `function_call` output "
           "item with its own `id`, a `call_id` and the forced function's `name`.")
def test_function_call(responses_function_call: Exchange) -> None:
    """With `tool_choice` forcing a declared function, the output MUST contain a `function_call` item with an `id`, a `call_id` and the `name` of that function."""
    calls = _function_calls(responses_function_call)
    body = responses_function_call.json()
    # tool_choice names the function: the server enforces the call, so none is a failure.
    expect(calls, "tool_choice forced get_weather but the output has no function_call item",
           expected="output: [{type: 'function_call', name: 'get_weather', ...}]",
           actual=output_types(body) or body.get("output"))
    observe("function_call items", len(calls))
    problems = Problems()
    for call in calls:
        where = f"function_call {call.get('id')!r}"
        problems.expect(isinstance(call.get("call_id"), str) and call["call_id"],
                        f"{where}: call_id is {call.get('call_id')!r}, expected a string")
        problems.expect(call.get("name") == WEATHER_TOOL["name"],
                        f"{where}: name is {call.get('name')!r}, expected the forced "
                        f"{WEATHER_TOOL['name']!r}")
        problems.items += [f"{where}: {e}" for e in schemas.errors(DOC, "FunctionToolCall", call)]
    problems.raise_if_any("the forced function call is malformed")


@check("responses.tools.arguments-json", level=Level.MUST, feature="tools",
       observes="function_call items whose arguments were validated", operation=OP_CREATE,
       spec=f"{spec('FunctionToolCall')}/properties/arguments", source=SOURCE,
       fix="Return `arguments` as the JSON-encoded string of the call's arguments object "
           "(serialise an object from the upstream), never an object or a cut-off text.")
def test_arguments_json(responses_function_call: Exchange) -> None:
    """A `function_call` item's `arguments` MUST be a JSON string whose value is valid against the function's `parameters` schema."""
    calls = _function_calls(responses_function_call)
    require_observed(len(calls), "function_call items", "the output has no function_call item "
                     "whose arguments could be read (responses.tools.function-call judges the "
                     "forced call)")
    validator = Draft202012Validator(WEATHER_TOOL["parameters"])
    problems = Problems()
    for call in calls:
        where = f"function_call {call.get('id')!r}"
        try:
            arguments = json.loads(call.get("arguments"))
        except (TypeError, ValueError) as exc:
            problems.add(f"{where}: arguments {call.get('arguments')!r} are not JSON ({exc})")
            continue
        problems.items += [f"{where}: {e.message}" for e in validator.iter_errors(arguments)]
    problems.raise_if_any("function arguments are not valid JSON for the declared parameters",
                          expected=WEATHER_TOOL["parameters"])


@plan.exchange
def function_result_turn(model: str, responses_function_call: Exchange
                         ) -> Request | None:
    """The client runs the tool and sends its output back with the call's `call_id`.

    `tool_choice: "none"` makes the answer text, server-enforced: the verdict does not depend
    on whether the model would call the tool again. None when there is no call to answer.
    """
    body = responses_function_call.json_or_none() if responses_function_call.status == 200 \
        else None
    calls = output_items(body, "function_call")
    if not calls or not isinstance(calls[0].get("call_id"), str):
        return None
    call = calls[0]
    history = [
        {"role": "user", "content": TOOL_QUESTION},
        {"type": "function_call", "call_id": call["call_id"], "name": call.get("name"),
         "arguments": call.get("arguments")},
        {"type": "function_call_output", "call_id": call["call_id"],
         "output": json.dumps({"city": "Paris", "temperature_c": 18, "sky": "clear"})},
    ]
    return post(PATH, responses_body(model, input=history, tools=[WEATHER_TOOL],
                                            tool_choice="none"))


@check("responses.tools.function-output", level=Level.MUST, feature="tools",
       observes="the answer to a function_call_output", operation=OP_CREATE,
       spec=spec("FunctionCallOutputInput"), source=SOURCE,
       fix="Accept an `input` that replays the `function_call` item followed by its "
           "`function_call_output` (same `call_id`), translate both for the upstream, and answer "
           "with a `message` item.")
def test_function_output(responses_function_call: Exchange,
                         function_result_turn: Exchange | None) -> None:
    """Sending the call back with a `function_call_output` item for its `call_id` MUST continue the conversation: a 200 whose output answers with a `message` item."""
    _function_calls(responses_function_call)  # tools declined cleanly: not_supported
    if function_result_turn is None:
        inconclusive("the forced call has no function_call with a call_id to answer (see "
                     "responses.tools.function-call)")
    require_response(function_result_turn)
    if function_result_turn.status != 200:  # tools are offered: refusing the result fails
        harness_status(function_result_turn)
        fail(f"the conversation continued with the function_call and its function_call_output "
             f"got HTTP {function_result_turn.status}: the gateway does not pass tool results on",
             expected=200, actual=f"{function_result_turn.status}: "
                                  f"{function_result_turn.body[:300]}")
    body = require_object(function_result_turn)
    observe("answers to a function_call_output")
    types = output_types(body)
    # tool_choice "none": the answer must be text, whatever the model would prefer.
    expect(output_items(body, "message"), "the answer to the function_call_output (with "
           "tool_choice 'none') has no message item", expected="output: [..., {type: 'message', "
           "...}]", actual=types or body.get("output"))


@plan.exchange
def sequential_tools(model: str) -> Request:
    body = responses_body(model, input="What are the weather and the local time in Paris?",
                          tools=[WEATHER_TOOL, TIME_TOOL], tool_choice="required",
                          parallel_tool_calls=False)
    return post(PATH, body)


@check("responses.tools.parallel-calls", level=Level.MUST, feature="tools",
       observes="function_call items made with parallel_tool_calls: false", operation=OP_CREATE,
       spec=f"{spec('CreateResponseRequest')}/properties/parallel_tool_calls", source=SOURCE,
       fix="Pass `parallel_tool_calls: false` on to the upstream, and copy the request's value "
           "into the response's `parallel_tool_calls` instead of a hard-coded `true`.")
def test_parallel_calls(sequential_tools: Exchange) -> None:
    """With `parallel_tool_calls: false` the output MUST contain at most one `function_call` item, and the response MUST echo `parallel_tool_calls: false`."""
    body = require_object(sequential_tools)
    require_output(body)
    calls = output_items(body, "function_call")
    problems = Problems()
    problems.expect(len(calls) <= 1, f"{len(calls)} function calls in one response "
                    f"({[c.get('name') for c in calls]}) although parallel_tool_calls is false")
    problems.expect(body.get("parallel_tool_calls") is not True,
                    "the response echoes parallel_tool_calls: true; the request sent false")
    problems.raise_if_any("parallel_tool_calls: false was not honoured",
                          expected="at most one function_call item")
    # "At most one" is only exercised by a call; tool_choice "required" asks for one.
    require_observed(len(calls), "function_call items", "the answer made no function call "
                     "(tool_choice 'required'), so the number of calls could not be judged")


@check("responses.tools.hosted-tool", level=Level.MUST, feature="hosted-tools",
       observes="web_search_call items of a forced web search", operation=OP_CREATE,
       spec=spec("WebSearchToolCall"), source=f"{SOURCE_DOCS} `tools` (web search tool), "
       f"`tool_choice` (hosted tool); {SEED_HOSTED}",
       fix="Either refuse `web_search_preview` with a 4xx error envelope, or run the search and "
           "stream a `web_search_call` item through `output_item.added`, its `web_search_call.*` "
           "events and `output_item.done`.")
def test_hosted_tool(responses_hosted_stream: ResponsesStream,
                     responses_text_stream: ResponsesStream) -> None:
    """A request forcing the hosted `web_search_preview` tool MUST be either refused cleanly (4xx with the error envelope) or answered with a stream holding a valid `web_search_call` item whose events follow the item lifecycle; never a 5xx, a malformed item or no search at all."""
    stream = responses_hosted_stream
    exchange = stream.exchange
    if exchange.status != 200:
        require_response(exchange)
        _judge_refusal(exchange, responses_text_stream)
    if not stream_usable(stream):
        if exchange.is_sse:
            require_response(exchange)  # a transport problem: an error, not a verdict
        inconclusive(f"the hosted-tool answer is {exchange.media_type or 'untyped'!r}, not an "
                     "event stream (see responses.stream.content-type)")
    items = [p["item"] for p in stream.of_type("response.output_item.done")
             if isinstance(p.get("item"), dict)]
    hosted = [i for i in items if i.get("type") in HOSTED_ITEM_TYPES]
    record(support="offered", hosted_items=len(hosted))
    problems = Problems()
    problems.items += _search_violations(stream)
    for item in hosted:
        problems.items += [f"{item.get('type')} {item.get('id')!r}: {e}"
                           for e in schemas.errors(DOC, "OutputItem", item)]
    if stream_answered(stream):
        # tool_choice forces the search (server-enforced): an answer without one dropped it.
        problems.expect(any(i.get("type") == "web_search_call" for i in hosted),
                        "tool_choice forced web_search_preview, but no web_search_call item "
                        f"was sent (items: {[i.get('type') for i in items]}): the tool was "
                        "dropped and the model answered without searching")
    problems.raise_if_any("the hosted-tool answer is malformed or made no search")
    require_observed(len(hosted), "web_search_call items", "the hosted-tool stream ended before "
                     "any search item (see responses.stream.failure-shape)")


def _search_violations(stream: ResponsesStream) -> list[str]:
    """The engine's item-lifecycle violations on the search item's own events (the rest of
    the stream, and stream-wide rules such as sequence numbers, are judged by the
    responses.stream.* checks)."""
    lifecycle = RULE_CHECKS["responses.stream.event-order"]
    ids = {p["item"].get("id") for p in stream.payloads if isinstance(p, dict)
           and isinstance(p.get("item"), dict) and p["item"].get("type") in HOSTED_ITEM_TYPES}
    ids.discard(None)

    def about_search(payload: Any) -> bool:
        if not isinstance(payload, dict):
            return False
        item = payload.get("item") if isinstance(payload.get("item"), dict) else {}
        return str(payload.get("type", "")).startswith("response.web_search_call.") or \
            payload.get("item_id") in ids or item.get("id") in ids

    return [f"[{v.rule}] {v.message}" for v in judge("hosted tool", stream).violations
            if v.rule in lifecycle and v.level == "MUST" and 0 <= v.index < len(stream.payloads)
            and about_search(stream.payloads[v.index])]


def _judge_refusal(exchange: Exchange, plain_stream: ResponsesStream) -> None:
    """A clean 4xx declines hosted tools (`not_supported`); anything else fails."""
    status = exchange.status or 0
    if 400 <= status < 500 and not stream_usable(plain_stream):
        inconclusive(f"streams are refused altogether (the plain stream got HTTP "
                     f"{plain_stream.exchange.status}), so this HTTP {status} says nothing "
                     "about hosted tools (see responses.stream.*)")
    if 400 <= status < 500:
        # A gateway may offer no hosted tools; declining them cleanly is what clients handle.
        record(support="declined", status=status, message=error_message(exchange))
    require_success(exchange)
