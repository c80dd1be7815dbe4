"""Gemini thinking (`generationConfig.thinkingConfig`) on a model that offers it: the thought
summaries asked for with `includeThoughts` come apart from the answer (the thinking tokens
themselves: gemini.usage.thoughts-counted).

Thinking is optional: a model or gateway that declines `thinkingConfig` with a clean 4xx ends
these checks `not_supported`.
"""

from __future__ import annotations

from conformance.apis.gemini.checks import OP, SOURCE, candidate_text, candidates, parts, spec
from conformance.apis.gemini.checks.usage import THOUGHTS, count
from conformance.check import Level, check, inconclusive, observe, record, warn
from conformance.http import Exchange
from conformance.preconditions import require_object, require_success


@check("gemini.thinking.summaries", level=Level.SHOULD, feature="reasoning", operation=OP,
       spec=f"{spec('Part')}/properties/thought",
       source=SOURCE + "; Gemini API docs, thinking (includeThoughts: thought summaries are "
                       "parts with thought: true); reference request.md",
       observes="the parts of the answer to a request with includeThoughts that thought",
       fix="Relay thought summaries as their own parts with `thought: true`, before the "
           "answer's parts; never merge them into the answer's text or drop the flag.")
def test_summaries(gemini_thinking: Exchange) -> None:
    """With `includeThoughts`, an answer whose usage reports thinking tokens SHOULD hold its thought summaries as parts marked `thought: true`, apart from the answer's text."""
    require_success(gemini_thinking)
    body = require_object(gemini_thinking)
    usage = body.get("usageMetadata") if isinstance(body.get("usageMetadata"), dict) else {}
    thoughts = count(usage, THOUGHTS)
    flagged = [p for c in candidates(body) for p in parts(c) if p.get("thought") is True]
    record(thoughts_token_count=thoughts, thought_parts=len(flagged))
    if not thoughts:
        inconclusive("the usage reports no thinking tokens (judged by "
                     "gemini.usage.thoughts-counted), so no summary is due")
    observe("answers that thought", 1)
    if not flagged:
        warn(f"the model thought ({thoughts} tokens) and includeThoughts asked for its "
             "summaries, but no part is marked thought: true; any summary is mixed into the "
             "answer", expected="parts with thought: true before the answer",
             actual=[candidate_text(c)[:200] for c in candidates(body)])
