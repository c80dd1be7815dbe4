"""One cause, many failures (issue 10 §4), through gateways that have the defect.

An ignored `stream: true` made 20 identical stream failures, and `tool_calls: null` in the
answers to the request shapes failed them under titles that blamed the shape ("the answer to a
developer message is not a valid chat.completion"). Each failure now names its own cause, and
the checks one defect affects are grouped under it, in results.json and in every report.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
from starlette.requests import Request
from starlette.responses import Response

from conformance.apis.openai.checks.chat.request_shapes import SHAPES
from tests.suite.harness import SuiteRun, run_suite
from tests.suite.proxy import proxy

# Checks that read a chat stream whatever else they need (a stable core of the group).
STREAM_READERS = {"chat.stream.done-sentinel", "chat.stream.framing", "chat.chunk.schema",
                  "chat.chunk.first-role", "chat.usage.stream-chunk", "chat.tools.stream-deltas"}
# The checks that own an answer which is no stream at all: they fail, under the cause.
STREAM_OWNERS = {"chat.stream.content-type", "chat.stream.data-json"}


def _result(run: SuiteRun, check_id: str) -> dict:
    return next(r for r in run.document["results"] if r["id"] == check_id)


def _forwarding(gateway, rewrite):
    """An intercept that sends a chat request to the gateway itself and rewrites the answer
    (`rewrite(request body, answer body)` returns the body to send, or None to relay as is)."""
    async def intercept(request: Request, body: bytes) -> Response | None:
        try:
            asked = json.loads(body)
        except ValueError:
            return None
        if not (request.url.path.endswith("/chat/completions") and isinstance(asked, dict)):
            return None
        sent = rewrite(asked, None)
        if sent is None:
            return None
        async with httpx.AsyncClient(timeout=60) as client:
            answer = await client.post(f"{gateway.base_url}/chat/completions", json=sent,
                                       headers={"Authorization": request.headers["authorization"]})
        out = rewrite(asked, answer.json())
        return Response(json.dumps(out), status_code=answer.status_code,
                        media_type="application/json")
    return intercept


def _unstreamed(asked: dict, answer: dict | None) -> dict | None:
    """A gateway that ignores `stream: true`: the answer comes as one JSON body."""
    if asked.get("stream") is not True:
        return None
    if answer is None:
        return {k: v for k, v in asked.items() if k not in ("stream", "stream_options")}
    return answer


def test_an_ignored_stream_is_one_cause_over_every_stream_check(gateway, tmp_path: Path) -> None:
    with proxy(gateway.root_url, _forwarding(gateway, _unstreamed)) as root:
        run = run_suite(root + "/v1", tmp_path, "--select", "chat.*")
    [cause] = [c for c in run.document["summary"]["root_causes"]
               if "ignored `stream: true`" in c["cause"]]
    assert set(cause["checks"]) >= STREAM_READERS | STREAM_OWNERS
    assert {c: run.outcome(c) for c in cause["checks"]} == {
        c: "fail" if c in STREAM_OWNERS else "inconclusive" for c in cause["checks"]}
    assert cause["title"].endswith(f"2 checks failed, {len(cause['checks']) - 2} checks could "
                                   "not be judged")
    # no stream check fails or warns on its own beside the cause
    alone = [r["id"] for r in run.document["results"] if r["outcome"] in ("fail", "warn")
             and r["id"].startswith(("chat.stream.", "chat.chunk.")) and not r["root_cause"]]
    assert alone == []
    page = (tmp_path / "index.html").read_text()
    assert page.index("Root causes (") < page.index(cause["title"]) < page.index("Problems (")
    run_case = ET.parse(tmp_path / "junit.xml").find(".//testcase[@name='run.verdict']")
    assert cause["title"] in [p.get("value") for p in run_case.iter("property")
                              if p.get("name") == "root_cause"]


def _shape_of(asked: dict) -> bool:
    """The request is one of chat.request's shapes (not the plain request they compare with)."""
    return any(all(asked.get(k) == v for k, v in shape.items()) for shape in SHAPES.values())


def _tool_calls_null(asked: dict, answer: dict | None) -> dict | None:
    """A gateway that adds `tool_calls: null` to its answers to the request shapes alone."""
    if not _shape_of(asked) or asked.get("stream"):
        return None
    if answer is None:
        return asked
    for choice in answer.get("choices") or []:
        choice["message"]["tool_calls"] = None
    return answer


def test_request_shape_failures_are_titled_by_the_answers_defect(gateway,
                                                                 tmp_path: Path) -> None:
    with proxy(gateway.root_url, _forwarding(gateway, _tool_calls_null)) as root:
        run = run_suite(root + "/v1", tmp_path, "--select", "chat.request.*")
    shapes = ["chat.request.content-parts", "chat.request.developer-role",
              "chat.request.unknown-fields", "chat.request.user-and-seed"]
    assert run.outcomes() == dict.fromkeys(shapes, "fail")
    for check_id in shapes:
        assert _result(run, check_id)["message"].startswith(
            "choices[0].message.tool_calls is null, not an array, in the answer to ")
    [cause] = run.document["summary"]["root_causes"]
    assert cause["checks"] == shapes
    assert cause["title"] == ("POST /v1/chat/completions answers with choices[0].message."
                              "tool_calls is null, not an array: 4 checks failed")
