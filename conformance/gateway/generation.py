"""Deterministic "model" output: answer text, JSON instances of schemas, token-exact cuts.

Everything here is a pure function of the request, so the same request always yields the same
text and the same usage, streamed or not. Generated text is ASCII (user words are filtered,
JSON is serialised with ``ensure_ascii``), but for a phrase the user asks to have repeated;
a streamed piece is one token, or, where the BPE splits one character over several tokens (an
emoji), the tokens that complete it: the deltas always concatenate to the non-streamed text.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conformance import tokens

SENTENCES = (
    "The short answer is that it depends on the context, but the usual choice works well in "
    "most cases.",
    "A good first step is to write down what you already know and then check each assumption "
    "one at a time.",
    "Most experts agree that small, regular improvements beat rare and dramatic changes over "
    "the long run.",
    "It helps to compare two or three options side by side before you commit to any of them.",
    "The simplest explanation is usually the right one, so start there and add detail only "
    "when needed.",
    "In practice the result is stable, repeatable and easy to verify with a quick test.",
    "There are several ways to look at this, and each of them leads to the same conclusion.",
    "Keep the goal in mind, measure the outcome, and adjust the plan when the facts change.",
)

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")


def digest(*parts: Any) -> int:
    """A stable integer hash of JSON-serialisable parts (Python's hash() is salted)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=True, default=str)
    return int.from_bytes(hashlib.sha256(blob.encode()).digest()[:8], "big")


def stable_id(prefix: str, *parts: Any, length: int = 24) -> str:
    return prefix + hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:length]


def topic(text: str, max_words: int = 5) -> str:
    """The first few ASCII words of ``text``; used to echo the user without non-ASCII text."""
    return " ".join(_WORD.findall(text)[:max_words])


def last_user_text(messages: Iterable[Mapping[str, Any]]) -> str:
    """The text of the last user message (chat messages, or Responses ``message`` items)."""
    for message in reversed(list(messages)):
        if message.get("role") == "user":
            return tokens.content_text(message.get("content"))
    return ""


def _sentence(conversation: Any, variant: int) -> str:
    return SENTENCES[(digest(conversation) + variant) % len(SENTENCES)]


def answer_text(conversation: Any, last_user_text: str, variant: int = 0) -> str:
    """A ~20-40 token answer that depends only on the conversation (and the choice index)."""
    subject = topic(last_user_text)
    opening = f'On "{subject}":' if subject else "Here is a short answer."
    return f"{opening} {_sentence(conversation, variant)}"


def tool_result_answer(conversation: Any, tool_output: str, variant: int = 0) -> str:
    subject = topic(tool_output, max_words=8)
    opening = f"The tool reported: {subject}." if subject else "The tool returned no text."
    return f"{opening} {_sentence(conversation, variant)}"


# "Search the web: ..." and the like instruct the model; they are not part of what it searches.
_SEARCH_INSTRUCTION = re.compile(
    r"^\s*(please\s+)?(search|look\s+up)(\s+the\s+web|\s+online)?(\s+for)?\s*[:,-]?\s*",
    re.IGNORECASE)


def search_query(last_user_text: str) -> str:
    """The query a web search runs for: the user's first sentence, without the instruction."""
    request = _SEARCH_INSTRUCTION.sub("", last_user_text, count=1)
    first_sentence = re.split(r"(?<=[.?!])\s", request, maxsplit=1)[0]
    return topic(first_sentence, max_words=12) or topic(last_user_text, max_words=12) or "news"


def search_answer_text(conversation: Any, query: str) -> str:
    """The answer after a web search: it names the query, then a stable sentence."""
    return f'The web search for "{query}" found this: {_sentence(conversation, 0)}'


def reasoning_text(last_user_text: str) -> str:
    """The (summarised) reasoning of the reasoning model, counted as reasoning tokens."""
    subject = topic(last_user_text, max_words=3) or "the request"
    return f"Plan: answer {subject} briefly."


_COUNT_REQUEST = re.compile(r"\bcount from (\d+) to (\d+)", re.IGNORECASE)


def counting_answer(user_text: str) -> str | None:
    """A counting prompt ("Count from 1 to 10") gets the count, as a model answers it."""
    match = _COUNT_REQUEST.search(user_text)
    if match is None or not 0 <= int(match[2]) - int(match[1]) <= 100:
        return None
    return ", ".join(str(n) for n in range(int(match[1]), int(match[2]) + 1))


