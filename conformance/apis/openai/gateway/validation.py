"""Typed, path-aware access to request JSON.

Each accessor returns the value (None when absent or null: OpenAI treats an explicit null like
an omitted optional parameter) or raises a 400 ``ApiError`` whose message and ``param`` name
the field by its full path, e.g. ``messages[2].tool_call_id``. Messages and codes follow the
style of OpenAI's own validation errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from conformance.gateway.errors import ApiError, server_error

from .errors import bad_request, invalid_json, missing_parameter
from .models import DEFAULT_MODEL, ModelInfo

JSONObject = dict[str, Any]
Parsed = TypeVar("Parsed")

# Vocabularies both endpoints accept.
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
SERVICE_TIERS = ("auto", "default", "flex", "scale", "priority")


def parse_json_object(raw: bytes) -> JSONObject:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise invalid_json() from exc
    if not isinstance(body, dict):
        raise bad_request(
            f"Invalid request body: expected a JSON object, but got {describe(body)} instead.",
            code="invalid_type",
        )
    return body


def asks_stream(raw: bytes) -> bool:
    """Whether a raw request body, valid or not, is a JSON object with `stream: true` (how a
    gateway that streams before validating decides to answer with a stream)."""
    try:
        body = json.loads(raw)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("stream") is True


def describe(value: Any) -> str:
    """The JSON type of a value, with an article, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def quote_list(values: Sequence[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def invalid_type(param: str, expected: str, value: Any) -> ApiError:
    return bad_request(
        f"Invalid type for '{param}': expected {expected}, but got {describe(value)} instead.",
        param,
        "invalid_type",
    )


def invalid_value(param: str, value: Any, allowed: Sequence[str]) -> ApiError:
    return bad_request(
        f"Invalid value for '{param}': {json.dumps(value)}. "
        f"Supported values are: {quote_list(allowed)}.",
        param,
        "invalid_value",
    )


def unsupported_with_model(param: str, model: ModelInfo) -> ApiError:
    return bad_request(
        f"Unsupported parameter: '{param}' is not supported with the model '{model.id}'.",
        param, "unsupported_parameter")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Fields:
    """Accessors over one JSON object found at ``path`` in the request."""

    def __init__(self, obj: Mapping[str, Any], path: str = "") -> None:
        self.obj = obj
        self.path = path

    def param(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def present(self, name: str) -> bool:
        return self.obj.get(name) is not None

    def _get(self, name: str, required: bool) -> Any:
        value = self.obj.get(name)
        if value is None and required:
            raise missing_parameter(self.param(name))
        return value

    def _typed(self, name: str, required: bool, kind: type, expected: str) -> Any:
        """The value if absent, null or of Python type ``kind``; else an invalid_type error."""
        value = self._get(name, required)
        if value is not None and not isinstance(value, kind):
            raise invalid_type(self.param(name), expected, value)
        return value

    def string(self, name: str, *, required: bool = False, max_length: int | None = None) -> Any:
        value = self._typed(name, required, str, "a string")
        if value is not None and max_length is not None and len(value) > max_length:
            raise bad_request(
                f"Invalid '{self.param(name)}': string too long. Expected a string with maximum "
                f"length {max_length}, but got a string with length {len(value)} instead.",
                self.param(name),
                "string_above_max_length",
            )
        return value

    def boolean(self, name: str, *, required: bool = False) -> bool | None:
        return self._typed(name, required, bool, "a boolean")

    def number(
        self, name: str, *, minimum: float | None = None, maximum: float | None = None
    ) -> float | None:
        value = self._get(name, False)
        if value is None:
            return None
        if not _is_number(value):
            raise invalid_type(self.param(name), "a decimal", value)
        self._check_range(name, value, minimum, maximum, "decimal")
        return value

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        value = self._get(name, required)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise invalid_type(self.param(name), "an integer", value)
        self._check_range(name, value, minimum, maximum, "integer")
        return value

    def _check_range(
        self, name: str, value: float, minimum: float | None, maximum: float | None, kind: str
    ) -> None:
        param = self.param(name)
        if minimum is not None and value < minimum:
            raise bad_request(
                f"Invalid '{param}': {kind} below minimum value. Expected a value >= {minimum}, "
                f"but got {value} instead.",
                param,
                f"{kind}_below_min_value",
            )
        if maximum is not None and value > maximum:
            raise bad_request(
                f"Invalid '{param}': {kind} above maximum value. Expected a value <= {maximum}, "
                f"but got {value} instead.",
                param,
                f"{kind}_above_max_value",
            )

    def choice(self, name: str, allowed: Sequence[str], *, required: bool = False) -> Any:
        value = self.string(name, required=required)
        if value is not None and value not in allowed:
            raise invalid_value(self.param(name), value, allowed)
        return value

    def object(self, name: str, *, required: bool = False) -> JSONObject | None:
        return self._typed(name, required, dict, "an object")

    def array(
        self,
        name: str,
        *,
        required: bool = False,
        min_items: int = 0,
        max_items: int | None = None,
    ) -> list[Any] | None:
        value = self._typed(name, required, list, "an array")
        if value is None:
            return None
        param = self.param(name)
        if len(value) < min_items:
            raise bad_request(
                f"Invalid '{param}': empty array. Expected an array with minimum length "
                f"{min_items}, but got an empty array instead.",
                param,
                "empty_array",
            )
        if max_items is not None and len(value) > max_items:
            raise bad_request(
                f"Invalid '{param}': array too long. Expected an array with maximum length "
                f"{max_items}, but got an array with length {len(value)} instead.",
                param,
                "array_above_max_length",
            )
        return value

    def child(self, name: str, *, required: bool = False) -> Fields | None:
        """Fields of the nested object ``name``, or None when it is absent."""
        value = self.object(name, required=required)
        return None if value is None else Fields(value, self.param(name))

    def item(self, name: str, index: int) -> Fields:
        """Fields of the object at ``name[index]`` (which must be an object)."""
        value = self.obj[name][index]
        path = f"{self.param(name)}[{index}]"
        if not isinstance(value, dict):
            raise invalid_type(path, "an object", value)
        return Fields(value, path)

    def metadata(self, name: str = "metadata") -> dict[str, str] | None:
        """Up to 16 string pairs, keys up to 64 and values up to 512 characters."""
        value = self.object(name)
        if value is None:
            return None
        param = self.param(name)
        if len(value) > 16:
            raise bad_request(
                f"Invalid '{param}': too many properties. Expected an object with at most 16 "
                f"properties, but got an object with {len(value)} properties instead.",
                param,
                "object_above_max_properties",
            )
        entries = Fields(value, param)
        for key, item in value.items():
            if len(key) > 64:
                raise bad_request(
                    f"Invalid '{param}': key '{key[:20]}…' is longer than 64 characters.",
                    param,
                    "invalid_value",
                )
            entries.string(key, max_length=512)
            if item is None:  # string() takes null for "absent"; a metadata value must be set
                raise invalid_type(f"{param}.{key}", "a string", item)
        return value


def check_function_name(name: str, param: str) -> None:
    """Function names: 1-64 characters of a-z, A-Z, 0-9, underscore and dash."""
    if not name or len(name) > 64 or not all(c.isascii() and (c.isalnum() or c in "_-")
                                             for c in name):
        raise bad_request(
            f"Invalid '{param}': string does not match pattern. Expected a string that matches "
            f"the pattern '^[a-zA-Z0-9_-]{{1,64}}$'.",
            param,
            "invalid_value",
        )


# --- the spec as the last word ----------------------------------------------------------------

_JSON_TYPES = {"string": "a string", "integer": "an integer", "number": "a decimal",
               "boolean": "a boolean", "object": "an object", "array": "an array",
               "null": "null"}


def parse_checked(
    body: JSONObject,
    parse: Callable[[JSONObject], Parsed],
    document: str,
    schema: str,
    *,
    default_missing_model: bool = False,
    crash_on_wrong_type: bool = False,
) -> Parsed:
    """``parse(body)``, then ``check_against_spec``: the request as the handler uses it.

    The two flags are fault hooks both endpoints share: ``default_missing_model`` serves a body
    without ``model`` from the default model instead of refusing it, ``crash_on_wrong_type``
    turns a wrong-typed field into a 500 instead of a 400.
    """
    if default_missing_model and body.get("model") is None:
        body["model"] = DEFAULT_MODEL  # the bug: a default model instead of a 400
    try:
        parsed = parse(body)
        check_against_spec(body, document, schema)
    except ApiError as error:
        if crash_on_wrong_type and error.code == "invalid_type":
            raise server_error() from error  # the bug: float(value) raises, nothing catches it
        raise
    return parsed


def check_against_spec(body: JSONObject, document: str, schema: str) -> None:
    """Refuse what our OpenAPI request schema forbids and the accessors above never look at.

    The hand-written checks run first (they give OpenAI's messages for the fields the gateway
    interprets); this catches the rest, e.g. a malformed `audio`, `prompt` or `moderation`
    object, or an explicit null where the official schema is not nullable.
    """
    from jsonschema.exceptions import best_match

    from conformance import schemas

    error = best_match(schemas.validator(document, schema).iter_errors(body))
    if error is not None:
        raise _spec_error(error)


def _spec_error(error: Any) -> ApiError:
    param = _param(error.absolute_path)
    if error.validator == "required":
        missing = next(name for name in error.validator_value if name not in error.instance)
        return missing_parameter(f"{param}.{missing}" if param else missing)
    if error.validator == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) \
            else [error.validator_value]
        expected = " or ".join(_JSON_TYPES.get(t, t) for t in wanted)
        return invalid_type(param or "body", expected, error.instance)
    if error.validator in ("enum", "const"):
        allowed = error.validator_value if error.validator == "enum" else [error.validator_value]
        return invalid_value(param or "body", error.instance, [str(v) for v in allowed])
    return bad_request(f"Invalid '{param or 'body'}': {error.message[:200]}", param or None,
                       "invalid_value")


def _param(parts: Sequence[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
