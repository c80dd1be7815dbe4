"""The Gemini family: `POST /v1beta/models/{model}:generateContent` and its streamed and
counting siblings (check ids `gemini.…`), the key in `x-goog-api-key` as the google-genai SDK
sends it."""

from collections.abc import Sequence
from typing import Any

from conformance.family import ApiFamily, Auth, Endpoint
from conformance.shapes import count, member


def reported_tokens(payloads: Sequence[Any]) -> tuple[int, int]:
    """The last `usageMetadata` (a stream's counts grow chunk by chunk): the prompt in, the
    candidates and thoughts out."""
    found = [u for p in payloads if isinstance(u := member(p, "usageMetadata"), dict)]
    if not found:
        return 0, 0
    usage = found[-1]
    return (count(usage.get("promptTokenCount")),
            count(usage.get("candidatesTokenCount")) + count(usage.get("thoughtsTokenCount")))


FAMILY = ApiFamily(
    name="gemini",
    title="Gemini",
    package=__name__,
    endpoints=(Endpoint("gemini", "POST", "/models/{model}:generateContent", prefix="/v1beta"),),
    documents=("gemini.yaml",),
    # The API also takes the key as `?key=` (curl examples, older clients).
    auth=Auth("x-goog-api-key", query="key"),
    default_model="gemini-2.5-flash",
    model_env="GEMINI_MODEL",
    key_env="GEMINI_API_KEY",  # as the google-genai SDK reads it
    gateway=f"{__name__}.gateway.surface",
    reported_tokens=reported_tokens,
)
