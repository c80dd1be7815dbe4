"""Schema-generated requests: bodies drawn by schemathesis from our OpenAPI documents.

Two modes per operation, both deterministic for a given `Config.seed`:

* **positive**: whole request bodies drawn from the request schema, then made cheap (the
  configured model, at most 16 output tokens, one choice, no audio, hosted tools, stored state
  or file inputs), made to keep the rules the API reference states only in prose (an assistant
  message says something, tool calls and their results come in pairs, a named tool choice
  names a declared tool, no undocumented top-level field), and re-validated against the real
  request schema. Such a body is valid input: it must be answered. One may still be refused
  cleanly (a 4xx with the error envelope: a parameter the model does not take, a tool kind the
  gateway does not relay), but a refusal without the envelope fails, and so does refusing every
  one (`generated` is a core feature, never `not_supported`).
* **negative**: a minimal valid body with exactly one property made invalid. The first cases
  remove each property the body cannot do without (`model`, `messages`); the others put a
  schemathesis NEGATIVE-mode value (wrong type, out of range, unknown enum value, ...) into one
  top-level property, walking the properties in a seed-shuffled order. Aiming one violation at
  one property keeps every case readable ("temperature is a string") and spreads a handful of
  cases over the whole request instead of deep inside `messages`. `model` only ever gets a
  wrong type, never another name ("" or a random string would be left behind by a gateway
  that records the models it is asked for).

Schemathesis only draws the values; the requests go through the recording `Client`, so every
case is an exchange in the report. Every body is checked against the *original* request
schema (`conformance.schemas`): a positive case must validate, a negative case must not.

Why a generation view: schemathesis cannot build a strategy for `CreateResponseRequest`
(UnsupportedSchema on the `if`/`then` unions of `Tool` and `InputItem`), and drawing from the
open objects of our documents produces megabytes of random extra keys. So at load time the
document is rewritten, for generation only, into an equivalent-or-narrower form: each
discriminated `if`/`then` union becomes an `anyOf` of flat branches (the discriminator const
merged with the branch schema), objects are closed, strings, arrays and free-form objects are
bounded and `x-*` annotations are dropped. Every value the view produces is valid under the
original document, which stays the only judge; `openapi/SOURCES.md` (§6) records the choice.
"""

from __future__ import annotations

import contextlib
import copy
import json
import random
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from conformance import schemas
from conformance.check import HarnessError, Problems, record
from conformance.config import Config
from conformance.http import Exchange, Request, post
from conformance.preconditions import error_message
from conformance.results import usage_stats
from conformance.shapes import is_int
from conformance.stream_contract import stream_contract
from conformance.streams import event_json

POSITIVE = "positive"
NEGATIVE = "negative"
MAX_OUTPUT_TOKENS = 16  # every positive case asks for at most this many output tokens
SHORT_TEXT = "Say hi."
_STRING_LIMIT = 24  # generated strings stay short: they become prompt tokens on a real gateway
_ARRAY_LIMIT = 2
_FREE_OBJECT_LIMIT = 2
_DRAWS_PER_CASE = 12  # examples hypothesis may try for one case before moving on
_ANNOTATIONS = {"description", "deprecated", "examples", "example", "title", "default",
                "readOnly", "writeOnly", "$comment"}

Body = Any
Step = Callable[[Any, str], Any]


# --- operations -------------------------------------------------------------------------------
# Each API family declares its own (e.g. conformance/apis/openai/generation.py) with the steps
# below; this module knows them only by the name they register under.


OPERATIONS: dict[str, Operation] = {}


@dataclass(frozen=True)
class Operation:
    """One generated-for operation: where its request schema lives and how to make it cheap."""

    name: str  # the endpoint id its checks start with
    document: str  # file in openapi/
    path: str  # path in the document, without the /v1 prefix
    request_schema: str
    response_schema: str
    base: Callable[[str], dict[str, Any]]  # the minimal valid body negative cases start from
    steps: tuple[tuple[str, Step], ...]  # cost-reducing rewrites, in order
    # The path a case is sent to, from the model under test, for an API whose model is part of
    # the path (`/models/{model}:generateContent`); None: `path` as it is.
    request_path: Callable[[str], str] | None = None

    @property
    def spec(self) -> str:
        return schemas.pointer(self.document, self.request_schema)

    def __post_init__(self) -> None:
        # registered by name: drawing caches its strategies per operation name
        OPERATIONS[self.name] = self

    def violations(self, body: Body, limit: int = 5) -> list[str]:
        """Why `body` breaks the original request schema (empty: it is valid)."""
        return schemas.errors(self.document, self.request_schema, body, limit=limit)


