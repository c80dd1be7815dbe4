"""Signatures of thinking blocks: opaque to clients, checked when a block comes back.

The real API signs each thinking block and refuses a later request that echoes it altered
(gateways that drop or rebuild signatures break multi-turn thinking with tools: LiteLLM#9255,
open-webui#29860). A keyed hash of the thinking text does the same here, deterministically.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_KEY = b"conformance reference gateway: thinking signatures"


def signature(thinking: str) -> str:
    digest = hmac.new(_KEY, thinking.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest + hashlib.sha256(digest).digest()).decode()
