"""GET /v1/models: the model list."""

from __future__ import annotations

from conformance import schemas
from conformance.check import Level, check, expect
from conformance.http import Client
from conformance.preconditions import require_object


@check("models.list.contains-model", level=Level.SHOULD, feature="models", operation="listModels",
       spec=schemas.pointer("chat.yaml", "ListModelsResponse"),
       source="OpenAI API reference, models/list")
def test_contains_model(client: Client, model: str) -> None:
    """`GET /v1/models` SHOULD return `object: "list"` with the model under test in `data`."""
    body = require_object(client.get("/models"), feature="models")
    expect(body.get("object") == "list", "the model list's object is not 'list'",
           expected="list", actual=body.get("object"))
    ids = [m.get("id") for m in body.get("data") or [] if isinstance(m, dict)]
    expect(model in ids, f"the model under test {model!r} is not listed",
           expected=model, actual=ids[:50])
