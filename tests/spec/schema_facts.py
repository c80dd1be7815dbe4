"""Is a property required, and may it be null? Read from a JSON Schema document by path.

Used by ``test_official_required.py`` to hold our documents to the official contract. The
same reader works on our OpenAPI documents (``#/components/schemas/<Name>``) and on the
official reference extracts (``#/$defs/<Name>``), so the two sides are judged alike.

A path names a property under a named schema:

* ``a.b``        property ``b`` of the object in property ``a``;
* ``a[]``        the items of the array in ``a``;
* ``{type=x}``   the member of a union whose discriminator ``type`` is ``x`` (``null`` for
                 JSON null), e.g. ``output[]{type=message}.content[]{type=output_text}.text``.

A schema is read in disjunctive form: every ``allOf`` member holds at once, every
``anyOf``/``oneOf`` member is an alternative, and an ``if``/``then`` member (our unions) holds
once a ``{key=value}`` step selects a value its ``if`` admits. For a path ``p.name``:

* **required**: every alternative of the object at ``p`` lists ``name`` in ``required``;
* **nullable**: some alternative accepts ``null`` there (every schema it gives ``name``
  accepts ``None``, checked with a real validator; an alternative that does not describe
  ``name`` accepts anything, null included);
* **defined**: some alternative describes ``name`` in ``properties``.

A ``{key=value}`` step only resolves on a side that discriminates on ``key`` (a ``const`` or
``enum`` on it, or an ``if`` about it): below an object a document leaves open, there is
nothing to compare.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

# alternative = (pointers that all hold, (if-pointer, then-pointer) conditions still pending)
Alt = tuple[tuple[str, ...], tuple[tuple[str, str], ...]]
DISCRIMINATORS = ("type", "role")
_ANNOTATIONS = {"description", "title", "deprecated", "default", "examples", "$comment"}


@dataclass(eq=False)
class Source:
    """One JSON Schema document: its base URI, its contents and where its named schemas sit."""

    base: str
    contents: dict[str, Any]
    prefix: str  # "#/components/schemas/" or "#/$defs/"
    registry: Registry = field(init=False, repr=False)

    def __post_init__(self) -> None:
        resource = DRAFT202012.create_resource(self.contents)
        self.registry = Registry().with_resource(self.base, resource)

    def __hash__(self) -> int:
        return id(self)


def ours(name: str, contents: dict[str, Any]) -> Source:
    return Source(f"urn:conformance:{name}", contents, "#/components/schemas/")


def reference_json(path: Path) -> Source:
    contents = json.loads(path.read_text(encoding="utf-8"))
    return Source(contents["$id"], contents, "#/$defs/")


def reference_openapi(path: Path, contents: dict[str, Any]) -> Source:
    return Source(path.resolve().as_uri(), contents, "#/components/schemas/")


@dataclass(frozen=True)
class Fact:
    defined: bool
    required: bool
    nullable: bool


# --------------------------------------------------------------------------- reading

def node(src: Source, ptr: str) -> Any:
    value: Any = src.contents
    for part in ptr.removeprefix("#").strip("/").split("/"):
        if part:
            part = part.replace("~1", "/").replace("~0", "~")
            value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def _obj(src: Source, ptr: str) -> dict[str, Any]:
    value = node(src, ptr)
    return value if isinstance(value, dict) else {}


@cache
def accepts_null(src: Source, ptr: str) -> bool:
    validator = Draft202012Validator({"$ref": src.base + ptr}, registry=src.registry)
    return validator.is_valid(None)


def _deref(src: Source, ptr: str) -> str:
    seen = set()
    while True:
        schema = _obj(src, ptr)
        if "$ref" in schema and not set(schema) - _ANNOTATIONS - {"$ref"}:
            assert ptr not in seen, f"$ref cycle at {ptr}"
            seen.add(ptr)
            ptr = schema["$ref"]
            continue
        return ptr


def _product(a: list[Alt], b: list[Alt]) -> list[Alt]:
    return [(c1 + c2, k1 + k2) for c1, k1 in a for c2, k2 in b]


@cache
def expand(src: Source, ptr: str, depth: int = 0) -> list[Alt]:
    """The schema at `ptr` as alternatives (disjunctive normal form)."""
    assert depth < 40, f"schema nests too deep at {ptr}"
    ptr = _deref(src, ptr)
    schema = _obj(src, ptr)
    alts: list[Alt] = [((ptr,), ())]
    if "$ref" in schema:
        alts = _product(alts, expand(src, schema["$ref"], depth + 1))
    for i, member in enumerate(schema.get("allOf", [])):
        here = f"{ptr}/allOf/{i}"
        if isinstance(member, dict) and "if" in member:
            cond = (f"{here}/if", f"{here}/then" if "then" in member else "")
            alts = [(c, (*k, cond)) for c, k in alts]
        else:
            alts = _product(alts, expand(src, here, depth + 1))
    for key in ("anyOf", "oneOf"):
        if key in schema:
            branches: list[Alt] = []
            for i in range(len(schema[key])):
                branches += expand(src, f"{ptr}/{key}/{i}", depth + 1)
            alts = _product(alts, branches)
    if "if" in schema:
        cond = (f"{ptr}/if", f"{ptr}/then" if "then" in schema else "")
        alts = [(c, (*k, cond)) for c, k in alts]
    return alts


def _types(schema: dict[str, Any]) -> set[str] | None:
    if "type" in schema:
        kind = schema["type"]
        return set(kind) if isinstance(kind, list) else {kind}
    values = [schema["const"]] if "const" in schema else schema.get("enum")
    return None if values is None else {_json_type(v) for v in values}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array"}.get(type(value), "object")


def _admits(src: Source, alt: Alt, kind: str) -> bool:
    return all(kind in t for t in (_types(_obj(src, p)) for p in alt[0]) if t is not None)


@cache
def _values(src: Source, ptr: str, key: str) -> frozenset[Any] | None:
    """The values the schema at `ptr` allows for property `key` (None: it does not say)."""
    if key not in _obj(src, ptr).get("properties", {}):
        return None
    found: set[Any] = set()
    for conj, _ in expand(src, f"{ptr}/properties/{key}"):
        values: set[Any] | None = None
        for p in conj:
            schema = _obj(src, p)
            if schema.get("type") == "null":
                these = {None}
            elif "const" in schema:
                these = {schema["const"]}
            elif "enum" in schema:
                these = set(schema["enum"])
            else:
                continue
            values = these if values is None else values & these
        if values is None:
            return None
        found |= values
    return frozenset(found)


def select(src: Source, alts: list[Alt], key: str, value: Any, nested: bool = False) -> list[Alt]:
    """The alternatives whose `key` may be `value`, with the conditions on it applied."""
    out: list[Alt] = []
    discriminated, again = nested, False
    for conj, conds in alts:
        if not _admits(src, (conj, conds), "object"):
            continue
        values = [_values(src, p, key) for p in conj]
        discriminated = discriminated or any(v is not None for v in values) or any(
            _values(src, i, key) is not None for i, _ in conds)
        if any(v is not None and value not in v for v in values):
            continue
        chosen: list[Alt] = [(conj, ())]
        for if_ptr, then_ptr in conds:
            condition = _obj(src, if_ptr)
            allowed = _values(src, if_ptr, key)
            if key in condition.get("not", {}).get("required", []):
                continue  # "when the key is absent": it is present here
            if allowed is None:
                chosen = [(c, (*k, (if_ptr, then_ptr))) for c, k in chosen]  # another key's
            elif value in allowed and then_ptr:
                added = expand(src, then_ptr)
                again = again or any(k for _, k in added)
                chosen = _product(chosen, added)
        out += chosen
    if again:
        out = select(src, out, key, value, nested=True)
    return out if discriminated else []


def _step_property(src: Source, alts: list[Alt], name: str) -> list[Alt]:
    out: list[Alt] = []
    for alt in alts:
        if not _admits(src, alt, "object"):
            continue
        sub: list[Alt] = [((), ())]
        for p in alt[0]:
            if name in _obj(src, p).get("properties", {}):
                sub = _product(sub, expand(src, f"{p}/properties/{name}"))
        if sub != [((), ())]:
            out += sub
    return out


def _step_items(src: Source, alts: list[Alt]) -> list[Alt]:
    out: list[Alt] = []
    for alt in alts:
        if not _admits(src, alt, "array"):
            continue
        sub: list[Alt] = [((), ())]
        for p in alt[0]:
            if "items" in _obj(src, p):
                sub = _product(sub, expand(src, f"{p}/items"))
        if sub != [((), ())]:
            out += sub
    return out


# --------------------------------------------------------------------------- paths

_MODIFIER = re.compile(r"\[\]|\{([^=}]+)=([^}]*)\}")


def _segments(path: str) -> list[str]:
    out, current, depth = [], "", 0
    for ch in path:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == "." and depth == 0:
            out.append(current)
            current = ""
        else:
            current += ch
    return [*out, current]


def parse(path: str) -> list[tuple[str, Any]]:
    """``a[]{type=x}.b`` -> [("prop", "a"), ("items", None), ("variant", ("type", "x")),
    ("prop", "b")]."""
    steps: list[tuple[str, Any]] = []
    for segment in _segments(path):
        cut = min((i for i in (segment.find("["), segment.find("{")) if i >= 0),
                  default=len(segment))
        if segment[:cut]:
            steps.append(("prop", segment[:cut]))
        rest = segment[cut:]
        for match in _MODIFIER.finditer(rest):
            if match.group(0) == "[]":
                steps.append(("items", None))
            else:
                value = None if match.group(2) == "null" else match.group(2)
                steps.append(("variant", (match.group(1), value)))
        assert "".join(m.group(0) for m in _MODIFIER.finditer(rest)) == rest, path
    assert steps and steps[-1][0] == "prop", f"a path ends with a property name: {path}"
    return steps


def holder(src: Source, schema: str, path: str) -> list[Alt]:
    """The object alternatives that hold the last property of `path` ([] if none resolves)."""
    alts = expand(src, src.prefix + schema)
    for kind, arg in parse(path)[:-1]:
        if kind == "prop":
            alts = _step_property(src, alts, arg)
        elif kind == "items":
            alts = _step_items(src, alts)
        else:
            alts = select(src, alts, *arg)
    return [a for a in alts if _admits(src, a, "object")]


def fact(src: Source, schema: str, path: str) -> Fact:
    alts = holder(src, schema, path)
    name = parse(path)[-1][1]
    if not alts:
        return Fact(defined=False, required=False, nullable=True)
    required = all(any(name in _obj(src, p).get("required", []) for p in conj)
                   for conj, _ in alts)
    defined = nullable = False
    for conj, _ in alts:
        ptrs = [f"{p}/properties/{name}" for p in conj
                if name in _obj(src, p).get("properties", {})]
        defined = defined or bool(ptrs)
        nullable = nullable or all(accepts_null(src, p) for p in ptrs)
    return Fact(defined=defined, required=required, nullable=nullable)


def _ref_names(src: Source, ptr: str) -> set[str]:
    schema = _obj(src, ptr)
    names: set[str] = set()
    if "$ref" in schema:
        names.add(schema["$ref"].rsplit("/", 1)[-1])
        names |= _ref_names(src, schema["$ref"])
    for key in ("anyOf", "oneOf"):
        for i in range(len(schema.get(key, []))):
            names |= _ref_names(src, f"{ptr}/{key}/{i}")
    if "items" in schema:
        names |= _ref_names(src, f"{ptr}/items")
    return names


def paths(src: Source, schema: str, stops: frozenset[str] = frozenset(),
          max_depth: int = 9) -> Iterator[str]:
    """Every property path under `schema` (properties and required keys), not descending
    into the named schemas in `stops` (each is compared on its own)."""
    yield from _walk(src, expand(src, src.prefix + schema), "", stops, 0, max_depth, frozenset())


def _union(src: Source, alts: list[Alt]) -> tuple[str | None, list[Any]]:
    objects = [a for a in alts if _admits(src, a, "object")]
    if len(objects) < 2:
        return None, []
    for key in DISCRIMINATORS:
        found: set[Any] = set()
        for conj, _ in objects:
            values: frozenset[Any] | None = None
            for p in conj:
                these = _values(src, p, key)
                if these is not None:
                    values = these if values is None else values & these
            if values is None:
                break
            found |= values
        else:
            if len(found) > 1:
                return key, sorted(found, key=lambda v: (v is None, str(v)))
    return None, []


def _walk(src: Source, alts: list[Alt], prefix: str, stops: frozenset[str], depth: int,
          max_depth: int, seen: frozenset[tuple[str, ...]]) -> Iterator[str]:
    if depth > max_depth:
        return
    key, values = _union(src, alts)
    if key is None:
        yield from _members(src, alts, prefix, stops, depth, max_depth, seen)
        return
    for value in values:
        label = "null" if value is None else value
        yield from _members(src, select(src, alts, key, value), f"{prefix}{{{key}={label}}}",
                            stops, depth, max_depth, seen)


def _members(src: Source, alts: list[Alt], prefix: str, stops: frozenset[str], depth: int,
             max_depth: int, seen: frozenset[tuple[str, ...]]) -> Iterator[str]:
    objects = [a for a in alts if _admits(src, a, "object")]
    names: list[str] = []
    for conj, _ in objects:
        for p in conj:
            schema = _obj(src, p)
            names += [n for n in [*schema.get("properties", {}), *schema.get("required", [])]
                      if n not in names]
    for name in names:
        path = f"{prefix}.{name}" if prefix else name
        yield path
        ptrs = tuple(sorted(f"{p}/properties/{name}" for conj, _ in objects for p in conj
                            if name in _obj(src, p).get("properties", {})))
        if not ptrs or ptrs in seen or any(_ref_names(src, p) & stops for p in ptrs):
            continue
        inner = _step_property(src, objects, name)
        yield from _walk(src, inner, path, stops, depth + 1, max_depth, seen | {ptrs})
        items = _step_items(src, inner)
        if items:
            yield from _walk(src, items, path + "[]", stops, depth + 1, max_depth, seen | {ptrs})


# --------------------------------------------------------------------------- comparison

REQUIRED, REQUIRED_NULLABLE, OPTIONAL = "R", "RN", "O"


def code(f: Fact) -> str | None:
    """The table code of an official fact; None when it constrains nothing."""
    if f.required:
        return REQUIRED_NULLABLE if f.nullable else REQUIRED
    return None if f.nullable else OPTIONAL


def official_rows(our: Source, our_schema: str, official: Source, official_schema: str,
                  stops: frozenset[str]) -> dict[str, str]:
    """The official facts to hold our schema to: for every official path whose holder our
    document models, where the official contract requires the key, or forbids null on a
    property our document describes."""
    rows: dict[str, str] = {}
    for path in paths(official, official_schema, stops):
        steps = parse(path)
        if len(steps) > 1 and steps[-2][0] == "variant" and steps[-2][1][0] == steps[-1][1]:
            continue  # `{type=x}.type`: the selection already pins it
        if not holder(our, our_schema, path):
            continue
        theirs = fact(official, official_schema, path)
        value = code(theirs)
        if value is None or (value == OPTIONAL and not fact(our, our_schema, path).defined):
            continue
        rows[path] = value
    return rows


def laxer(official_code: str, mine: Fact) -> list[str]:
    """How our fact is more lenient than the official one: "required" and/or "nullable"."""
    found = []
    if official_code in (REQUIRED, REQUIRED_NULLABLE) and not mine.required:
        found.append("required")
    if official_code in (REQUIRED, OPTIONAL) and mine.nullable:
        found.append("nullable")
    return found


