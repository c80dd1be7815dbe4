"""Removes secrets from everything the suite records or prints."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

REDACTED = "[REDACTED]"

# Header names that carry credentials at common gateways (OpenAI, Azure, Anthropic, Google) or
# say so (`X-Gateway-Token`; not a count such as `x-ratelimit-remaining-tokens`).
_SECRET_HEADER = re.compile(
    r"^(authorization|proxy-authorization|cookie|set-cookie|api-key|x-api-key|x-goog-api-key"
    r"|.*(api[-_]?key|secret|token(?!s)|password|credential).*)$",
    re.IGNORECASE,
)
# Bearer tokens and key-shaped strings that may appear in bodies even if we never saw the value.
_KEY_SHAPES = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._\-]{8,})")


def is_credential_header(name: str) -> bool:
    """True for a header name that carries a credential (its value is a secret)."""
    return bool(_SECRET_HEADER.match(name))


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Each secret also as a query string carries it (`?key=`): percent-encoded.
        found = {form for s in secrets if s for form in (s, quote_plus(s), quote(s, safe=""))}
        self._secrets = sorted(found, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            value = value.replace(secret, REDACTED)
        return _KEY_SHAPES.sub(REDACTED, value)

    def header(self, name: str, value: str) -> str:
        if is_credential_header(name):
            scheme = value.split(" ", 1)[0] if " " in value else ""
            return f"{scheme} {REDACTED}".strip() if scheme.lower() == "bearer" else REDACTED
        return self.text(value)

    def headers(self, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(name, self.header(name, value)) for name, value in pairs]