_ECHO_REQUEST = re.compile(r"\brepeat (?:this|the following)[^:]*:\s*(.+)",
                           re.IGNORECASE | re.DOTALL)


def echoed_phrase(user_text: str) -> str | None:
    """A request to repeat a phrase ("Repeat this phrase exactly: ...") gets the phrase back,
    accents, CJK and emoji included, as a model echoes it."""
    match = _ECHO_REQUEST.search(user_text)
    return match[1].strip() if match else None


def json_object_text(conversation: Any, last_user_text: str) -> str:
    return compact_json({"answer": answer_text(conversation, last_user_text)})


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True)


# --- JSON instances of JSON Schemas -------------------------------------------------------

_STRING_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "12:00:00",
    "duration": "P1D",
    "email": "user@example.com",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_MAX_DEPTH = 8


def schema_instance(schema: Any, root: Any = None, name: str = "value", depth: int = 0) -> Any:
    """A deterministic JSON value that validates against ``schema``.

    Handles the subset that function parameters and structured outputs use: ``$ref`` into
    ``$defs``/``definitions``, ``const``, ``enum``, ``anyOf``/``oneOf`` (first non-null branch),
    ``allOf`` (merged), type lists, objects (required, or all, properties), arrays (min/max
    items, prefixItems), strings (formats, lengths), numbers/integers (bounds, multipleOf),
    booleans and null. ``pattern`` is not solved.
    """
    root = schema if root is None else root
    if not isinstance(schema, dict):
        return f"sample {name}"  # a boolean/true schema accepts anything
    if "$ref" in schema:
        return schema_instance(_resolve(schema["$ref"], root), root, name, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for union in ("anyOf", "oneOf"):
        if schema.get(union):
            return schema_instance(_pick_branch(schema[union], root), root, name, depth + 1)
    if schema.get("allOf"):
        return schema_instance(_merge(schema), root, name, depth + 1)
    kind = _primary_type(schema)
    if kind == "object":
        return _object_instance(schema, root, depth)
    if kind == "array":
        return _array_instance(schema, root, name, depth)
    if kind == "integer":
        return int(_number_instance(schema, integer=True))
    if kind == "number":
        return _number_instance(schema, integer=False)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string_instance(schema, name)


def _resolve(ref: str, root: Any) -> Any:
    if not ref.startswith("#"):
        return {}
    node = root
    for part in ref.lstrip("#").strip("/").split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node


def _pick_branch(branches: list[Any], root: Any) -> Any:
    for branch in branches:
        target = _resolve(branch["$ref"], root) if isinstance(branch, dict) and "$ref" in branch \
            else branch
        if not (isinstance(target, dict) and target.get("type") == "null"):
            return branch
    return branches[0]


def _merge(schema: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"]:
        if not isinstance(part, dict):
            continue
        for key, value in part.items():
            if key == "properties":
                merged.setdefault("properties", {}).update(value)
            elif key == "required":
                merged["required"] = list(dict.fromkeys([*merged.get("required", []), *value]))
            else:
                merged.setdefault(key, value)
    return merged


def _primary_type(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"]
        return non_null[0] if non_null else "null"
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def _object_instance(schema: dict[str, Any], root: Any, depth: int) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    required = schema.get("required")
    if depth >= _MAX_DEPTH:
        names = list(required or [])  # stop recursion: only what must be there
    else:
        # Required names first, then the optional ones: a fuller instance exercises clients
        # better (deep nesting keeps only the required ones, see above).
        names = list(required or [])
        names += [n for n in properties if n not in names]
    return {key: schema_instance(properties.get(key, {}), root, key, depth + 1) for key in names}


def _array_instance(schema: dict[str, Any], root: Any, name: str, depth: int) -> list[Any]:
    prefix = schema.get("prefixItems") or []
    count = max(int(schema.get("minItems", 1)), len(prefix))
    if "maxItems" in schema:
        count = min(count, int(schema["maxItems"]))
    if depth >= _MAX_DEPTH:
        count = min(count, int(schema.get("minItems", 0)))
    items = []
    for index in range(count):
        item_schema = prefix[index] if index < len(prefix) else schema.get("items", {})
        value = schema_instance(item_schema, root, name, depth + 1)
        if isinstance(value, str) and index and not _is_fixed(item_schema):
            value = f"{value} {index + 1}"  # distinct items, for uniqueItems
        items.append(value)
    return items


def _is_fixed(schema: Any) -> bool:
    return isinstance(schema, dict) and bool({"const", "enum", "format", "$ref"} & schema.keys())


def _number_instance(schema: dict[str, Any], *, integer: bool) -> float:
    low = schema.get("minimum")
    if "exclusiveMinimum" in schema and isinstance(schema["exclusiveMinimum"], (int, float)):
        low = schema["exclusiveMinimum"] + (1 if integer else 0.5)
    high = schema.get("maximum")
    if "exclusiveMaximum" in schema and isinstance(schema["exclusiveMaximum"], (int, float)):
        high = schema["exclusiveMaximum"] - (1 if integer else 0.5)
    value: float = low if low is not None else (1 if integer else 1.5)
    if high is not None and value > high:
        value = high
    step = schema.get("multipleOf")
    if step:
        value = -(-value // step) * step  # round up to a multiple, staying >= minimum
        if high is not None and value > high:
            value -= step
    if integer:
        return int(value) if float(value).is_integer() else int(-(-value // 1))
    return value


def _string_instance(schema: dict[str, Any], name: str) -> str:
    value = _STRING_FORMATS.get(schema.get("format", ""), f"sample {name}")
    value = value.encode("ascii", "ignore").decode() or "sample"
    min_length = int(schema.get("minLength", 0))
    if len(value) < min_length:
        value += "x" * (min_length - len(value))
    if "maxLength" in schema:
        value = value[: int(schema["maxLength"])]
    return value


# --- token-exact generation ----------------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    """Text as the model emitted it: one decoded string per token (or per whole character)."""

    pieces: tuple[str, ...]
    truncated: bool  # cut by the token budget (finish_reason "length" / status incomplete)
    token_count: int

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def generate(
    text: str,
    encoding: str,
    *,
    max_tokens: int | None = None,
    stop: Sequence[str] = (),
) -> Generated:
    """Emit ``text`` token by token, ending before the first stop sequence or at the budget.

    The stop sequence itself is neither returned nor counted, like OpenAI's ``stop``.
    """
    hits = [text.find(s) for s in stop if s and s in text]
    if hits:
        text = text[: min(hits)]
    ids = tokens.encode(text, encoding)
    truncated = max_tokens is not None and len(ids) > max_tokens
    if truncated:
        ids = ids[:max_tokens]
    return Generated(_whole_characters(ids, encoding), truncated, len(ids))


def _whole_characters(ids: list[int], encoding: str) -> tuple[str, ...]:
    """One piece per token, except that a token ending inside a character waits for the tokens
    that complete it: no piece ever holds part of a character (a cut by the budget drops it)."""
    pieces: list[str] = []
    pending = b""
    for token in ids:
        pending += tokens.decode_bytes([token], encoding)
        try:
            pieces.append(pending.decode())
        except UnicodeDecodeError:
            continue
        pending = b""
    return tuple(pieces)


def functions_to_call(functions: Sequence[Mapping[str, Any]], tool_choice: Any,
                      forced: str | None, parallel: bool) -> list[Mapping[str, Any]]:
    """The functions a turn calls: none for tool_choice "none", else the ``forced`` one, every
    one for a parallel "required" turn, or the first."""
    if tool_choice == "none":
        return []
    if forced is not None:
        return [f for f in functions if f["name"] == forced][:1]
    if tool_choice == "required" and len(functions) > 1 and parallel:
        return list(functions)
    return list(functions[:1])


def generate_arguments(
    functions: Sequence[Mapping[str, Any]],
    encoding: str,
    budget: int | None,
    arguments_text: Callable[[Mapping[str, Any]], str],
) -> tuple[list[Generated], int]:
    """The arguments of one call per function, in order, all paid from one token budget.

    A call costs tokens(name) + tokens(arguments); generation stops after the first call whose
    arguments the budget cuts. Returns the arguments generated and the tokens used.
    """
    generated: list[Generated] = []
    used = 0
    for function in functions:
        name_tokens = tokens.count_text(function["name"], encoding)
        remaining = None if budget is None else max(0, budget - used - name_tokens)
        arguments = generate(arguments_text(function), encoding, max_tokens=remaining)
        generated.append(arguments)
        used += name_tokens + arguments.token_count
        if arguments.truncated:
            break
    return generated, used


def default_arguments(function: Mapping[str, Any]) -> Any:
    """A JSON instance of a function's parameter schema (an empty object without one)."""
    return schema_instance(function.get("parameters") or {"type": "object", "properties": {}})
