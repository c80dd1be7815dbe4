"""Chat Completions: billing. Reported prompt tokens against an offline count of the request.

A gateway that injects a hidden system prompt, or pads `prompt_tokens`, bills the client for
tokens it never sent. When the run's tokenizer is known (from the model name, or `--tokenizer`
for a model alias), the count of the messages (OpenAI's cookbook recipe, see
conformance/tokens.py) must agree with the report within `usage.billing_margin`; the margin absorbs the framing differences between model generations.
"""

from __future__ import annotations

import pytest

from conformance import schemas, tokens
from conformance.apis.openai import usage
from conformance.apis.openai.checks.chat import OP
from conformance.check import Level, check, fail, inconclusive, observe, record, warn
from conformance.http import Exchange
from conformance.preconditions import require_object


@check("chat.billing.prompt-tokens", level=Level.MUST, feature="usage", operation=OP,
       observes="prompt_tokens reported for a request the suite can count offline",
       spec=f"{schemas.pointer('chat.yaml', 'CompletionUsage')}/properties/prompt_tokens",
       source="OpenAI cookbook, 'How to count tokens with tiktoken' (num_tokens_from_messages)",
       fix="Report in `usage.prompt_tokens` the upstream's count of the messages the client sent; "
           "do not inflate it with an estimate, a minimum or a prompt the gateway injects.")
def test_prompt_tokens(chat_completion: Exchange, tokenizer: tokens.Tokenizer) -> None:
    """Reported `prompt_tokens` MUST NOT exceed the offline count of the request's messages by more than the billing margin (max(8 tokens, 10%)); reporting fewer than the count minus the margin is a SHOULD deviation."""
    encoding, why = tokenizer
    if encoding is None:
        pytest.skip(f"the prompt cannot be counted offline: the tokenizer is {why}")
    body = require_object(chat_completion)
    reported = (body.get("usage") or {}).get("prompt_tokens") if isinstance(
        body.get("usage"), dict) else None
    if not usage.is_count(reported):
        inconclusive("the completion reports no prompt_tokens count (judged by "
                     "chat.usage.present)")
    sent = chat_completion.request_json()
    local = tokens.count_chat_prompt(sent["messages"], encoding, sent.get("tools"))
    margin = usage.billing_margin(local)
    deviation = usage.billing_deviation(reported, local)
    record(encoding=encoding, tokenizer_reason=why, local_count=local, reported=reported,
           margin=margin)
    observe("reported prompt_tokens")
    expected = f"{local} ± {margin} ({encoding}: {why}; cookbook recipe)"
    if deviation > 0:
        fail(f"prompt_tokens = {reported}, {reported - local} more than the {local} tokens the "
             f"request holds (margin {margin}): the gateway bills tokens the client never sent, "
             "such as a hidden system prompt", expected=expected, actual=reported)
    if deviation < 0:
        warn(f"prompt_tokens = {reported}, {local - reported} fewer than the {local} tokens the "
             f"request holds (margin {margin}): usage is under-reported", expected=expected,
             actual=reported)
