"""Probes leave nothing behind (issue 10 §4).

A stateful gateway added every model name it was asked for to `GET /v1/models`; because a
generated case asked for a model named "", the second run met a listing the first had polluted
and differed from it. The suite now names no model but the configured one and one reserved,
well-formed name for the unknown-model probes (a generated case breaks `model`'s type, never its
value), so consecutive runs against such a gateway agree, and its listing gains nothing else.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from conformance.family import families
from conformance.refusals import UNKNOWN_MODEL
from tests.suite.harness import run_suite
from tests.suite.proxy import proxy

# What the probes and the model list are judged by: the unknown-model checks, the generated
# invalid requests (which once sent `model: ""`) and the checks of the listing itself.
SELECT = ("--select", "models.*", "--select", "*.errors.unknown-model",
          "--select", "*.generated.rejects-invalid")


class ModelRegistry:
    """A gateway that lists every model name it was asked for, as a router that registers a
    model on first use does. `strict`: its listing breaks (HTTP 500) once a recorded name is
    empty or holds whitespace or control characters, names it cannot render."""

    def __init__(self, gateway, strict: bool) -> None:
        self.gateway = gateway
        self.strict = strict
        self.names: list[str] = []

    async def __call__(self, request: Request, body: bytes) -> Response | None:
        if request.method == "POST":
            self._record(body)
            # Gemini names the model in the path (`/models/{model}:generateContent`)
            named = re.search(r"/models/([^/:]+):", request.url.path)
            self._name(named and named.group(1))
            return None  # the gateway answers; the name stays recorded whatever it said
        if not request.url.path.endswith("/models"):
            return None
        if self.strict and not all(name.isprintable() and name.split() == [name]
                                   for name in self.names):
            return JSONResponse({"error": {"message": "model registry corrupted",
                                           "type": "server_error", "param": None,
                                           "code": None}}, status_code=500)
        async with httpx.AsyncClient(timeout=30) as client:
            listing = (await client.get(f"{self.gateway.base_url}/models", headers={
                "Authorization": request.headers.get("authorization", "")})).json()
        listed = {entry["id"] for entry in listing["data"]}
        listing["data"] += [{"id": name, "object": "model", "created": 1700000000,
                             "owned_by": "registered-on-first-use"}
                            for name in self.names if name not in listed]
        return JSONResponse(listing)

    def _record(self, body: bytes) -> None:
        try:
            asked = json.loads(body)
        except ValueError:
            return
        model = asked.get("model") if isinstance(asked, dict) else None
        self._name(model)

    def _name(self, model: object) -> None:
        if isinstance(model, str) and model not in self.names:
            self.names.append(model)


@pytest.mark.parametrize("strict", [False, True], ids=["listing-grows", "listing-breaks"])
def test_a_second_run_meets_nothing_the_first_left_behind(strict: bool, gateway,
                                                          tmp_path: Path) -> None:
    registry = ModelRegistry(gateway, strict)
    with proxy(gateway.root_url, registry) as root:
        first = run_suite(root + "/v1", tmp_path / "first", *SELECT)
        second = run_suite(root + "/v1", tmp_path / "second", *SELECT)
    assert set(first.outcomes().values()) == {"pass"}, first.document["results"]
    assert second.outcomes() == first.outcomes()
    # each family's model under test and the one reserved unknown name, nothing else
    assert sorted(registry.names) == sorted({f.default_model for f in families()} | {UNKNOWN_MODEL})
    # the evidence says which model name the probe sent, and why that one
    for check_id in ("chat.errors.unknown-model", "responses.errors.unknown-model"):
        details = next(r["details"] for r in second.document["results"] if r["id"] == check_id)
        assert details["model_sent"] == UNKNOWN_MODEL and "reserved" in details["why"]
