"""Shared exchanges for the Gemini checks.

One exchange, many checks: each `@exchange` is sent once per run (conformance.plan) and every
check that judges that kind of answer reads the same recorded exchange. Requests use
temperature 0, so that the streamed answer can be compared with the unstreamed one.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from conformance import plan, stop_words
from conformance.apis.gemini import FAMILY
from conformance.apis.gemini.checks import (
    BEARER,
    CUT_TOKENS,
    QUERY_KEY,
    TITLE,
    answered,
    decode_array_stream,
    decode_sse_stream,
    generate,
    key_refused,
    stream,
    text_of,
)
from conformance.check import HarnessError
from conformance.config import Config
from conformance.http import Exchange, Request
from conformance.preconditions import error_message, model_refused, require_endpoint
from conformance.stop_words import StopPlan
from conformance.target import Target


@plan.exchange
def gemini_generate(model: str) -> Request:
    return generate(model)


def refuses_model(exchange: Exchange) -> bool:
    """A Gemini server refusing the model in the path: the Google error envelope (its `status`
    a string) naming the model, or a 400 in any envelope whose code or param is the model. Any
    other 404 on these paths, which all name `models/`, is a server that has no such route."""
    body = exchange.json_or_none()
    error = body.get("error") if isinstance(body, dict) else None
    google = isinstance(error, dict) and isinstance(error.get("status"), str) \
        and "model" in str(error.get("message", "")).lower()
    # A 400 whose code or param names the model refuses it in any envelope: no route is a 400.
    return google or (exchange.status == 400 and model_refused(exchange))


@plan.exchange
def gemini_keys(model: str, config: Config) -> dict[str, Request] | None:
    """The plain request with the key as `?key=` and as `Authorization: Bearer` instead of in
    `x-goog-api-key` (None: the run has no key to send)."""
    if not config.key_for(FAMILY.name):
        return None
    plain = generate(model)
    return {QUERY_KEY: replace(plain, key_in="query"), BEARER: replace(plain, key_in="bearer")}


@pytest.fixture(scope="session", autouse=True)
def _endpoint_served(gemini_generate: Exchange, gemini_keys: dict[str, Exchange] | None,
                     conformance: Target) -> None:
    """A gateway without the Gemini API gets `not_supported` on every check, not failures; a key
    refused in `x-goog-api-key` but taken in another form is gemini.auth.header's failure."""
    other_forms = (gemini_keys or {}).values()
    if key_refused(gemini_generate) and any(e.status == 200 for e in other_forms):
        return
    if key_refused(gemini_generate) and gemini_generate.status == 400:
        raise HarnessError(f"HTTP 400: the target rejected the API key (check --api-key / "
                           f"{FAMILY.key_env}): {error_message(gemini_generate)}", cause="auth")
    require_endpoint(gemini_generate, TITLE, conformance.config.claims(FAMILY.endpoints[0].id),
                     refuses_model)


@plan.exchange(read=decode_sse_stream)
def gemini_stream_sse(model: str) -> Request:
    """The plain request, streamed as the SDK asks (`?alt=sse`)."""
    return stream(model)


@plan.exchange(read=decode_array_stream)
def gemini_stream_array(model: str) -> Request:
    """The plain request, streamed without `alt`: one JSON array, written as it is generated."""
    return stream(model, sse=False)


@plan.exchange
def gemini_cut(model: str) -> Request:
    """The plain request capped at CUT_TOKENS: its answer is far longer, so it is cut."""
    return generate(model, config={"maxOutputTokens": CUT_TOKENS})


def _stop_plan(gemini_generate: Exchange) -> StopPlan | None:
    body = answered(gemini_generate)
    return None if body is None else stop_words.plan_stop(text_of(body))


@pytest.fixture(scope="session")
def stop_plan(gemini_generate: Exchange) -> StopPlan | None:
    """A stop sequence taken from the plain answer (None: it gave no word to stop at)."""
    return _stop_plan(gemini_generate)


@plan.exchange
def gemini_stop(model: str, gemini_generate: Exchange) -> Request | None:
    """The plain request again, with `stopSequences` set to a word from the middle of its
    answer."""
    stop = _stop_plan(gemini_generate)
    return None if stop is None else generate(model, config={"stopSequences": [stop.stop]})


# --- thinking (gemini.usage.thoughts-counted, gemini.thinking.*) ------------------------------

# A budget that leaves room for the answer under MAX_OUTPUT_TOKENS (thoughts spend it too).
THINKING = {"thinkingBudget": 512, "includeThoughts": True}


@plan.exchange
def gemini_thinking(model: str) -> Request:
    """The plain request with `thinkingConfig`: a thinking budget, and the thought summaries
    asked for (`includeThoughts`)."""
    return generate(model, config={"thinkingConfig": THINKING})
