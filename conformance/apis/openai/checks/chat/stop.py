"""The stop-sequence experiment: a stop string taken from the model's own answer.

No prompt makes every model write a given string (tiny models and fixed-reply mocks ignore
"count to 10"), so the suite asks nothing special: it takes a word from the middle of the plain
answer and sends the same request again with `stop` set to it. Whatever the model, an answer
that still shows the word proves `stop` was ignored; an answer equal to the plain one cut just
before the word shows it was honoured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conformance.apis.openai.checks.chat import first_message
from conformance.http import Exchange

# Words of three letters or more: a shorter stop string would also match inside other words.
_WORD = re.compile(r"[A-Za-z]{3,}")


@dataclass(frozen=True)
class StopPlan:
    reference: str  # the plain answer's content
    stop: str  # a word from its middle, first found after at least one character

    @property
    def prefix(self) -> str:
        """What the answer must be with `stop`: the reference up to the stop string."""
        return self.reference[: self.reference.index(self.stop)]

    def is_prefix(self, content: str) -> bool:
        """`content` is the reference cut at the stop string (trailing whitespace aside)."""
        return content.rstrip() == self.prefix.rstrip()


def plan_stop(exchange: Exchange) -> StopPlan | None:
    """The stop string for the plain answer of `exchange` (None: no text or no word in it)."""
    content = first_message(exchange.json_or_none()).get("content") \
        if exchange.status == 200 else None
    if not isinstance(content, str):
        return None
    middle = len(content) / 2
    candidates = []
    for match in _WORD.finditer(content):
        first = content.find(match.group())  # the stop cuts at the first occurrence
        if first > 0:
            candidates.append((abs(first - middle), first, match.group()))
    return StopPlan(content, min(candidates)[2]) if candidates else None
