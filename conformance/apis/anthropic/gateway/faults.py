"""Fault modes of the Messages surface, from the deviations real gateways shipped
(``../shared/reference/anthropic/gateway-deviations.md``, row numbers below).

Each hook is committed where the violation happens (``messages``, ``errors``), as for the
OpenAI endpoints. ``MESSAGES_FAULTS`` is empty on purpose: a registered fault must name the
checks it trips (``tests/suite/test_faults.py``), and no ``messages.*`` check exists yet. The
checks of issue 11 §2 register these names with their trips; until then the hooks are reached
only by the gateway's own tests, which call the renderers with a fault name.
"""

from __future__ import annotations

from conformance.gateway.fault_types import Fault

# Row 1: the stream ends after message_delta, without message_stop (Claude Code hangs).
NO_MESSAGE_STOP = "messages-stream-no-message-stop"
# Row 6: message_start reports input_tokens 0; the real count comes only in message_delta.
START_INPUT_ZERO = "messages-start-input-tokens-zero"
# Row 13: data-only frames, no `event:` lines (the official SDKs drop every frame).
NO_EVENT_LINES = "messages-stream-no-event-lines"
# An OpenAI relay's `data: [DONE]` after message_stop.
DONE_APPENDED = "messages-stream-done-appended"
# Rows 3, 8, 16: errors on /v1/messages in the OpenAI envelope.
OPENAI_SHAPED_ERRORS = "messages-error-openai-shape"

HOOKS = (NO_MESSAGE_STOP, START_INPUT_ZERO, NO_EVENT_LINES, DONE_APPENDED, OPENAI_SHAPED_ERRORS)

MESSAGES_FAULTS: tuple[Fault, ...] = ()  # see the module docstring: registered with their checks