# --- cost-reducing steps (each tolerates any JSON: negative bodies have wrong types) -----------


def set_model(body: Any, model: str) -> Any:
    return {**body, "model": model} if isinstance(body, dict) else body


def dropping(*names: str) -> Step:
    def drop(body: Any, model: str) -> Any:
        if not isinstance(body, dict):
            return body
        return {k: v for k, v in body.items() if k not in names}
    return drop


def capped_tokens(*names: str, minimum: int = 1) -> Step:
    """Cap every token limit present at MAX_OUTPUT_TOKENS (and set the first name when none is
    given); a limit below `minimum` is raised to it (the API refuses a lower one)."""
    def cap(body: Any, model: str) -> Any:
        if not isinstance(body, dict):
            return body
        body = dict(body)
        given = [n for n in names if body.get(n) is not None]
        for name in given:
            if is_int(body[name]):
                body[name] = max(minimum, min(body[name], MAX_OUTPUT_TOKENS))
        if not given:
            body[names[0]] = MAX_OUTPUT_TOKENS
        return body
    return cap


def known_fields(operation_name: str) -> Step:
    """Only the request's documented top-level fields: an unknown one may be refused (a SHOULD,
    judged by `*.request.unknown-fields`), so it has no place in a request that must be
    answered."""
    def known(body: Any, model: str) -> Any:
        if not isinstance(body, dict):
            return body
        operation = OPERATIONS[operation_name]
        names = schemas.document(operation.document)["components"]["schemas"][
            operation.request_schema].get("properties", {})
        return {k: v for k, v in body.items() if k in names}
    return known


def text_only(message: Any, kinds: tuple[str, ...], key: str = "content") -> Any:
    if not isinstance(message, dict) or not isinstance(message.get(key), list):
        return message
    parts = [p for p in message[key] if isinstance(p, dict) and p.get("type") in kinds]
    return {**message, key: parts or SHORT_TEXT}



# --- the generation view of a document ---------------------------------------------------------


def generation_view(document: dict[str, Any], path: str, body_schema: Any) -> dict[str, Any]:
    """An OpenAPI document with one operation, `POST path`, whose JSON body is `body_schema`.

    The component schemas are rewritten for generation (see the module docstring): anything
    drawn from the view also validates against the original document.
    """
    components = copy.deepcopy(_view_components(json.dumps(document, sort_keys=True)))
    operation = {
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": _rewrite(body_schema, document)}}},
        "responses": {"200": {"description": "ok"}},
    }
    return {
        "openapi": document.get("openapi", "3.1.0"),
        "info": {"title": "generation view", "version": "0"},
        "paths": {path: {"post": operation}},
        "components": {"schemas": components},
    }


@cache
def _view_components(document_json: str) -> dict[str, Any]:
    """The rewritten component schemas (cached: each property's view shares them)."""
    document = json.loads(document_json)
    return {name: _rewrite(schema, document) for name, schema in
            document.get("components", {}).get("schemas", {}).items()}


