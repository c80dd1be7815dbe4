"""The Anthropic Messages family: `POST /v1/messages` and `POST /v1/messages/count_tokens`
(check ids `messages.…`), keys in `x-api-key` with the `anthropic-version` header, as the
official SDKs send them."""

from conformance.family import ApiFamily, Auth, Endpoint

# The version every official SDK sends; the only one the API documents for the Messages API.
ANTHROPIC_VERSION = "2023-06-01"

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
    gateway=f"{__name__}.gateway.surface",
)
