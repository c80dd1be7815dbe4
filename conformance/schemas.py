"""Loads the OpenAPI documents in openapi/ and validates payloads against their schemas.

No check keeps a private copy of a schema: every schema comes from these documents.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conformance.family import documents

OPENAPI_DIR = Path(__file__).resolve().parent.parent / "openapi"
_URN = "urn:conformance:"


def openapi_dir() -> Path:
    """openapi/ beside the package in a checkout, or shipped inside it when installed."""
    packaged = Path(__file__).resolve().parent / "openapi"
    return packaged if packaged.is_dir() else OPENAPI_DIR


@cache
def document(name: str) -> dict[str, Any]:
    with open(openapi_dir() / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@cache
def _registry() -> Registry:
    resources = [
        (_URN + name, Resource.from_contents(document(name), default_specification=DRAFT202012))
        for name in documents()
    ]
    return Registry().with_resources(resources)


def preload() -> None:
    """Load every document now, so that no timed request pays for it later."""
    _registry()


@cache
def validator(doc: str, schema: str) -> Draft202012Validator:
    """A validator for `#/components/schemas/<schema>` of an openapi/ document."""
    if schema not in document(doc).get("components", {}).get("schemas", {}):
        raise KeyError(f"{doc} has no component schema {schema!r}")
    ref = {"$ref": f"{_URN}{doc}#/components/schemas/{schema}"}
    return Draft202012Validator(ref, registry=_registry())


def errors(doc: str, schema: str, instance: Any, limit: int = 10) -> list[str]:
    """Readable validation errors: 'choices[0].message.role: 'model' is not one of [...]'."""
    found = sorted(validator(doc, schema).iter_errors(instance), key=_depth)
    return [_describe(error) for error in found[:limit]]


def versions() -> dict[str, str]:
    return {name: str(document(name).get("info", {}).get("version", "?")) for name in documents()}


def pointer(doc: str, schema: str) -> str:
    return f"openapi/{doc}#/components/schemas/{schema}"


def _depth(error: ValidationError) -> tuple[int, str]:
    return (-len(error.absolute_path), error.message)


def _describe(error: ValidationError) -> str:
    # anyOf failures hide the useful reason one level down; show the closest branch's error.
    best = _closest_context(error)
    path = _path(best.absolute_path) or "(root)"
    return f"{path}: {_shorten(best.message)}"


def _closest_context(error: ValidationError) -> ValidationError:
    if not error.context:
        return error
    return max(error.context, key=lambda e: (len(e.absolute_path), -len(e.message)))


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _shorten(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."