def _rewrite(schema: Any, document: dict[str, Any]) -> Any:
    if isinstance(schema, list):
        return [_rewrite(item, document) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {k: v for k, v in schema.items()
              if not k.startswith("x-") and k not in _ANNOTATIONS}
    if _is_union(schema):
        return {"anyOf": [_rewrite(b, document) for b in _union_branches(schema, document)]}
    rewritten = {k: _rewrite_child(k, v, document) for k, v in schema.items()}
    return _bounded(rewritten)


def _rewrite_child(key: str, value: Any, document: dict[str, Any]) -> Any:
    if key in ("properties", "$defs", "patternProperties"):
        return {name: _rewrite(sub, document) for name, sub in value.items()}
    if key == "enum" or key == "const" or key == "required":
        return value
    return _rewrite(value, document)


def _bounded(schema: dict[str, Any]) -> dict[str, Any]:
    """Close objects and bound sizes, so drawn values stay small (and cost few tokens)."""
    types = schema.get("type")
    types = set(types) if isinstance(types, list) else {types}
    composite = any(k in schema for k in ("anyOf", "allOf", "oneOf", "not", "if"))
    if "properties" in schema and "additionalProperties" not in schema and not composite:
        schema["additionalProperties"] = False
    if ("object" in types and "properties" not in schema
            and "additionalProperties" not in schema and not composite):
        schema["maxProperties"] = min(schema.get("maxProperties", _FREE_OBJECT_LIMIT),
                                      _FREE_OBJECT_LIMIT)
        schema["additionalProperties"] = {"type": ["string", "integer", "boolean", "null"],
                                          "maxLength": _STRING_LIMIT}
    if "string" in types and not any(k in schema for k in ("enum", "const", "maxLength")):
        schema["maxLength"] = max(schema.get("minLength", 0), _STRING_LIMIT)
    if "array" in types and "maxItems" not in schema:
        schema["maxItems"] = max(schema.get("minItems", 0), _ARRAY_LIMIT)
    return schema


def _union_branches(schema: dict[str, Any], document: dict[str, Any]) -> list[dict[str, Any]]:
    """The flat alternatives of a discriminated `allOf: [{if, then, else}...]` union."""
    conditionals = [p for p in schema["allOf"] if isinstance(p, dict) and "if" in p]
    others = [p for p in schema["allOf"] if not (isinstance(p, dict) and "if" in p)]
    base = {k: v for k, v in schema.items() if k != "allOf"}
    if others:
        base["allOf"] = others
    key = _discriminator(conditionals)
    known = _known_values(base.get("properties", {}).get(key, {}))
    covered: list[Any] = []
    branches: list[dict[str, Any]] = []
    for part in conditionals:
        values = _if_values(part["if"], key)
        if values is None:  # `if: {not: {required: [key]}}`: the branch without the key
            branches += _merged_branches(_without(base, key), part["then"], document)
            continue
        covered += values
        pinned = _pinned(base, key, values)
        branches += _merged_branches(pinned, part.get("then", {}), document)
    rest = [v for v in known if v not in covered]
    if rest:
        otherwise = next((p["else"] for p in conditionals if "else" in p), {})
        branches += _merged_branches(_pinned(base, key, rest), otherwise, document)
    return branches


def _is_union(schema: dict[str, Any]) -> bool:
    """An `allOf` of `if`/`then` parts on one discriminator key. A conditional rule that names
    no single key (`if` one of two fields is set, `then` a third is required) is no union: it
    stays as it is, which schemathesis draws."""
    conditionals = [p for p in schema.get("allOf", []) if isinstance(p, dict) and "if" in p]
    return bool(conditionals) and len(_condition_keys(conditionals)) == 1


def _condition_keys(conditionals: list[dict[str, Any]]) -> set[str]:
    keys: set[str] = set()
    for part in conditionals:
        condition = part["if"]
        target = condition.get("not", condition)
        keys.update(target.get("required", []))
    return keys


def _discriminator(conditionals: list[dict[str, Any]]) -> str:
    keys = _condition_keys(conditionals)
    if len(keys) != 1:
        raise ValueError(f"not a discriminated if/then union (keys {sorted(keys)})")
    return keys.pop()


def _if_values(condition: dict[str, Any], key: str) -> list[Any] | None:
    if "not" in condition:
        return None
    prop = condition.get("properties", {}).get(key, {})
    return [prop["const"]] if "const" in prop else list(prop.get("enum", []))


def _known_values(prop: dict[str, Any]) -> list[Any]:
    if "const" in prop:
        return [prop["const"]]
    values = list(prop.get("enum", []))
    for branch in prop.get("anyOf", []):
        values += _known_values(branch)
    return values


def _pinned(base: dict[str, Any], key: str, values: list[Any]) -> dict[str, Any]:
    pinned = copy.deepcopy(base)
    value_schema = {"const": values[0]} if len(values) == 1 else {"enum": values}
    pinned.setdefault("properties", {})[key] = value_schema
    pinned["required"] = sorted(set(pinned.get("required", [])) | {key})
    return pinned


def _without(base: dict[str, Any], key: str) -> dict[str, Any]:
    stripped = copy.deepcopy(base)
    stripped.get("properties", {}).pop(key, None)
    stripped["required"] = [r for r in stripped.get("required", []) if r != key]
    return stripped


def _merged_branches(base: dict[str, Any], extra: Any,
                     document: dict[str, Any]) -> list[dict[str, Any]]:
    """`base` AND `extra` as flat objects; an `anyOf` in `extra` gives one branch per option."""
    extra = _resolve(extra, document)
    options = extra.get("anyOf")
    if options and any("properties" in _resolve(o, document) for o in options):
        rest = {k: v for k, v in extra.items() if k != "anyOf"}
        merged = []
        for option in options:
            merged += _merged_branches(_merge(base, rest), option, document)
        return merged
    return [_merge(base, extra)]


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if key == "properties":
            props = merged.setdefault("properties", {})
            for name, sub in value.items():
                if name in props and props[name] != sub and not _is_pin(props[name]):
                    props[name] = {"allOf": [props[name], sub]}
                elif name not in props:
                    props[name] = sub
        elif key == "required":
            merged["required"] = sorted(set(merged.get("required", [])) | set(value))
        elif key == "allOf":
            merged["allOf"] = merged.get("allOf", []) + value
        elif key not in merged:
            merged[key] = value
        elif merged[key] != value:
            merged.setdefault("allOf", []).append({key: value})
    return merged


def _is_pin(schema: Any) -> bool:
    return isinstance(schema, dict) and set(schema) <= {"const", "enum"}


def _resolve(schema: Any, document: dict[str, Any]) -> dict[str, Any]:
    while isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema if isinstance(schema, dict) else {}


# --- drawing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One generated request body and what makes it valid or invalid."""

    operation: str
    mode: str
    index: int
    body: Body
    target: str | None = None  # the property a negative case breaks
    mutation: str = ""  # how it was broken, in words
    violations: tuple[str, ...] = ()  # errors against the original request schema

    def label(self) -> str:
        if self.mode == POSITIVE:
            return f"positive #{self.index}"
        return f"negative #{self.index} ({self.mutation})"


def draw_cases(operation: Operation, mode: str, *, seed: int, count: int,
               model: str) -> list[Case]:
    """`count` cases of `mode` for `operation`; the same arguments give the same cases."""
    if count <= 0:
        return []
    if mode == POSITIVE:
        return _positive_cases(operation, seed, count, model)
    if mode == NEGATIVE:
        return _negative_cases(operation, seed, count, model)
    raise ValueError(f"unknown mode {mode!r}")


def make_cheap(operation: Operation, body: Body, model: str) -> Body:
    """Every cost-reducing step applied (positive cases)."""
    for _, step in operation.steps:
        body = step(body, model)
    return body


def make_cheap_keeping_violation(operation: Operation, body: Body, model: str) -> Body:
    """Each step applied only if the body stays invalid (negative cases keep their fault)."""
    for _, step in operation.steps:
        candidate = step(body, model)
        if operation.violations(candidate, limit=1):
            body = candidate
    return body


def _positive_cases(operation: Operation, seed: int, count: int, model: str) -> list[Case]:
    cases: list[Case] = []

    def accept(body: Body) -> bool:
        cheap = make_cheap(operation, body, model)
        if not _is_json(cheap) or operation.violations(cheap, limit=1) or _seen(cases, cheap):
            return False
        cases.append(Case(operation.name, POSITIVE, len(cases) + 1, cheap))
        return len(cases) >= count

    strategy = _body_strategy(operation.name, None, "positive")
    _run(strategy, _sub_seed(seed, operation.name, POSITIVE), count * _DRAWS_PER_CASE,
         lambda drawn: accept(drawn[0]))
    return cases


def _negative_cases(operation: Operation, seed: int, count: int, model: str) -> list[Case]:
    base = operation.base(model)
    if operation.violations(base):
        raise ValueError(f"the {operation.name} base body is invalid: {operation.violations(base)}")
    cases = [_missing(operation, base, name, index)
             for index, name in enumerate(_required(operation, base), start=1)][:count]
    targets = _shuffled_targets(operation, seed)
    position = 0
    while len(cases) < count and position < len(targets) * 2:
        name = targets[position % len(targets)]
        position += 1
        case = _negative_case(operation, base, name, model, seed, len(cases) + 1, position)
        if case is not None and not _seen(cases, case.body) and not (
                _has_non_object(cases) and not isinstance(case.body, dict)):
            cases.append(case)
    return cases


def _required(operation: Operation, base: dict[str, Any]) -> list[str]:
    """Properties the base body cannot do without (`required`, or an anyOf of requireds)."""
    return [name for name in base
            if operation.violations({k: v for k, v in base.items() if k != name}, limit=1)]


def _missing(operation: Operation, base: dict[str, Any], name: str, index: int) -> Case:
    body = {k: v for k, v in base.items() if k != name}
    return Case(operation.name, NEGATIVE, index, body, name,
                f"required `{name}` removed", tuple(operation.violations(body)))


def _shuffled_targets(operation: Operation, seed: int) -> list[str]:
    request = schemas.document(operation.document)["components"]["schemas"][
        operation.request_schema]
    names = sorted(request.get("properties", {}))
    random.Random(_sub_seed(seed, operation.name, "targets")).shuffle(names)
    return names


def _negative_case(operation: Operation, base: dict[str, Any], name: str, model: str,
                   seed: int, index: int, attempt: int) -> Case | None:
    found: list[Case] = []

    def accept(drawn: tuple[Body, str]) -> bool:
        value, mutation = drawn
        body = _with_property(base, name, value)
        if body is None or not _is_json(body) or not _leaves_no_name(body, name):
            return False
        body = make_cheap_keeping_violation(operation, body, model)
        violations = operation.violations(body)
        if not violations:
            return False  # the mutation only broke a bound of the generation view
        found.append(Case(operation.name, NEGATIVE, index, body, name,
                          _describe_mutation(name, body, mutation), tuple(violations)))
        return True

    strategy = _body_strategy(operation.name, name, "negative")
    _run(strategy, _sub_seed(seed, operation.name, NEGATIVE, name, attempt), _DRAWS_PER_CASE,
         accept)
    return found[0] if found else None


def _with_property(base: dict[str, Any], name: str, drawn: Body) -> Body | None:
    """The base body with `name` taken from a drawn single-property body."""
    if not isinstance(drawn, dict):
        return drawn  # the whole body has the wrong type: a case of its own
    if name not in drawn:
        return None  # the mutation removed an optional property: nothing invalid is left
    return {**base, name: drawn[name]}


def _leaves_no_name(body: Body, name: str) -> bool:
    """A case that breaks `model` breaks its type (a number, a boolean, null), never its value.

    A gateway may record each model name it is asked for (a listing, a metrics label, a route
    cache): "" or a random string would be left behind there, and a later run would meet it.
    Every model the suite names is the configured one or `refusals.UNKNOWN_MODEL`.
    """
    if name != "model" or not isinstance(body, dict):
        return True
    return body.get("model") is None or isinstance(body["model"], (bool, int, float))


def _describe_mutation(name: str, body: Body, mutation: str) -> str:
    if not isinstance(body, dict):
        return f"the body is {type(body).__name__}, not an object"
    shown = json.dumps(body.get(name), ensure_ascii=False)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return f"`{name}` = {shown}" + (f" [{mutation}]" if mutation else "")


def _has_non_object(cases: list[Case]) -> bool:
    # Any target's draw may replace the whole body; one such case per batch is enough.
    return any(not isinstance(c.body, dict) for c in cases)


def _seen(cases: list[Case], body: Body) -> bool:
    return any(c.body == body for c in cases)


def _is_json(body: Body) -> bool:
    try:
        json.dumps(body, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def _sub_seed(seed: int, *parts: object) -> int:
    """A stable per-stream seed (str hashes are salted per process; crc32 is not)."""
    return zlib.crc32(":".join(map(str, (seed, *parts))).encode())


# --- schemathesis and hypothesis ---------------------------------------------------------------


@cache
def _body_strategy(operation_name: str, target: str | None, mode: str) -> Any:
    """Bodies with their mutation note: of the whole request (target None) or of one property."""
    import schemathesis
    from schemathesis.config import SchemathesisConfig
    from schemathesis.generation import GenerationMode

    operation = OPERATIONS[operation_name]
    document = schemas.document(operation.document)
    body_schema: dict[str, Any] = {"$ref": f"#/components/schemas/{operation.request_schema}"}
    if target is not None:
        request = _resolve(body_schema, document)
        body_schema = {"type": "object", "required": [target], "additionalProperties": False,
                       "properties": {target: request["properties"][target]}}
    view = generation_view(document, operation.path, body_schema)
    # An explicit config: no schemathesis.toml is discovered from the working directory.
    config = SchemathesisConfig()
    # ASCII strings: readable evidence, and a string costs a gateway fewer tokens.
    config.projects.default.generation.update(with_security_parameters=False, allow_x00=False,
                                              allow_extra_parameters=False, codec="ascii")
    loaded = schemathesis.openapi.from_dict(view, config=config)
    api_operation = loaded[operation.path]["POST"]
    generation_mode = GenerationMode.NEGATIVE if mode == NEGATIVE else GenerationMode.POSITIVE
    strategy = api_operation.as_strategy(generation_mode=generation_mode)
    return strategy.map(lambda case: (case.body, _mutation_note(case)))


def _mutation_note(case: Any) -> str:
    data = getattr(getattr(case.meta, "phase", None), "data", None)
    mutations = getattr(data, "mutations", ()) or ()
    keywords = sorted({k for m in mutations for k in getattr(m, "keywords", ())})
    return "violates " + ", ".join(f"`{k}`" for k in keywords) if keywords else ""


class _Enough(Exception):
    """Raised from inside the hypothesis test to stop drawing once enough cases are kept."""


def _run(strategy: Any, seed: int, budget: int, accept: Callable[[Any], bool]) -> None:
    """Feed up to `budget` drawn examples to `accept` until it returns True (deterministic)."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as fixed_seed

    done = False

    @fixed_seed(seed)
    @settings(max_examples=budget, database=None, derandomize=False, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck),
              verbosity=Verbosity.quiet, print_blob=False, report_multiple_bugs=False)
    @given(strategy)
    def feed(drawn: Any) -> None:
        nonlocal done
        if done or accept(drawn):
            done = True
            raise _Enough

    with _without_local_constants(), contextlib.suppress(_Enough):
        feed()


@contextlib.contextmanager
def _without_local_constants() -> Iterator[None]:
    """Draw without hypothesis' "local constants" (literals it scans from every loaded module).

    They would make the cases depend on which of our modules happen to be imported, so a seed
    would not replay the same cases from `pytest`, `conformance run --select` or a newer check.
    """
    from hypothesis.internal.conjecture import providers

    original = providers._get_local_constants
    providers._get_local_constants = providers.Constants
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = original
        providers.CONSTANTS_CACHE.cache.clear()


# --- sending, judging and summarising ----------------------------------------------------------


@dataclass
class Sent:
    """A generated case and the recorded exchange it produced (the plugin keeps it as evidence)."""

    case: Case
    exchange: Exchange

    @property
    def status(self) -> int | None:
        return self.exchange.status

    def request(self, limit: int = 400) -> str:
        text = json.dumps(self.case.body, ensure_ascii=False)
        return text if len(text) <= limit else text[: limit - 3] + "..."


def requests(operation: Operation, mode: str, config: Config,
             model: str) -> list[tuple[Case, Request]]:
    """The run's cases (`--cases`, `--seed`: the same seed draws the same cases) for `model`
    (the model of the operation's family), each with the request that sends it (an `@exchange`
    builder's result)."""
    path = operation.request_path(model) if operation.request_path else operation.path
    return [(case, post(path, case.body)) for case in draw_cases(
        operation, mode, seed=config.seed, count=config.cases, model=model)]


# What an `@exchange` of `requests` records: each case with its exchange.
RecordedCases = list[tuple[Case, Exchange]]


def sent(recorded: RecordedCases) -> list[Sent]:
    """The recorded cases of `requests`, as the judges read them."""
    return [Sent(case, exchange) for case, exchange in recorded]


def summary(sent: list[Sent], *, seed: int, mode: str) -> dict[str, Any]:
    """What the report shows for a batch: seed, cases, requests, statuses and tokens spent."""
    cost = usage_stats({s.exchange.id: s.exchange.evidence() for s in sent})
    statuses = Counter(str(s.status) if s.status is not None else "no response" for s in sent)
    return {
        "seed": seed,
        "mode": mode,
        "cases": len(sent),
        "requests": cost["requests"],
        "input_tokens": cost["input_tokens"],
        "output_tokens": cost["output_tokens"],
        "statuses": dict(sorted(statuses.items())),
    }


# Statuses that speak about the key, the account or the rate limit: the harness, not the spec.
HARNESS_STATUSES = {401: "API key rejected", 403: "access refused", 429: "rate-limited"}


def harness_trouble(sent: Sent) -> str | None:
    exchange = sent.exchange
    reason = exchange.transport_error or exchange.cut
    if reason is None and exchange.status in HARNESS_STATUSES:
        reason = f"HTTP {exchange.status} ({HARNESS_STATUSES[exchange.status]})"
    return f"{sent.case.label()}: {reason}" if reason else None


def rejection_problem(operation: Operation, sent: Sent) -> str | None:
    """Why a negative case's answer is not a 4xx with the error envelope (None: it is)."""
    status = sent.status or 0
    if not 400 <= status < 500:
        kind = "accepted" if 200 <= status < 300 else "answered"
        return (f"{sent.case.label()}: {kind} with HTTP {status}, expected a 4xx; "
                f"it violates {sent.case.violations[0]}; body {sent.request()}")
    envelope = schemas.errors(operation.document, "ErrorResponse", sent.exchange.json_or_none(),
                              limit=3)
    if envelope:
        return (f"{sent.case.label()}: HTTP {status} without the error envelope "
                f"({'; '.join(envelope)}): {sent.exchange.body[:200]!r}")
    return None


def conformance_problems(operation: Operation, sent: Sent) -> list[str]:
    """Why a positive case's 2xx/5xx answer breaks the response contract (empty: it does not)."""
    status = sent.status or 0
    label = f"{sent.case.label()} (HTTP {status})"
    if status >= 500:
        return [f"{label}: a valid request got a server error: {sent.exchange.body[:200]!r}; "
                f"body {sent.request()}"]
    if not 200 <= status < 300:
        return []
    streamed = isinstance(sent.case.body, dict) and sent.case.body.get("stream") is True
    if streamed != sent.exchange.is_sse:
        asked = "a stream" if streamed else "a JSON body"
        return [f"{label}: asked for {asked}, got Content-Type "
                f"{sent.exchange.media_type or '(none)'}; body {sent.request()}"]
    found = _event_problems(operation, sent) if streamed else _body_problems(operation, sent)
    return [f"{label}: {problem}" for problem in found]


def _body_problems(operation: Operation, sent: Sent) -> list[str]:
    body = sent.exchange.json_or_none()
    if body is None:
        return [f"the body is not JSON: {sent.exchange.body[:200]!r}"]
    return [f"{operation.response_schema}: {e}"
            for e in schemas.errors(operation.document, operation.response_schema, body, 3)]


def _event_problems(operation: Operation, sent: Sent) -> list[str]:
    contract = stream_contract(operation.document, operation.path)
    problems: list[str] = []
    for event in sent.exchange.events:
        if event.data.strip() in contract.terminators:
            continue
        payload = event_json(event)
        if payload is None and event.data.strip() != "null":
            problems.append(f"event #{event.index} is not JSON: {event.data[:200]!r}")
            continue
        schema = contract.schema_for(payload)
        problems += [f"event #{event.index} ({schema}): {e}"
                     for e in schemas.errors(operation.document, schema, payload, 3)]
    return problems[:6]


def declined(sent: Sent) -> str | None:
    """A positive case the gateway refused with a 4xx (account statuses aside), in words."""
    status = sent.status or 0
    if 400 <= status < 500 and status not in HARNESS_STATUSES:
        return f"{sent.case.label()}: HTTP {status} {error_message(sent.exchange)[:200]}"
    return None


def refusal_problem(operation: Operation, sent: Sent) -> str | None:
    """Why a refused positive case is not a clean refusal (None: it was not refused, or its
    4xx carries the error envelope). Without the envelope a client cannot tell a refusal from
    a fault, whatever the reason for refusing."""
    if declined(sent) is None:
        return None
    envelope = schemas.errors(operation.document, "ErrorResponse", sent.exchange.json_or_none(),
                              limit=3)
    if not envelope:
        return None
    return (f"{sent.case.label()}: a valid request was refused with HTTP {sent.status} without "
            f"the error envelope ({'; '.join(envelope)}): {sent.exchange.body[:200]!r}; "
            f"body {sent.request()}")


def all_refused_problem(refused: list[str], judged: list[Sent]) -> str | None:
    """A gateway that refuses every valid generated request refuses valid input.

    A single clean refusal may be right: the documents do not encode every rule the API keeps
    (a parameter a model does not take, a tool kind a gateway does not relay), so a 4xx with the
    envelope on some cases is noted, not failed. Refusing all of them is refusing the request
    schema itself, and `generated` is a core feature: a failure, never `not_supported`.
    """
    if not judged or len(refused) < len(judged):
        return None
    return (f"all {len(judged)} valid generated requests were refused with a 4xx: the gateway "
            f"answers none of the bodies the request schema allows, e.g. {refused[0]}")


def judge_negative(operation: Operation, sent: list[Sent], config: Config) -> None:
    """The verdict of a `*.generated.rejects-invalid` check on its sent negative cases."""
    _skip_without_cases(sent)
    record(**summary(sent, seed=config.seed, mode=NEGATIVE),
           mutations=shown(s.case.mutation for s in sent))
    trouble, judged = _split_harness_trouble(sent)
    problems = Problems()
    problems.items += [p for item in judged if (p := rejection_problem(operation, item))]
    _raise(problems, trouble, f"schema-invalid {operation.name} requests were not refused "
           f"with a 4xx and the error envelope (seed {config.seed})",
           expected=f"HTTP 4xx with the error envelope ({operation.document} ErrorResponse)")


def judge_positive(operation: Operation, sent: list[Sent], config: Config) -> None:
    """The verdict of a `*.generated.schema-conformance` check on its sent positive cases."""
    _skip_without_cases(sent)
    refused = [d for s in sent if (d := declined(s))]
    record(**summary(sent, seed=config.seed, mode=POSITIVE), declined=shown(refused))
    trouble, judged = _split_harness_trouble(sent)
    problems = Problems()
    for item in judged:
        problems.items += conformance_problems(operation, item)
        if problem := refusal_problem(operation, item):
            problems.add(problem)
    if problem := all_refused_problem(refused, judged):
        problems.add(problem)
    _raise(problems, trouble, f"valid generated {operation.name} requests were refused, got a "
           f"5xx or an answer that breaks the response schema (seed {config.seed})",
           expected=f"no 5xx; a 4xx only with the error envelope, and not for every case; "
           f"2xx bodies valid against {operation.response_schema}")


def _split_harness_trouble(sent: list[Sent]) -> tuple[list[str], list[Sent]]:
    """Why some cases cannot be judged (transport, key, rate limit), and the cases that can."""
    trouble: list[str] = []
    judged: list[Sent] = []
    for item in sent:
        reason = harness_trouble(item)
        if reason is None:
            judged.append(item)
        else:
            trouble.append(reason)
    return trouble, judged


def _skip_without_cases(sent: list[Sent]) -> None:
    if not sent:
        pytest.skip("no generated cases (--cases 0)")


def _raise(problems: Problems, trouble: list[str], summary_text: str, *, expected: str) -> None:
    if problems.items:
        problems.items += trouble  # judged cases fail the check; the rest are noted with them
        problems.raise_if_any(summary_text, expected=expected)
    if trouble:
        raise HarnessError("generated cases could not be judged: " + "; ".join(shown(trouble, 5)))


def shown(items: Iterable[str], limit: int = 12) -> list[str]:
    """At most `limit` items, with a note of how many were left out."""
    items = list(items)
    more = [f"... and {len(items) - limit} more"] if len(items) > limit else []
    return items[:limit] + more
