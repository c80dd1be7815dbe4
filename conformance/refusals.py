"""How a gateway refuses a request: the OpenAI error envelope and the status, on every endpoint."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from conformance import schemas
from conformance.check import CheckFailed, HarnessError, Problems, expect, warn
from conformance.http import Exchange, retry_wait

# A model name no gateway serves: the unknown-model checks of every endpoint send it, and no
# other name than it and the configured model is ever sent (generated cases break `model`'s
# type, not its value). A gateway may record each name it is asked for (a model listing, a
# metrics label): this one is well-formed and says what it is, and the same in every run.
UNKNOWN_MODEL = "conformance-no-such-model-0000"
UNKNOWN_MODEL_WHY = ("a reserved name that names no real model; the only model name besides "
                     "the configured one that the suite sends, the same in every run")


def envelope_shape(doc: str) -> dict[str, Any]:
    """The error envelope of `doc` as evidence shows it: its required fields, by schema."""
    components = schemas.document(doc)["components"]["schemas"]
    envelope = components["ErrorResponse"]
    shape = {key: envelope["properties"][key].get("const", "…") for key in envelope["required"]}
    shape["error"] = {key: "…" for key in components["ErrorObject"].get("required", [])}
    return shape


@cache
def status_schema(doc: str, path: str, status: int) -> str:
    """The body schema `doc` gives `status` on `POST path` (`ErrorResponse` when it lists none:
    an unlisted status's error is not pinned)."""
    document = schemas.document(doc)
    response: Any = document["paths"][path]["post"]["responses"].get(str(status))
    if response is None or "$ref" not in response:
        return "ErrorResponse"
    response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]


def envelope_problems(body: Any, doc: str) -> list[str]:
    """What keeps a body from being `doc`'s error envelope, `ErrorResponse` (empty: it is one);
    a missing field its `ErrorObject` requires is named first."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return [f"body is {str(body)[:200]!r}, without an `error` object"]
    error = body["error"]
    required = schemas.document(doc)["components"]["schemas"]["ErrorObject"].get("required", [])
    found = [f"error.{key} is missing" for key in required if key not in error]
    if not isinstance(error.get("message"), str):
        found.append("error.message is not a string")
    return found or schemas.errors(doc, "ErrorResponse", body)


def require_not_rate_limited(exchange: Exchange) -> None:
    """A 429, or a 503 with Retry-After still standing after the waits, answers the account's
    rate or the gateway's load, not the request: there is nothing to judge."""
    if exchange.status == 429 or retry_wait(exchange) is not None:
        raise HarnessError(f"HTTP {exchange.status}: the target asked the run to slow down "
                           f"(still after {len(exchange.retries)} wait(s)); retry later or with "
                           "a lower --concurrency", cause="rate-limit")


def answered(exchanges: Mapping[str, Exchange]) -> tuple[dict[str, Exchange], list[str]]:
    """The exchanges that got an HTTP response, and one problem per request that got none.

    When the gateway answered some of these requests, dropping the connection on another one is
    its answer to that input (typically a crash on it), not a harness problem.
    """
    for name, exchange in exchanges.items():
        if exchange.harness_cause:  # not the gateway's answer: this batch cannot be judged
            raise HarnessError(f"{name}: {exchange.transport_error or exchange.cut}",
                               cause=exchange.harness_cause)
    replied = {name: e for name, e in exchanges.items() if e.ok}
    for exchange in replied.values():
        require_not_rate_limited(exchange)
    if not replied:
        first = next(iter(exchanges.values()))
        raise HarnessError(f"no request got an HTTP response: {first.transport_error or first.cut}")
    dropped = [f"{name}: no HTTP response ({e.transport_error or e.cut})"
               for name, e in exchanges.items() if not e.ok]
    return replied, dropped


def judge_envelopes(exchanges: Mapping[str, Exchange], doc: str) -> None:
    """Every non-200 answer carries the error envelope."""
    replied, _ = answered(exchanges)
    problems = Problems()
    for name, exchange in replied.items():
        if exchange.status == 200:
            continue  # a 200 for bad input is judged by the status check
        for error in envelope_problems(exchange.json_or_none(), doc):
            problems.add(f"{name} (HTTP {exchange.status}): {error}")
    problems.raise_if_any("error bodies are not the error envelope",
                          expected=envelope_shape(doc))


def judge_bad_request_statuses(exchanges: Mapping[str, Exchange]) -> None:
    """Invalid input gets a 4xx (never a 2xx or 5xx, never a dropped connection); 400 SHOULD."""
    replied, dropped = answered(exchanges)
    statuses = {name: e.status for name, e in replied.items()}
    wrong = {n: s for n, s in statuses.items() if s is None or not 400 <= s < 500}
    if wrong or dropped:
        raise CheckFailed("invalid requests were not refused with a 4xx", expected=400,
                          actual=[f"{n}: HTTP {s}" for n, s in wrong.items()] + dropped)
    off = {n: s for n, s in statuses.items() if s != 400}
    if off:
        warn("invalid requests got a 4xx other than 400", expected=400, actual=off)


def judge_unknown_model(exchange: Exchange, doc: str, model: str = UNKNOWN_MODEL) -> None:
    """A model the gateway does not serve gets 404 with the envelope (OpenAI's answer); 400
    with code `model_not_found` is a SHOULD deviation; a 200 answered by another model fails."""
    body = exchange.json_or_none()
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    answered_by = body.get("model") if isinstance(body, dict) and exchange.status == 200 else None
    expect(exchange.status in (400, 404) and (exchange.status == 404 or code == "model_not_found"),
           f"unknown model {model!r} got HTTP {exchange.status}"
           + (f", answered by model {answered_by!r}" if answered_by else ""),
           expected=404, actual={"status": exchange.status, "body": exchange.body[:300]})
    problems = envelope_problems(body, doc)
    expect(not problems, f"the {exchange.status} does not carry the error envelope",
           expected=envelope_shape(doc), actual=problems)
    if exchange.status == 400:
        warn("unknown model got 400 model_not_found; OpenAI answers 404",
             expected=404, actual={"status": 400, "code": code})


def judge_streamed_refusals(exchanges: Mapping[str, Exchange], doc: str) -> None:
    """Invalid requests sent with `stream: true` are refused before any stream starts: a 4xx
    whose body is the error envelope, never a 200 event stream that carries the error (a
    client reads that as a stream that failed mid-way, and the SDK raises no status error);
    a 4xx other than 400 is a SHOULD deviation."""
    replied, dropped = answered(exchanges)
    problems = Problems()
    for name, exchange in replied.items():
        status = exchange.status
        if status is not None and 400 <= status < 500:
            for error in envelope_problems(exchange.json_or_none(), doc):
                problems.add(f"{name} (HTTP {status}): {error}")
        elif exchange.is_sse:
            carried = " carrying the error" if "error" in exchange.body else ""
            problems.add(f"{name}: HTTP {status} with an event stream{carried}; the "
                         "validation error must come as a 4xx before the stream starts: "
                         f"{exchange.body[:200]!r}")
        else:
            problems.add(f"{name}: HTTP {status}, not a 4xx: {exchange.body[:160]!r}")
    problems.items += dropped
    problems.raise_if_any("invalid streamed requests were not refused with a 4xx and the error "
                          "envelope before the stream",
                          expected={"status": 400, "body": envelope_shape(doc)})
    off = {n: e.status for n, e in replied.items() if e.status != 400}
    if off:
        warn("invalid streamed requests got a 4xx other than 400", expected=400, actual=off)
