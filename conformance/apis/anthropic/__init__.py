"""The Anthropic Messages family: ``POST /v1/messages``, ``count_tokens`` and the Anthropic shape
of ``GET /v1/models``."""
