"""``:streamGenerateContent``: the planned answer as a sequence of ``GenerateContentResponse``
chunks, framed as SSE (``alt=sse``: one ``data: `` event per chunk, no terminator) or as the
default JSON array written element by element (``../shared/reference/gemini/streaming.md``).

Each chunk holds only the new parts (one token of text, or one whole function call) of each
candidate still running, with ``role``, ``index``, ``modelVersion`` and ``responseId``
repeated; a candidate's ``finishReason`` is on its last chunk. Intermediate chunks report the
prompt so far; the last one the whole usage, which equals the unstreamed answer's.
"""

from __future__ import annotations

from typing import Any

from conformance.gateway.sse import data_frame, to_json

from .content import (
    CandidatePlan,
    finish_reason,
    model_content,
    new_response_id,
    usage_json,
    wire_keys,
)
from .faults import (
    CHUNK_SPLIT,
    CUMULATIVE_TEXT,
    DATA_WITHOUT_SPACE,
    DONE_APPENDED,
    FINISH_ON_EVERY_CHUNK,
    RESPONSE_ID_PER_CHUNK,
    STREAM_USAGE_LAST_DELTA,
    STREAM_USAGE_NOT_FINAL,
)
from .request import GeminiRequest

ARRAY_SEPARATOR = ",\r\n"


def _increments(plan: CandidatePlan) -> list[dict[str, Any] | None]:
    """A candidate's streamed parts in order; one empty step when it produced nothing, so its
    finishReason still has a chunk to ride on."""
    steps: list[dict[str, Any] | None] = []
    for part in plan.parts:
        if "text" in part.json:
            steps += [{**part.json, "text": piece} for piece in part.pieces]
        else:
            steps.append(part.json)
    return steps or [None]


def chunks(request: GeminiRequest, plans: list[CandidatePlan], prompt: int, response_id: str,
           fault: str | None) -> list[dict[str, Any]]:
    steps = [_increments(plan) for plan in plans]
    if fault == CUMULATIVE_TEXT:  # the bug: each chunk repeats the text so far
        steps = [_cumulative(s) for s in steps]
    count = max(len(s) for s in steps)
    found = []
    for step in range(count):
        candidates = []
        for index, (plan, increments) in enumerate(zip(plans, steps, strict=True)):
            if step >= len(increments):
                continue
            part = increments[step]
            candidate: dict[str, Any] = {"content": model_content([part] if part else [],
                                                                  fault)}
            if step == len(increments) - 1:
                candidate["finishReason"] = finish_reason(plan.finish_reason, fault)
            elif fault == FINISH_ON_EVERY_CHUNK:  # the bug: every chunk says it is the last
                candidate["finishReason"] = "STOP"
            candidate["index"] = index
            candidates.append(candidate)
        usage = _final_usage(prompt, plans, fault) if step == count - 1 \
            else _running_usage(prompt)
        found.append({"candidates": candidates, "usageMetadata": usage,
                      "modelVersion": request.model.id,
                      "responseId": new_response_id() if fault == RESPONSE_ID_PER_CHUNK
                      else response_id})
    return [wire_keys(chunk, fault) for chunk in found]


def _running_usage(prompt: int) -> dict[str, Any]:
    return {"promptTokenCount": prompt, "totalTokenCount": prompt}


def _final_usage(prompt: int, plans: list[CandidatePlan], fault: str | None) -> dict[str, Any]:
    if fault == STREAM_USAGE_NOT_FINAL:  # the bug: the running usage repeated at the end
        return _running_usage(prompt)
    usage = usage_json(prompt, plans, fault)
    if fault == STREAM_USAGE_LAST_DELTA and "candidatesTokenCount" in usage:
        # the bug: the last chunk's own token, not the answer's, as a per-chunk relay counts
        usage["totalTokenCount"] -= usage["candidatesTokenCount"] - 1
        usage["candidatesTokenCount"] = 1
    return usage


def _cumulative(steps: list[dict[str, Any] | None]) -> list[dict[str, Any] | None]:
    """The text parts of `steps` each holding all the text so far."""
    so_far, found = "", []
    for step in steps:
        if step is not None and "text" in step:
            so_far += step["text"]
            step = {**step, "text": so_far}
        found.append(step)
    return found


def sse_frames(chunk_list: list[dict[str, Any]], fault: str | None) -> list[bytes]:
    """``data: <chunk>`` and a blank line each, CRLF as the API sends them."""
    space = fault != DATA_WITHOUT_SPACE  # the bug: `data:{...}`, not SSE data to google-genai
    texts = [to_json(chunk) for chunk in chunk_list]
    if fault == CHUNK_SPLIT:  # the bug: the first chunk's JSON cut across two events
        texts[:1] = [texts[0][:len(texts[0]) // 2], texts[0][len(texts[0]) // 2:]]
    frames = [data_frame(text, space=space, newline="\r\n") for text in texts]
    if fault == DONE_APPENDED:  # the bug: an OpenAI relay's terminator
        frames.append(data_frame("[DONE]", newline="\r\n"))
    return frames


def array_frames(chunk_list: list[dict[str, Any]]) -> list[bytes]:
    """One JSON array, each element its own write: ``[`` with the first, a separator before
    each next one, ``]`` alone at the end."""
    frames = [(("[" if n == 0 else ARRAY_SEPARATOR) + to_json(chunk)).encode()
              for n, chunk in enumerate(chunk_list)]
    return [*frames, b"]"]
