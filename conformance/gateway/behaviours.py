"""Model behaviours: how the reference gateway's model words its answers, apart from faults.

A fault breaks the API contract; a behaviour does not. Every behaviour is a *clean* gateway:
the serving stack honours each API parameter exactly (token caps cut the text token-exactly,
``stop`` cuts it before the first stop sequence, ``n`` gives n choices, a forced
``tool_choice`` makes the calls, JSON modes decode to valid JSON, usage is counted). Only the
wording, the part a conformance verdict must never depend on, changes:

- ``obedient`` (the default): the model follows the prompt, e.g. it counts when asked to.
- ``fixed-reply``: the model ignores the prompt, like the fixed-reply mocks and the tiny models
  real gateways serve. Every text answer is :data:`FIXED_REPLY`, whatever was asked (a tool
  result, a search, a counting prompt); constrained decoding still yields JSON for
  ``json_object`` (``{"answer": FIXED_REPLY}``) and a schema instance for ``json_schema``. It
  never chooses a tool on its own (``tool_choice`` "auto" or absent): it answers in text. A
  tool the request forces (by name, or "required") is called, because the server enforces that.

A behaviour applies to every path under ``/behaviour/<name>/v1`` (see ``app``), or to plain
``/v1`` paths when the gateway is started with it (``conformance serve --behaviour NAME``).
"""

from __future__ import annotations

from typing import Any

from . import generation as gen

OBEDIENT = "obedient"
FIXED_REPLY = "fixed-reply"

BEHAVIOURS = {
    OBEDIENT: "the model follows the prompt (counts when asked to, echoes the subject, ...)",
    FIXED_REPLY: "the model ignores the prompt: every text answer is one fixed sentence and it "
                 "calls a tool only when tool_choice forces one; every API parameter is still "
                 "honoured",
}

# ASCII, no digits, no JSON, one sentence of 29 o200k tokens: longer than every cap the suite
# sets to cut an answer (Chat 5 and 16, Responses max_output_tokens 16, its documented minimum),
# so each cap has something to cut, and shorter than the room the suite leaves for a whole answer
# (Chat 48, Responses 96), JSON wrapping included. Free of the strings a prompt could ask for.
FIXED_REPLY_TEXT = ("I am a fixed reply from a mock model: I say this same sentence whatever you "
                    "ask, and I never follow the instructions in a prompt.")


def ignores_instructions(behaviour: str | None) -> bool:
    return behaviour == FIXED_REPLY


def chooses_tools(behaviour: str | None, tool_choice: Any) -> bool:
    """Whether the model may call a tool that ``tool_choice`` leaves to it ("auto"/absent)."""
    return not (ignores_instructions(behaviour) and tool_choice in (None, "auto"))


def fixed_json_object() -> str:
    """What JSON mode decodes the fixed reply to."""
    return gen.compact_json({"answer": FIXED_REPLY_TEXT})
