"""Responses: function tools (forced calls, arguments, results, parallel calls) and hosted tools."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from conformance import schemas
from conformance.check import Level, NotSupported, Problems, check, expect, fail, record
from conformance.checks.responses import (
    DOC,
    OP_CREATE,
    PATH,
    SEED_HOSTED,
    SOURCE_DOCS,
    TIME_TOOL,
    TOOL_QUESTION,
    WEATHER_TOOL,
    JudgedStream,
    output_items,
    output_problem,
    output_types,
    responses_body,
    spec,
)
from conformance.http import Client, Exchange
from conformance.preconditions import error_message, require_object, require_response
from conformance.streams import ResponsesStream

SOURCE = f"{SOURCE_DOCS} `tools`, `tool_choice`, `parallel_tool_calls`; function calling guide"
HOSTED_ITEM_TYPES = ("web_search_call", "file_search_call")


def _function_calls(exchange: Exchange) -> list[dict[str, Any]]:
    return output_items(require_object(exchange, feature="tools"), "function_call")


@check("responses.tools.function-call", level=Level.MUST, feature="tools", operation=OP_CREATE,
       spec=spec("FunctionToolCall"), source=SOURCE)
def test_function_call(responses_function_call: Exchange) -> None:
    """With `tool_choice` forcing a declared function, the output MUST contain a `function_call` item with an `id`, a `call_id` and the `name` of that function."""
    calls = _function_calls(responses_function_call)
    body = responses_function_call.json()
    expect(calls, "tool_choice forced get_weather but the output has no function_call item",
           expected="output: [{type: 'function_call', name: 'get_weather', ...}]",
           actual=output_types(body) or body.get("output"))
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


@check("responses.tools.arguments-json", level=Level.MUST, feature="tools", operation=OP_CREATE,
       spec=f"{spec('FunctionToolCall')}/properties/arguments", source=SOURCE)
def test_arguments_json(responses_function_call: Exchange) -> None:
    """A `function_call` item's `arguments` MUST be a JSON string whose value is valid against the function's `parameters` schema."""
    calls = _function_calls(responses_function_call)
    expect(calls, "the output has no function_call item to inspect (see "
           "responses.tools.function-call)", actual=responses_function_call.body[:300])
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


@pytest.fixture(scope="session")
def function_result_turn(client: Client, model: str, responses_function_call: Exchange
                         ) -> Exchange:
    """The client runs the tool and sends its output back with the call's `call_id`."""
    calls = _function_calls(responses_function_call)
    if not calls or not isinstance(calls[0].get("call_id"), str):
        pytest.skip("no function_call with a call_id to answer (see responses.tools.function-call)")
    call = calls[0]
    history = [
        {"role": "user", "content": TOOL_QUESTION},
        {"type": "function_call", "call_id": call["call_id"], "name": call.get("name"),
         "arguments": call.get("arguments")},
        {"type": "function_call_output", "call_id": call["call_id"],
         "output": json.dumps({"city": "Paris", "temperature_c": 18, "sky": "clear"})},
    ]
    return client.post(PATH, responses_body(model, input=history, tools=[WEATHER_TOOL]))


@check("responses.tools.function-output", level=Level.MUST, feature="tools", operation=OP_CREATE,
       spec=spec("FunctionCallOutputInput"), source=SOURCE)
def test_function_output(function_result_turn: Exchange) -> None:
    """Sending the call back with a `function_call_output` item for its `call_id` MUST continue the conversation: a 200 whose output answers with a `message` item."""
    body = require_object(function_result_turn, feature="tools")
    messages = output_items(body, "message")
    types = output_types(body)
    expect(messages, "the answer to the function_call_output has no message item: the gateway "
           "did not pass the tool result on"
           + (" (the model called the tool again, as if it never saw the result)"
              if "function_call" in types else ""),
           expected="output: [..., {type: 'message', ...}]", actual=types or body.get("output"))


