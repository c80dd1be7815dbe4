"""Secrets never reach any output."""

from __future__ import annotations

from conformance.redact import REDACTED, Redactor

KEY = "sk-test-abcdefghijklmnop1234"


def test_known_secret_is_removed_everywhere() -> None:
    redactor = Redactor([KEY])
    assert KEY not in redactor.text(f'{{"echo": "{KEY}"}} and ?key={KEY}')


def test_credential_headers_are_masked_keeping_the_scheme() -> None:
    redactor = Redactor([KEY])
    headers = dict(redactor.headers([("Authorization", f"Bearer {KEY}"),
                                     ("x-api-key", "abc123456789"),
                                     ("api-key", "zzz"),
                                     ("Content-Type", "application/json"),
                                     ("x-ratelimit-remaining-tokens", "99")]))
    assert headers["Authorization"] == f"Bearer {REDACTED}"
    assert headers["x-api-key"] == REDACTED
    assert headers["api-key"] == REDACTED
    assert headers["Content-Type"] == "application/json"
    assert headers["x-ratelimit-remaining-tokens"] == "99"


def test_key_shaped_strings_are_removed_even_when_unknown() -> None:
    text = Redactor().text("Bearer abcdefghijkl and sk-proj-ABCDEFGHIJKL")
    assert "abcdefghijkl" not in text and "ABCDEFGHIJKL" not in text
