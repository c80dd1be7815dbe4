"""Usage (token) accounting rules shared by Chat Completions and Responses.

The two APIs name the same quantities differently; the arithmetic is the same:
total = input + output, cached <= input, reasoning <= output, all non-negative integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class UsageNames:
    input: str
    output: str
    input_details: str
    output_details: str


CHAT = UsageNames("prompt_tokens", "completion_tokens", "prompt_tokens_details",
                  "completion_tokens_details")
RESPONSES = UsageNames("input_tokens", "output_tokens", "input_tokens_details",
                       "output_tokens_details")


def is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def arithmetic_problems(usage: Any, names: UsageNames) -> list[str]:
    """Everything wrong with one usage object's numbers (empty list: consistent)."""
    if not isinstance(usage, dict):
        return [f"usage is {type(usage).__name__}, not an object"]
    keys = (names.input, names.output, "total_tokens")
    problems = [f"{key} = {usage.get(key)!r} is not a non-negative integer"
                for key in keys if not is_count(usage.get(key))]
    if problems:
        return problems
    inp, out, total = usage[names.input], usage[names.output], usage["total_tokens"]
    if total != inp + out:
        problems.append(f"total_tokens {total} != {names.input} {inp} + {names.output} {out}")
    cached = _detail(usage, names.input_details, "cached_tokens")
    if cached is not None and not (is_count(cached) and cached <= inp):
        problems.append(f"{names.input_details}.cached_tokens {cached!r} is not within 0..{inp}")
    reasoning = _detail(usage, names.output_details, "reasoning_tokens")
    if reasoning is not None and not (is_count(reasoning) and reasoning <= out):
        problems.append(
            f"{names.output_details}.reasoning_tokens {reasoning!r} is not within 0..{out}")
    return problems


def _detail(usage: dict[str, Any], group: str, key: str) -> Any:
    details = usage.get(group)
    return details.get(key) if isinstance(details, dict) else None


# --- over-billing: reported input tokens against a local count ------------------------------

# A local count can miss what a provider legitimately adds around the messages (per-message
# framing differs a little between model generations, tool definitions are serialized in an
# undocumented way). Beyond this margin the gateway reports tokens the client never sent.
BILLING_TOLERANCE_RATIO = 0.10
BILLING_TOLERANCE_TOKENS = 8


def billing_margin(local: int) -> int:
    return max(BILLING_TOLERANCE_TOKENS, round(local * BILLING_TOLERANCE_RATIO))


def billing_deviation(reported: int, local: int) -> int:
    """Tokens reported beyond the tolerated margin: > 0 over-billed, < 0 under-reported, 0 fine."""
    margin = billing_margin(local)
    if reported > local + margin:
        return reported - (local + margin)
    if reported < local - margin:
        return reported - (local - margin)
    return 0
