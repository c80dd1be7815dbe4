"""Helpers for the OpenAPI document tests (tests/spec).

Schemas are validated exactly the way the engine does it: the YAML document is registered
in a ``referencing.Registry`` under ``urn:conformance:<file>`` and a Draft 2020-12 validator
is built for ``{"$ref": "urn:conformance:<file>#/components/schemas/<Name>"}``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[2]
OPENAPI_DIR = ROOT / "openapi"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DOCUMENTS = ("chat.yaml", "responses.yaml")


@functools.cache
def load_document(name: str) -> dict[str, Any]:
    with open(OPENAPI_DIR / name, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@functools.cache
def registry() -> Registry:
    reg: Registry = Registry()
    for name in DOCUMENTS:
        resource = DRAFT202012.create_resource(load_document(name))
        reg = reg.with_resource(f"urn:conformance:{name}", resource)
    return reg.crawl()


@functools.cache
def validator(document: str, schema_name: str) -> Draft202012Validator:
    schema = {"$ref": f"urn:conformance:{document}#/components/schemas/{schema_name}"}
    return Draft202012Validator(schema, registry=registry())


def validator_for(document: str, schema: dict[str, Any]) -> Draft202012Validator:
    """Validator for a schema fragment taken from the document (e.g. an x- extension)."""
    ref = schema["$ref"]
    assert ref.startswith("#/"), ref
    return Draft202012Validator({"$ref": f"urn:conformance:{document}{ref}"}, registry=registry())


def errors(document: str, schema_name: str, instance: Any) -> list[ValidationError]:
    return list(validator(document, schema_name).iter_errors(instance))


def flat_errors(errs: list[ValidationError]) -> Iterator[ValidationError]:
    """Yield every error including the nested ones of anyOf/if-then branches."""
    for err in errs:
        yield err
        if err.context:
            yield from flat_errors(list(err.context))


def error_paths(errs: list[ValidationError]) -> set[str]:
    return {"/" + "/".join(str(p) for p in e.absolute_path) for e in flat_errors(errs)}


def describe(errs: list[ValidationError]) -> str:
    return "\n".join(
        f"  at /{'/'.join(map(str, e.absolute_path))}: {e.message[:160]}" for e in flat_errors(errs)
    )


def assert_valid(document: str, schema_name: str, instance: Any) -> None:
    errs = errors(document, schema_name, instance)
    assert not errs, f"expected valid {schema_name}:\n{describe(errs)}"


def assert_invalid(document: str, schema_name: str, instance: Any) -> list[ValidationError]:
    errs = errors(document, schema_name, instance)
    assert errs, f"expected {schema_name} to reject {json.dumps(instance)[:300]}"
    return errs


@functools.cache
def own_validator(document: str, ref: str) -> Draft202012Validator:
    """Validator for a local `#/...` pointer of `document` in a registry of its own, as the
    engine registers it (`urn:conformance:<file>`); a schema name is a shorthand."""
    ref = ref if ref.startswith("#/") else f"#/components/schemas/{ref}"
    own = Registry().with_resource(f"urn:conformance:{document}",
                                   DRAFT202012.create_resource(load_document(document)))
    return Draft202012Validator({"$ref": f"urn:conformance:{document}{ref}"}, registry=own)


def own_problems(document: str, ref: str, instance: Any) -> list[str]:
    """'<path>: <message>' of every error of `own_validator`, nested ones included."""
    errs = list(own_validator(document, ref).iter_errors(instance))
    return [line.strip().removeprefix("at ") for line in describe(errs).splitlines()]


def parse_sse(text: str) -> list[dict[str, str]]:
    """Minimal SSE parser: returns [{'event': name-or-None, 'data': payload}] per frame."""
    frames = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        event, data = None, []
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
        if data:
            frames.append({"event": event, "data": "\n".join(data)})
    return frames
