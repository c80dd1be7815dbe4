"""Messages, the answer itself: the `message` schema and identity, its stop reason judged against
what happened (usage, the cap, a stop sequence) and content that matches the tokens billed.

The stop reason is judged from the recorded usage, never from the wording: an answer whose
`output_tokens` reached `max_tokens` was cut, whatever it says. The stop-sequence experiment is
the one of the Chat checks (`conformance.stop_words`): a word from the middle of the plain
answer is sent back as `stop_sequences`.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance import plan, schemas, stop_words, stream_rules
from conformance.apis.anthropic.checks import (
    CUT_TOKENS,
    DOC,
    MAX_TOKENS,
    OP,
    PATH,
    SOURCE,
    MessagesStream,
    content_blocks,
    decode_messages_stream,
    judge,
    message_body,
    spec,
    text_of,
    usage_of,
)
from conformance.check import Level, Problems, check, inconclusive, observe, record
from conformance.http import Exchange, Request, post
from conformance.preconditions import require_object
from conformance.shapes import describe, is_int, member
from conformance.stop_words import LEAKED, STOPPED, StopPlan
from conformance.stream_rules import JudgedStreams

SCHEMA = "Message"
SPEC = spec(SCHEMA)
SOURCE_STOP = SOURCE + " (`stop_reason`, `stop_sequence`, `stop_sequences`)"
# Ends a plain answer may have when it was not cut: `refusal` is the model's safety classifier
# stopping it, which no gateway decides.
NATURAL_ENDS = ("end_turn", "refusal")


def _schema(name: str) -> dict[str, Any]:
    return schemas.document(DOC)["components"]["schemas"][name]


STOP_REASONS: tuple[str, ...] = tuple(_schema("StopReason")["enum"])


def _id_prefix(name: str) -> str:
    """The `x-id-prefix` of a schema's `id` (what the real API's ids start with)."""
    return _schema(name)["properties"]["id"]["x-id-prefix"]


# --- the stop-sequence exchanges --------------------------------------------------------------


def _stop_plan(message: Exchange) -> StopPlan | None:
    body = message.json_or_none() if message.status == 200 else None
    return stop_words.plan_stop(text_of(body)) if isinstance(body, dict) else None


@pytest.fixture(scope="session")
def stop_plan(message: Exchange) -> StopPlan | None:
    """A stop sequence taken from the plain answer (None: it gave no word to stop at)."""
    return _stop_plan(message)


@plan.exchange
def message_stop(model: str, message: Exchange) -> Request | None:
    """The plain request again, with `stop_sequences` set to a word from the middle of its
    answer."""
    stop = _stop_plan(message)
    return None if stop is None else post(PATH, message_body(model, stop_sequences=[stop.stop]))


@plan.exchange(read=decode_messages_stream)
def message_stop_stream(model: str, message: Exchange) -> Request | None:
    """The `message_stop` request, streamed."""
    stop = _stop_plan(message)
    return None if stop is None else post(PATH, message_body(
        model, stop_sequences=[stop.stop], stream=True))


# --- reading the answers ----------------------------------------------------------------------


def _answered(exchange: Exchange | None) -> dict[str, Any] | None:
    """The message of a 200 JSON answer (None: refused or not an object; other checks judge
    that)."""
    if exchange is None or exchange.status != 200:
        return None
    body = exchange.json_or_none()
    return body if isinstance(body, dict) else None


def _assembled(stream: MessagesStream | None) -> dict[str, Any] | None:
    """The message a client assembles from a stream that ended with message_stop (None: the
    stream was refused, cut or broken, which the stream checks judge)."""
    if stream is None or not stream_rules.usable(stream):
        return None
    summary = judge("stop", stream).summary
    return summary.message if summary.end == "message_stop" else None


def _complete(judged_streams: JudgedStreams, label: str) -> dict[str, Any] | None:
    """The assembled message of the judged stream `label`, when it ended with message_stop."""
    for entry in judged_streams:
        if entry.label == label and entry.summary.end == "message_stop":
            return entry.summary.message
    return None


def _unstreamed(message: Exchange, message_cut: Exchange, message_tool: Exchange,
                message_stop: Exchange | None) -> dict[str, dict[str, Any]]:
    """The unstreamed answers (label -> message): the plain one must be a 200 JSON object; the
    others are judged when answered (their refusal is another check's call)."""
    answers = {"plain": require_object(message)}
    for label, exchange in (("max_tokens cut", message_cut), ("tool_use", message_tool),
                            ("stop_sequences", message_stop)):
        body = _answered(exchange)
        if body is not None:
            answers[label] = body
    return answers


UNSTREAMED = "the unstreamed answers (plain, cut, tool call, stop sequence)"


# --- the message ------------------------------------------------------------------------------


@check("messages.response.schema", level=Level.MUST, operation=OP, spec=SPEC, source=SOURCE,
       observes=UNSTREAMED,
       fix="Check your Messages answers against the `Message` schema (`id`, `type`, `role`, "
           "`content`, `model`, `stop_reason`, `stop_sequence`, `usage`) and correct each field it "
           "reports.")
def test_schema(message: Exchange, message_cut: Exchange, message_tool: Exchange,
                message_stop: Exchange | None) -> None:
    """A non-streamed answer MUST be a JSON object valid against the `Message` schema."""
    answers = _unstreamed(message, message_cut, message_tool, message_stop)
    observe("unstreamed answers", len(answers))
    problems = Problems()
    for label, body in answers.items():
        problems.items += [f"{label} answer, {error}" for error in schemas.errors(DOC, SCHEMA, body)]
    problems.raise_if_any("the message does not match the Message schema",
                          expected=f"valid {SPEC}")


@check("messages.response.identity", level=Level.MUST, operation=OP,
       spec=f"{spec('MessageBase')}/properties", source=SOURCE, observes=UNSTREAMED,
       fix='Set `type: "message"`, `role: "assistant"`, a non-empty `id` and the answering `model` '
           'name on every unstreamed Messages answer.')
def test_identity(message: Exchange, message_cut: Exchange, message_tool: Exchange,
                  message_stop: Exchange | None) -> None:
    """A non-streamed answer MUST say `type: "message"` and `role: "assistant"`, with an `id` and a `model` that are non-empty strings."""
    answers = _unstreamed(message, message_cut, message_tool, message_stop)
    observe("unstreamed answers", len(answers))
    problems = Problems()
    for label, body in answers.items():
        for field, expected in (("type", "message"), ("role", "assistant")):
            problems.expect(body.get(field) == expected, f"{label} answer: {field} is "
                            f"{describe(body.get(field))}, expected {expected!r}")
        for field in ("id", "model"):
            value = body.get(field)
            problems.expect(isinstance(value, str) and value.strip(), f"{label} answer: "
                            f"{field} is {describe(value)}, not a non-empty string")
    problems.raise_if_any("the message does not identify itself as an assistant message",
                          expected={"type": "message", "role": "assistant",
                                    "id": "a non-empty string", "model": "a non-empty string"})


# The SDK types say only `string` (M-T11 in openapi/SOURCES.md): an id of another shape breaks
# no client, but it shows a translation that forgot whose ids these are.
@check("messages.response.id-prefix", level=Level.SHOULD, operation=OP,
       spec=f"{spec('MessageBase')}/properties/id/x-id-prefix",
       source=SOURCE + "; reference response.md ('a prefix check is a warning')",
       observes="message and tool_use ids, unstreamed and streamed",
       fix="Mint message ids as `msg_…` and tool_use ids as `toolu_…`, prefixing ids that come "
           "from another provider's answer instead of passing them through bare.")
def test_id_prefix(message: Exchange, message_cut: Exchange, message_tool: Exchange,
                   message_stop: Exchange | None, judged_streams: JudgedStreams) -> None:
    """Message ids SHOULD start with `msg_` and tool_use ids with `toolu_` (the `x-id-prefix` of the document), streamed or not."""
    answers = {f"{label} answer": body for label, body in _unstreamed(
        message, message_cut, message_tool, message_stop).items()}
    answers |= {f"{e.label} stream": e.summary.message for e in judged_streams
                if e.summary.message is not None}
    message_prefix, tool_prefix = _id_prefix("MessageBase"), _id_prefix("ToolUseBlock")
    problems = Problems()
    for where, body in answers.items():
        ids = [("id", body.get("id"), message_prefix)] + [
            (f"content[{n}].id", block.get("id"), tool_prefix)
            for n, block in enumerate(content_blocks(body)) if block.get("type") == "tool_use"]
        observe("ids", len(ids))
        for field, value, prefix in ids:
            if isinstance(value, str) and value:  # a missing id is messages.response.identity's
                problems.expect(value.startswith(prefix), f"{where}: {field} {value!r} does not "
                                f"start with {prefix!r}")
    problems.raise_if_any("ids do not have the API's prefixes",
                          expected={"message id": f"{message_prefix}…",
                                    "tool_use id": f"{tool_prefix}…"})


# --- the stop reason --------------------------------------------------------------------------


@check("messages.response.stop-reason", level=Level.MUST, operation=OP,
       spec=f"{SPEC}/properties/stop_reason", source=SOURCE_STOP,
       observes="answers that reached max_tokens, unstreamed or streamed",
       fix="Map the upstream's finish reason onto `stop_reason`: `max_tokens` when the cap cut the "
           "answer, `end_turn` for a natural end, `tool_use` for a tool call; leave "
           "`stop_sequence` null unless one matched.")
def test_stop_reason(message: Exchange, message_cut: Exchange,
                     judged_streams: JudgedStreams) -> None:
    """`stop_reason` MUST be a documented value that says what happened: `max_tokens` when `usage.output_tokens` reached `max_tokens`, a natural end (`end_turn`) otherwise, with `stop_sequence` null when no stop sequence matched."""
    answers = {"plain answer": (require_object(message), MAX_TOKENS),
               "max_tokens cut answer": (require_object(message_cut), CUT_TOKENS)}
    for label, cap in (("text", MAX_TOKENS), ("max_tokens cut", CUT_TOKENS)):
        streamed = _complete(judged_streams, label)
        if streamed is not None:
            answers[f"{label} stream"] = (streamed, cap)
    problems = Problems()
    cut = [where for where, (body, cap) in answers.items()
           if _judge_stop_reason(body, cap, where, problems)]
    record(answers=list(answers), reached_max_tokens=cut)
    problems.raise_if_any("stop_reason does not say why the answer stopped", expected={
        "output_tokens >= max_tokens": "max_tokens", "otherwise": list(NATURAL_ENDS),
        "stop_sequence": None})
    if not cut:
        inconclusive(f"no answer reached its max_tokens (the cut request asks for "
                     f"{CUT_TOKENS}): the model wrote less, so the cut was not exercised")
    observe("answers cut at max_tokens", len(cut))


def _judge_stop_reason(body: dict[str, Any], cap: int, where: str, problems: Problems) -> bool:
    """Judge one answer to a request without stop sequences or tools; True when its usage shows
    it reached the cap."""
    reason = body.get("stop_reason")
    output = member(usage_of(body), "output_tokens")
    reached = is_int(output) and output >= cap
    if reason not in STOP_REASONS:
        problems.add(f"{where}: stop_reason {describe(reason)} is not one of {list(STOP_REASONS)}")
    elif reached:
        problems.expect(reason == "max_tokens", f"{where}: usage.output_tokens {output} reached "
                        f"max_tokens {cap}, but stop_reason is {reason!r}, expected 'max_tokens'")
    elif is_int(output):
        problems.expect(reason in NATURAL_ENDS, f"{where}: stop_reason is {reason!r} but "
                        f"usage.output_tokens {output} is below max_tokens {cap} and no stop "
                        "sequence or tool was given")
    problems.expect(body.get("stop_sequence") is None, f"{where}: stop_sequence is "
                    f"{describe(body.get('stop_sequence'))} although no stop sequence was sent")
    return reached


@check("messages.response.stop-sequence", level=Level.MUST, operation=OP,
       spec=f"{SPEC}/properties/stop_sequence", source=SOURCE_STOP,
       observes="an answer that reached the stop sequence (the plain answer cut before it)",
       fix='Forward `stop_sequences` (or cut at the first match yourself), leave the matched '
           'string out of the text, and answer `stop_reason: "stop_sequence"` with `stop_sequence` '
           'set to it, streamed and not.')
def test_stop_sequence(stop_plan: StopPlan | None, message_stop: Exchange | None,
                       message_stop_stream: MessagesStream | None, message: Exchange) -> None:
    """With `stop_sequences`, the text MUST NOT contain the matched sequence, and an answer that ended at it MUST say `stop_reason: "stop_sequence"` with `stop_sequence` set to that string, streamed or not."""
    require_object(message)  # the reference: without it, there is nothing to stop at
    if stop_plan is None or message_stop is None:
        inconclusive("the plain answer has no word to use as a stop sequence")
    answers = {"non-streamed": require_object(message_stop)}
    streamed = _assembled(message_stop_stream)
    if streamed is not None:
        answers["streamed"] = streamed
    problems = Problems()
    judged = [where for where, body in answers.items()
              if _judge_stop(body, stop_plan, where, problems)]
    record(stop_sequences=[stop_plan.stop], reference=stop_plan.reference,
           expected=stop_plan.prefix, answers={w: text_of(b) for w, b in answers.items()},
           judged=judged)
    problems.raise_if_any("the stop sequence is not honoured or not reported", expected=(
        f"text {stop_plan.prefix!r} (cut before {stop_plan.stop!r}), stop_reason "
        f"'stop_sequence', stop_sequence {stop_plan.stop!r}"))
    if not judged:
        inconclusive(f"the answers never reached the stop sequence {stop_plan.stop!r}: the "
                     "model answered differently from the plain request, so it was not "
                     "exercised")
    observe("answers cut at their stop sequence", len(judged))


def _judge_stop(body: dict[str, Any], stop: StopPlan, where: str, problems: Problems) -> bool:
    """Judge one answer; False when it shows nothing about the stop sequence."""
    text = text_of(body)
    outcome = stop.outcome(text)
    if outcome == LEAKED:
        problems.add(stop.leak(text, where))
    elif outcome == STOPPED:
        reported = (body.get("stop_reason"), body.get("stop_sequence"))
        problems.expect(reported == ("stop_sequence", stop.stop), f"{where}: the answer ended "
                        f"at the stop sequence but stop_reason is {reported[0]!r} and "
                        f"stop_sequence {reported[1]!r}")
    return outcome is not None


# --- content ----------------------------------------------------------------------------------


@check("messages.response.empty-content", level=Level.MUST, operation=OP,
       spec=f"{SPEC}/properties/content", source=SOURCE + "; reference gateway-deviations.md "
       "row 5 (LiteLLM#27492)", observes="answers billed for output tokens",
       fix="Carry the generated text into `content` as a `text` block whenever "
           "`usage.output_tokens` bills it; check that the translation of the upstream answer does "
           "not drop or empty its text.")
def test_empty_content(message: Exchange, message_cut: Exchange,
                       judged_streams: JudgedStreams) -> None:
    """An answer billed for output tokens MUST carry that output: `content: []`, or only empty text, is a failure when the cap was reached or the same request's other mode (streamed or not) delivered text."""
    pairs = {"plain": (require_object(message), _complete(judged_streams, "text")),
             "max_tokens cut": (require_object(message_cut),
                                _complete(judged_streams, "max_tokens cut"))}
    problems = Problems()
    judged = 0
    for label, (unstreamed, streamed) in pairs.items():
        for where, body, twin in ((f"{label} answer", unstreamed, streamed),
                                  (f"{label} stream", streamed, unstreamed)):
            if body is not None and _judge_content(body, twin, where, problems):
                judged += 1
    problems.raise_if_any("the answer is billed for output it does not carry",
                          expected="content with the text the output tokens paid for")
    if not judged:
        inconclusive("every answer billed for output was empty without proof that the model "
                     "wrote anything (an empty reply still costs tokens)")
    observe("answers billed for output", judged)


def _judge_content(body: dict[str, Any], twin: dict[str, Any] | None, where: str,
                   problems: Problems) -> bool:
    """Judge one answer; False when it shows nothing (no output billed, or an empty reply the
    model may really have written)."""
    output = member(usage_of(body), "output_tokens")
    if not is_int(output) or output <= 0:
        return False  # usage is the usage checks' call
    if not _empty(body):
        return True
    if body.get("stop_reason") == "max_tokens":
        proof = f"it was cut at max_tokens, so {output} tokens were written"
    elif twin is not None and not _empty(twin):
        proof = f"the same request in the other mode delivered {text_of(twin)[:60]!r}"
    else:
        return False
    problems.add(f"{where}: content is {describe(member(body, 'content'))} with "
                 f"usage.output_tokens {output}, and {proof}")
    return True


def _empty(body: dict[str, Any]) -> bool:
    """No block carries output: no block at all, or text blocks without text only."""
    return all(b.get("type") == "text" and not b.get("text") for b in content_blocks(body))
