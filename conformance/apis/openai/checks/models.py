"""GET /v1/models: the model list."""

from __future__ import annotations

import pytest

from conformance import plan, schemas
from conformance.check import Level, Problems, check, expect, observe
from conformance.http import Exchange, Request, get
from conformance.preconditions import require_endpoint, require_object
from conformance.shapes import objects
from conformance.target import Target

SOURCE = "OpenAI API reference, models/list"


@plan.exchange
def model_list() -> Request:
    return get("/models")


@pytest.fixture(scope="session", autouse=True)
def _endpoint_served(model_list: Exchange, conformance: Target) -> None:
    """A gateway without a model list gets `not_supported` (absent) on these checks."""
    require_endpoint(model_list, "GET /v1/models", conformance.config.claims("models"))


@check("models.list.contains-model", level=Level.SHOULD, feature="models",
       observes="the model list", operation="listModels", spec=schemas.pointer("chat.yaml", "ListModelsResponse"), source=SOURCE,
       fix='Answer `GET /v1/models` with `{"object": "list", "data": [...]}` listing every model '
           'you route, the one under test included.')
def test_contains_model(model_list: Exchange, model: str) -> None:
    """`GET /v1/models` SHOULD return `object: "list"` with the model under test in `data`."""
    body = require_object(model_list)
    observe("model lists")
    expect(body.get("object") == "list", "the model list's object is not 'list'",
           expected="list", actual=body.get("object"))
    ids = [m.get("id") for m in objects(body.get("data"))]
    expect(model in ids, f"the model under test {model!r} is not listed",
           expected=model, actual=ids[:50])


@check("models.list.entry-shape", level=Level.SHOULD, feature="models",
       observes="entries of the model list", operation="listModels", spec=schemas.pointer("chat.yaml", "Model"), source=SOURCE + " (the model object)",
       fix='Give each model entry `id`, `object: "model"`, `created` (Unix seconds) and '
           '`owned_by`, filling in an owner and a timestamp when the upstream lacks them.')
def test_entry_shape(model_list: Exchange) -> None:
    """Every entry of `data` SHOULD be a model object: `id`, `object: "model"`, `created` (Unix seconds) and `owned_by`."""
    body = require_object(model_list)
    entries = body.get("data")
    expect(isinstance(entries, list) and entries, "the model list has no entries",
           expected="data: [{id, object, created, owned_by}, ...]", actual=entries)
    observe("model entries", len(entries))
    problems = Problems()
    for number, entry in enumerate(entries):
        name = entry.get("id") if isinstance(entry, dict) else None
        for error in schemas.errors("chat.yaml", "Model", entry, limit=4):
            problems.add(f"data[{number}] ({name!r}): {error}")
    problems.raise_if_any("model entries are not model objects",
                          expected={"id": "str", "object": "model", "created": "int",
                                    "owned_by": "str"})
