"""The Gemini endpoints: ``:generateContent``, ``:streamGenerateContent`` (``alt=sse`` or the
JSON array), ``:countTokens`` (bare ``contents`` or a whole ``generateContentRequest``).

Each raises the gateway's ``ApiError`` for a refusal; the app renders it in the Google
envelope (``errors``). A refusal comes before the first byte of a stream, as a plain error.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from conformance.gateway.context import current_behaviour, current_fault, gateway_state
from conformance.gateway.sse import EVENT_STREAM, stream_response

from .content import new_response_id, plan_answer, prompt_tokens, response_json, wire_keys
from .errors import invalid_argument
from .faults import (
    COUNT_AS_STRING,
    COUNT_ESTIMATED,
    FUNCTION_RESPONSE_EMPTY,
    STREAM_HELD,
    STREAM_WITHOUT_ALT_NOT_STREAMED,
)
from .models import api_version, resolve_model
from .request import (
    COUNT,
    GeminiRequest,
    check_spec,
    function_responses,
    interpret,
    parse_body,
    refuse_unknown,
)
from .request_faults import misapply, misread, reroute
from .stream import array_frames, chunks, sse_frames


async def _request(request: Request) -> GeminiRequest:
    fault, version = current_fault(request), api_version(request)
    body = misread(parse_body(await request.body()), fault, version)
    model = resolve_model(reroute(request.path_params["model"], fault), version)
    return misapply(interpret(body, model), fault)


async def generate_content(request: Request) -> Response:
    return _answer(await _request(request), request)


def _answer(parsed: GeminiRequest, request: Request) -> Response:
    fault = current_fault(request)
    plans = plan_answer(parsed, current_behaviour(request))
    if fault == FUNCTION_RESPONSE_EMPTY and function_responses(parsed.contents[-1]):
        plans = [replace(plan, parts=[]) for plan in plans]  # the bug: the answer is lost
    body = response_json(parsed, plans, prompt_tokens(parsed), new_response_id(), fault)
    return JSONResponse(wire_keys(body, fault))


async def stream_generate_content(request: Request) -> Response:
    alt = request.query_params.get("alt", "json")
    if alt not in ("sse", "json"):
        raise invalid_argument(f"Invalid value at 'alt', \"{alt}\": only sse and json stream")
    parsed = await _request(request)
    fault = current_fault(request)
    if alt == "json" and fault == STREAM_WITHOUT_ALT_NOT_STREAMED:
        return _answer(parsed, request)  # the bug: only alt=sse is taken for a stream
    plans = plan_answer(parsed, current_behaviour(request))
    chunk_list = chunks(parsed, plans, prompt_tokens(parsed), new_response_id(), fault)
    if alt == "sse":
        frames, media_type = sse_frames(chunk_list, fault), EVENT_STREAM
    else:
        frames, media_type = array_frames(chunk_list), "application/json"
    if fault == STREAM_HELD:  # the bug: the relay buffers the stream, then writes it at once
        frames = [b"".join(frames)]
    return stream_response(frames, gateway_state(request), media_type=media_type,
                           first_token_frame=0)


def _count_request(body: dict[str, Any], request: Request) -> GeminiRequest:
    """``contents`` (what google-genai sends) or a whole ``generateContentRequest``, whose
    system instruction and tools count too (it wins when both are sent, as the API has it)."""
    refuse_unknown(body, ("contents", "generateContentRequest"), "")
    check_spec(body, COUNT)
    inner = body.get("generateContentRequest")
    if inner is None:
        model = resolve_model(request.path_params["model"], api_version(request))
        return interpret({"contents": body["contents"]}, model)
    return interpret(inner, resolve_model(inner["model"], api_version(request)))


async def count_tokens(request: Request) -> Response:
    parsed = _count_request(parse_body(await request.body()), request)
    count = prompt_tokens(parsed)
    fault = current_fault(request)
    if fault == COUNT_ESTIMATED:  # the bug: a proxy's own estimate, four characters a token
        count = len(json.dumps(parsed.contents)) // 4
    if fault == COUNT_AS_STRING:  # the bug: the int64 rule of proto JSON applied to an int32
        return JSONResponse({"totalTokens": str(count)})
    return JSONResponse({"totalTokens": count,
                         "promptTokensDetails": [{"modality": "TEXT", "tokenCount": count}]})
