"""Gemini with function declarations: the forced call (`toolConfig` mode `ANY` with
`allowedFunctionNames`), calling switched off (mode `NONE`), and the loop's next turn (a
`functionResponse` answering the call).

Mode `ANY` is enforced by the server, so any model answers it with a `functionCall` part; the
checks judge the call's structure against the declaration, never the values the model chose.
Tools are optional: a clean 4xx refusal of the tool request ends these checks `not_supported`.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from conformance import plan
from conformance.apis.gemini.checks import (
    OP,
    SOURCE,
    answered,
    candidates,
    ended_naturally,
    generate,
    parts,
    spec,
    user_turn,
)
from conformance.check import Level, Problems, check, fail, inconclusive, observe, record
from conformance.http import Exchange, Request
from conformance.preconditions import (
    error_message,
    harness_status,
    require_object,
    require_response,
    require_success,
)
from conformance.shapes import describe

FEATURE = "tools"
SOURCE_TOOLS = SOURCE + "; Gemini API docs, function calling (functionDeclarations, " \
                        "toolConfig.functionCallingConfig modes, functionResponse)"
WEATHER_QUESTION = "What is the weather in Paris right now? Use the tools you have."
WEATHER = {"name": "get_weather", "description": "Get the current weather in a city.",
           "parameters": {"type": "object", "required": ["city"],
                          "properties": {"city": {"type": "string",
                                                  "description": "The city, e.g. Paris"}}}}
# Declared first and not allowed: a gateway that drops allowedFunctionNames may call it.
CLOCK = {"name": "get_time", "description": "Get the current time in a time zone.",
         "parameters": {"type": "object", "required": ["timezone"],
                        "properties": {"timezone": {"type": "string",
                                                    "description": "An IANA zone name"}}}}
TOOLS = [{"functionDeclarations": [CLOCK, WEATHER]}]
ARGS_SCHEMA = Draft202012Validator(WEATHER["parameters"])
WEATHER_REPORT = {"output": {"city": "Paris", "temperature_c": 21, "sky": "sunny"}}
# Arguments a client can replay when the gateway's own are not an object (the args' shape is
# gemini.tools.function-call's call; the follow-up judges only that the loop continues).
STAND_IN_ARGS = {"city": "Paris"}
# Endings that say the model did not finish its turn (cut, blocked, a call it botched): not
# the gateway's doing, so such a candidate is not judged.
UNFINISHED = "a candidate that did not end with finishReason STOP"


def tool_request(model: str, mode: str, **calling: Any) -> Request:
    return generate(model, contents=[user_turn(WEATHER_QUESTION)], tools=TOOLS,
                    toolConfig={"functionCallingConfig": {"mode": mode, **calling}})


@plan.exchange
def gemini_tool_any(model: str) -> Request:
    """The weather question with two functions declared and a call to `get_weather` forced
    (mode ANY, `allowedFunctionNames`)."""
    return tool_request(model, "ANY", allowedFunctionNames=[WEATHER["name"]])


@plan.exchange
def gemini_tool_none(model: str) -> Request:
    """The same declarations with calling switched off (mode NONE)."""
    return tool_request(model, "NONE")


def function_calls(candidate: dict[str, Any]) -> list[dict[str, Any]]:
    return [p["functionCall"] for p in parts(candidate) if isinstance(p.get("functionCall"), dict)]


def finished(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in candidates(body) if ended_naturally(c)]


@plan.exchange
def gemini_tool_response(model: str, gemini_tool_any: Exchange) -> Request | None:
    """The forced call answered: the model's turn replayed as it came (thought signatures
    included), then a user turn with a `functionResponse` for each call (None: no call to
    answer)."""
    body = answered(gemini_tool_any)
    calling = next((c for c in candidates(body) if function_calls(c)), None)
    if calling is None:
        return None
    replayed = [_replayable(p) for p in parts(calling)]
    responses = [{"functionResponse": {"name": call.get("name"), "response": WEATHER_REPORT,
                                       **({"id": call["id"]} if "id" in call else {})}}
                 for call in function_calls(calling)]
    return generate(model, tools=TOOLS, contents=[
        user_turn(WEATHER_QUESTION), {"role": "model", "parts": replayed},
        {"role": "user", "parts": responses}])


def _replayable(part: dict[str, Any]) -> dict[str, Any]:
    call = part.get("functionCall")
    if isinstance(call, dict) and not isinstance(call.get("args"), dict):
        return {**part, "functionCall": {**call, "args": STAND_IN_ARGS}}
    return part


@check("gemini.tools.function-call", level=Level.MUST, feature=FEATURE, operation=OP,
       spec=spec("FunctionCall"), source=SOURCE_TOOLS + "; gateway-deviations.md row 11",
       observes="the forced function call (mode ANY with allowedFunctionNames)",
       fix="Return a forced call as a `functionCall` part naming one of `allowedFunctionNames`, "
           "with `args` the parsed arguments as a JSON object (not OpenAI's `arguments` "
           "string), and relay `toolConfig` as it came.")
def test_function_call(gemini_tool_any: Exchange) -> None:
    """With mode `ANY` and `allowedFunctionNames`, the answer MUST be `functionCall` parts naming an allowed function, with `args` an object valid against its declared parameters."""
    require_success(gemini_tool_any)
    body = require_object(gemini_tool_any)
    judged = finished(body)
    problems = Problems()
    for n, candidate in enumerate(judged):
        calls = function_calls(candidate)
        shown = [p.get("text", list(p)) for p in parts(candidate)]
        problems.expect(calls, f"candidate #{n}: no functionCall part although mode ANY forces "
                        f"a call; parts {describe(shown)}")
        for call in calls:
            problems.items += [f"candidate #{n}: {p}" for p in _call_problems(call)]
    record(calls=[function_calls(c) for c in judged])
    problems.raise_if_any("the forced function call is malformed", expected={
        "functionCall": {"name": WEATHER["name"], "args": WEATHER["parameters"]}})
    if not judged:
        inconclusive(f"no candidate to judge: {UNFINISHED} (cut, blocked or a malformed call)")
    observe("forced calls", len(judged))


def _call_problems(call: dict[str, Any]) -> list[str]:
    name, args = call.get("name"), call.get("args", {})
    if name != WEATHER["name"]:
        return [f"the call names {describe(name)}, not the only allowed function "
                f"{WEATHER['name']!r}"]
    if not isinstance(args, dict):
        return [f"args is {describe(args)}, not an object"]
    return [f"args {describe(args)}: {error.message}" for error in ARGS_SCHEMA.iter_errors(args)]


@check("gemini.tools.mode-none", level=Level.MUST, feature=FEATURE, operation=OP,
       spec=f"{spec('FunctionCallingConfig')}/properties/mode", source=SOURCE_TOOLS,
       observes="the answer to the declarations with mode NONE",
       fix="Relay `toolConfig.functionCallingConfig.mode` as it came: with `NONE` the model "
           "must answer in text, so never map it to a forced or automatic choice.")
def test_mode_none(gemini_tool_none: Exchange) -> None:
    """With mode `NONE`, the answer MUST NOT hold a `functionCall` part, whatever functions are declared."""
    require_success(gemini_tool_none)
    judged = finished(require_object(gemini_tool_none))
    called = {n: function_calls(c) for n, c in enumerate(judged) if function_calls(c)}
    if called:
        fail(f"mode NONE was answered with function calls: {describe(called)}",
             expected="no functionCall part", actual=called)
    if not judged:
        inconclusive(f"no candidate to judge: {UNFINISHED}")
    observe("answers with calling off", len(judged))


@check("gemini.tools.function-response", level=Level.MUST, feature=FEATURE, operation=OP,
       spec=spec("FunctionResponse"), source=SOURCE_TOOLS,
       observes="the answer to the functionResponse turn that follows the forced call",
       fix="Relay a turn of `functionResponse` parts (after the model's `functionCall` turn, "
           "replayed with its thought signatures) to the model and return its answer, instead "
           "of refusing the turn or answering it with no parts.")
def test_function_response(gemini_tool_any: Exchange,
                           gemini_tool_response: Exchange | None) -> None:
    """A turn of `functionResponse` parts answering the model's calls MUST be answered with the model's next turn (parts with text or further calls), once the calls themselves were served."""
    require_success(gemini_tool_any)
    if gemini_tool_response is None:
        inconclusive("the forced call brought no functionCall to answer (judged by "
                     "gemini.tools.function-call)")
    require_response(gemini_tool_response)
    harness_status(gemini_tool_response)
    if gemini_tool_response.status != 200:
        fail(f"the functionResponse turn was refused with HTTP {gemini_tool_response.status} "
             f"({error_message(gemini_tool_response)}), though the call it answers was served",
             expected=200, actual=f"{gemini_tool_response.status}: "
                                  f"{gemini_tool_response.body[:300]}")
    judged = finished(require_object(gemini_tool_response))
    empty = [n for n, c in enumerate(judged) if not parts(c)]
    if empty:
        fail(f"the functionResponse turn was answered with no parts (candidates {empty}, "
             "finishReason STOP): the loop ends without the model's answer",
             expected="the model's turn with parts", actual=gemini_tool_response.body[:300])
    if not judged:
        inconclusive(f"no candidate to judge: {UNFINISHED}")
    observe("answers to a functionResponse turn", len(judged))
