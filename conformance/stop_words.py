"""The stop-sequence experiment, for any API family: a stop string taken from the model's own
answer.

No prompt makes every model write a given string (tiny models and fixed-reply mocks ignore
"count to 10"), so a family's checks ask nothing special: they take a word from the middle of
the plain answer and send the same request again with that word as its stop string. Whatever
the model, an answer that still shows the word proves the stop string was ignored; an answer
equal to the plain one cut just before the word shows it was honoured; an answer that went
elsewhere shows nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

# Words of three letters or more: a shorter stop string would also match inside other words.
_WORD = re.compile(r"[A-Za-z]{3,}")

# What an answer to the stop request shows (None: nothing, it went elsewhere).
LEAKED = "leaked"  # it contains the stop string
STOPPED = "stopped"  # it is the reference cut before the stop string
Outcome = Literal["leaked", "stopped"] | None


@dataclass(frozen=True)
class StopPlan:
    reference: str  # the plain answer's text
    stop: str  # a word from its middle, first found after at least one character

    @property
    def prefix(self) -> str:
        """What the answer must be with the stop string: the reference up to it."""
        return self.reference[: self.reference.index(self.stop)]

    def is_prefix(self, content: str) -> bool:
        """`content` is the reference cut at the stop string (trailing whitespace aside)."""
        return content.rstrip() == self.prefix.rstrip()

    def outcome(self, content: Any) -> Outcome:
        """What the answer `content` to the stop request shows about the stop string."""
        if not isinstance(content, str):
            return None
        if self.stop in content:
            return LEAKED
        return STOPPED if self.is_prefix(content) else None

    def leak(self, content: str, where: str) -> str:
        """The problem of a `LEAKED` answer, in words."""
        return (f"{where}: content {content[:80]!r} contains the stop sequence {self.stop!r} at "
                f"offset {content.index(self.stop)}")


def plan_stop(text: Any) -> StopPlan | None:
    """The stop string for the plain answer `text` (None: no text, or no word in it)."""
    if not isinstance(text, str):
        return None
    middle = len(text) / 2
    candidates = []
    for match in _WORD.finditer(text):
        first = text.find(match.group())  # the stop cuts at the first occurrence
        if first > 0:
            candidates.append((abs(first - middle), first, match.group()))
    return StopPlan(text, min(candidates)[2]) if candidates else None