@pytest.fixture(scope="session")
def sequential_tools(client: Client, model: str) -> Exchange:
    body = responses_body(model, input="What are the weather and the local time in Paris?",
                          tools=[WEATHER_TOOL, TIME_TOOL], tool_choice="required",
                          parallel_tool_calls=False)
    return client.post(PATH, body)


@check("responses.tools.parallel-calls", level=Level.MUST, feature="tools", operation=OP_CREATE,
       spec=f"{spec('CreateResponseRequest')}/properties/parallel_tool_calls", source=SOURCE)
def test_parallel_calls(sequential_tools: Exchange) -> None:
    """With `parallel_tool_calls: false` the output MUST contain at most one `function_call` item, and the response MUST echo `parallel_tool_calls: false`."""
    body = require_object(sequential_tools, feature="tools")
    calls = output_items(body, "function_call")
    problems = Problems()
    problems.expect(not output_problem(body), f"{output_problem(body)}: the function calls "
                    "cannot be counted")
    problems.expect(len(calls) <= 1, f"{len(calls)} function calls in one response "
                    f"({[c.get('name') for c in calls]}) although parallel_tool_calls is false")
    problems.expect(body.get("parallel_tool_calls") is not True,
                    "the response echoes parallel_tool_calls: true; the request sent false")
    problems.raise_if_any("parallel_tool_calls: false was not honoured",
                          expected="at most one function_call item")


@check("responses.tools.hosted-tool", level=Level.MUST, feature="hosted-tools",
       operation=OP_CREATE, spec=spec("WebSearchToolCall"), source=f"{SOURCE_DOCS} `tools` "
       f"(web search tool); {SEED_HOSTED}")
def test_hosted_tool(responses_hosted_stream: ResponsesStream,
                     judged_streams: list[JudgedStream]) -> None:
    """A request with the hosted `web_search_preview` tool MUST be either refused cleanly (4xx with the error envelope) or answered with a stream whose `web_search_call` items are valid and whose events follow the item lifecycle; never a 5xx or a malformed item."""
    exchange = responses_hosted_stream.exchange
    require_response(exchange)
    if exchange.status != 200:
        _judge_refusal(exchange)
        return
    judged = next((j for j in judged_streams if j.label == "hosted tool"), None)
    expect(judged is not None, "the hosted-tool answer is not a readable event stream",
           actual=exchange.body[:300])
    problems = Problems()
    for violation in judged.violations:
        if violation.level == "MUST":
            problems.add(f"[{violation.rule}] {violation.message}")
    items = [p["item"] for p in responses_hosted_stream.payloads
             if isinstance(p, dict) and p.get("type") == "response.output_item.done"
             and isinstance(p.get("item"), dict)]
    hosted = [i for i in items if i.get("type") in HOSTED_ITEM_TYPES]
    record(support="offered", hosted_items=len(hosted))
    for item in hosted:
        problems.items += [f"{item.get('type')} {item.get('id')!r}: {e}"
                           for e in schemas.errors(DOC, "OutputItem", item)]
    problems.raise_if_any("the hosted-tool answer is malformed")


def _judge_refusal(exchange: Exchange) -> None:
    status = exchange.status or 0
    body = exchange.json_or_none()
    envelope = isinstance(body, dict) and isinstance(body.get("error"), dict) and \
        isinstance(body["error"].get("message"), str)
    if 400 <= status < 500 and envelope:
        # A gateway may offer no hosted tools; declining them cleanly is what clients handle.
        record(support="declined", status=status, message=error_message(exchange))
        raise NotSupported(f"hosted tools declined: HTTP {status} {error_message(exchange)}")
    fail(f"the hosted-tool request got HTTP {status}"
         + ("" if envelope else " without the error envelope")
         + ": a gateway that does not offer web search must refuse it with a 4xx error",
         expected="200 with web_search_call items, or a 4xx {'error': {...}}",
         actual=exchange.body[:300])
