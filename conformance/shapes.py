"""Typed access to JSON from a gateway that may send any shape.

A check reads nested fields of answers it cannot trust: `choices` may be a string, a choice may
be null, `usage` a list. These accessors return the expected kind or an empty stand-in, so a
check never calls `.get` on a non-object nor iterates a non-array; `json_type` names what came
instead, for the check's own failure message.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

_JSON_TYPES = ((type(None), "null"), (bool, "boolean"), (str, "string"), ((int, float), "number"),
               (list, "array"), (dict, "object"))


def json_type(value: Any) -> str:
    """The JSON kind of a value: null, boolean, string, number, array or object."""
    return next((name for kind, name in _JSON_TYPES if isinstance(value, kind)),
                type(value).__name__)


def describe(value: Any, limit: int = 80) -> str:
    """A value with its JSON kind, short enough for a failure message: `a string "x"`."""
    text = json.dumps(value, default=repr)
    text = text if len(text) <= limit else text[:limit] + "…"
    return "null" if value is None else f"{_article(json_type(value))} {text}"


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def member(value: Any, key: str) -> Any:
    """`value[key]` when value is an object, else None."""
    return value.get(key) if isinstance(value, dict) else None


def object_member(value: Any, key: str) -> dict[str, Any] | None:
    """`value[key]` when it is an object, else None."""
    found = member(value, key)
    return found if isinstance(found, dict) else None


def array_member(value: Any, key: str) -> list[Any]:
    """`value[key]` when it is an array, else [] (what it was instead: `member`)."""
    found = member(value, key)
    return found if isinstance(found, list) else []


def objects(values: Any) -> list[dict[str, Any]]:
    """The object entries of an array ([] for anything that is not an array)."""
    return [v for v in values if isinstance(v, dict)] if isinstance(values, list) else []


def hashable(value: Any) -> Hashable:
    """A value usable as a dict key or set member (an array or object becomes its JSON text)."""
    return value if isinstance(value, Hashable) else json.dumps(value, sort_keys=True, default=repr)


def ordered(keys: Any) -> list[Any]:
    """Keys sorted: integers first, in order, then the others by their text (no TypeError)."""
    return sorted(keys, key=lambda k: (0, k, "") if is_int(k) else (1, 0, str(k)))


def is_int(value: Any) -> bool:
    """An integer in JSON terms (Python's bool is an int, JSON's true is not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def count(value: Any) -> int:
    """A token count as reported: a non-negative JSON integer, anything else 0."""
    return value if is_int(value) and value >= 0 else 0
