"""The Anthropic Messages family: `POST /v1/messages` and `POST /v1/messages/count_tokens`
(check ids `messages.…`), keys in `x-api-key` with the `anthropic-version` header, as the
official SDKs send them."""

from collections.abc import Sequence
from typing import Any

from conformance.family import ApiFamily, Auth, Endpoint
from conformance.shapes import count, member

# The version every official SDK sends; the only one the API documents for the Messages API.
ANTHROPIC_VERSION = "2023-06-01"



def reported_tokens(payloads: Sequence[Any]) -> tuple[int, int]:
    """Input tokens from the message (the body, or `message_start` of a stream), output tokens
    from the last count (a stream's `message_delta` carries the cumulative one)."""
    used_in = used_out = 0
    for payload in payloads:
        usage = member(payload, "usage")
        usage = usage if isinstance(usage, dict) else member(member(payload, "message"), "usage")
        if isinstance(usage, dict):
            used_in = max(used_in, count(usage.get("input_tokens")))
            used_out = count(usage.get("output_tokens")) if "output_tokens" in usage else used_out
    return used_in, used_out


FAMILY = ApiFamily(
    name="anthropic",
    title="Anthropic Messages",
    package=__name__,
    endpoints=(Endpoint("messages", "POST", "/messages"),),
    documents=("messages.yaml",),
    auth=Auth("x-api-key", extra=(("anthropic-version", ANTHROPIC_VERSION),)),
    default_model="claude-sonnet-4-6",
    model_env="ANTHROPIC_MODEL",  # as Claude Code reads it
    key_env="ANTHROPIC_API_KEY",  # as the anthropic SDK reads it
    reported_tokens=reported_tokens,
    gateway=f"{__name__}.gateway.surface",
)
