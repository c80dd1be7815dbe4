"""Sampling settings the checks send: as deterministic as the model under test allows."""

from __future__ import annotations

import re
from typing import Any

# OpenAI's reasoning models (the o-series, gpt-5 apart from its -chat variants) refuse every
# temperature but the default: a request carrying `temperature: 0` would get a 400 before
# anything could be judged. Router-style names ("openai/o4-mini") are matched on their last part.
_REASONING_MODEL = re.compile(r"^(o\d+|gpt-5)(?!.*-chat)", re.IGNORECASE)


def deterministic(model: str) -> dict[str, Any]:
    """Request fields that make the model as repeatable as it can be."""
    return {} if _REASONING_MODEL.match(model.rsplit("/", 1)[-1]) else {"temperature": 0}
