"""Chat Completions, non-streamed: the `chat.completion` envelope and its schema."""

from __future__ import annotations

from typing import Any

from conformance import schemas
from conformance.apis.openai.checks.chat import (
    DOC,
    OP,
    RESPONSE_SCHEMA,
    choice_messages,
    require_choices,
)
from conformance.apis.openai.checks.chat.midstream import judged_chunks
from conformance.apis.openai.streams import ChatStream
from conformance.check import Level, Problems, check, expect, expect_equal, observe
from conformance.http import Exchange
from conformance.preconditions import require_object, require_success
from conformance.shapes import describe, member

SPEC = schemas.pointer(DOC, RESPONSE_SCHEMA)
SOURCE = "OpenAI API reference, chat/create (response); seed 003_440946b6d7473ee2.txt"
FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter", "function_call")
COMPLETION = "a non-streamed completion"


def _completion(exchange: Exchange) -> dict[str, Any]:
    """The completion body (a 200 JSON object), observed."""
    body = require_object(exchange)
    observe(COMPLETION)
    return body


@check("chat.response.schema", level=Level.MUST, operation=OP, spec=SPEC, source=SOURCE,
       observes=COMPLETION,
       fix="Check unstreamed completions against `CreateChatCompletionResponse` and correct each "
           "field it reports (types, and required keys such as `id`, `choices`, `created`, "
           "`model`, `object`).")
def test_schema(chat_completion: Exchange) -> None:
    """A non-streamed completion MUST be a JSON body valid against the chat.completion schema."""
    body = _completion(chat_completion)
    problems = schemas.errors(DOC, RESPONSE_SCHEMA, body)
    expect(not problems, "the body does not match the chat.completion schema",
           expected=f"valid {SPEC}", actual=problems)


@check("chat.response.content-type", level=Level.MUST, operation=OP,
       spec=f"openapi/{DOC}#/paths/~1chat~1completions/post/responses/200/content",
       source="OpenAI API reference, chat/create", observes=COMPLETION,
       fix="Set the response header `Content-Type: application/json` on unstreamed completions, "
           "whatever type the upstream sent.")
def test_content_type(chat_completion: Exchange) -> None:
    """A non-streamed completion MUST be sent with `Content-Type: application/json`."""
    require_success(chat_completion)
    observe(COMPLETION)
    expect_equal(chat_completion.media_type, "application/json", "Content-Type media type")


@check("chat.response.object", level=Level.MUST, operation=OP, spec=f"{SPEC}/properties/object",
       source=SOURCE, observes=COMPLETION,
       fix='Set `object: "chat.completion"` on unstreamed completions.')
def test_object(chat_completion: Exchange) -> None:
    """The `object` field of a non-streamed completion MUST be `chat.completion`."""
    body = _completion(chat_completion)
    expect_equal(body.get("object"), "chat.completion", "object")


@check("chat.response.message-role", level=Level.MUST, operation=OP,
       spec=f"{SPEC}/properties/choices", source=SOURCE, observes=COMPLETION,
       fix="Set `role: \"assistant\"` on every choice's `message`, whatever role the upstream "
           "answer names.")
def test_message_role(chat_completion: Exchange) -> None:
    """Every choice's `message.role` MUST be `assistant`."""
    body = _completion(chat_completion)
    problems = Problems()
    for position, message in choice_messages(body, problems):
        problems.expect(message.get("role") == "assistant",
                        f"choices[{position}].message.role is {message.get('role')!r}")
    problems.raise_if_any("message.role is not 'assistant'", expected="assistant on every choice")


@check("chat.response.finish-reason", level=Level.MUST, operation=OP,
       spec=f"{SPEC}/properties/choices", source=SOURCE, observes=COMPLETION,
       fix="Map upstream stop reasons onto `stop`, `length`, `tool_calls`, `content_filter` or "
           "`function_call`; never pass provider-specific values such as `end_turn` or "
           "`max_tokens` through.")
def test_finish_reason(chat_completion: Exchange) -> None:
    """Every choice's `finish_reason` MUST be one of the documented values."""
    body = _completion(chat_completion)
    problems = Problems()
    for position, choice in enumerate(require_choices(body)):
        reason = member(choice, "finish_reason")
        if not isinstance(choice, dict):
            problems.add(f"choices[{position}] is {describe(choice)}, not a choice object")
        elif reason not in FINISH_REASONS:
            problems.add(f"choices[{position}].finish_reason is {reason!r}")
    problems.raise_if_any("finish_reason is not a documented value",
                          expected=list(FINISH_REASONS))


@check("chat.response.content-present", level=Level.MUST, operation=OP,
       spec=f"{SPEC}/properties/choices", source=SOURCE, observes=COMPLETION,
       fix="Always include the `message.content` key in each choice, as null when there is no text "
           "(e.g. a tool call), instead of leaving it out.")
def test_content_present(chat_completion: Exchange) -> None:
    """Every choice's `message.content` MUST be present, as a string or null, never missing."""
    body = _completion(chat_completion)
    problems = Problems()
    for position, message in choice_messages(body, problems):
        if "content" not in message:
            problems.add(f"choices[{position}].message has no content key: {describe(message)}")
        elif not isinstance(message["content"], (str, type(None))):
            problems.add(f"choices[{position}].message.content is {describe(message['content'])}")
    problems.raise_if_any("message.content is missing or not a string/null",
                          expected="content: string | null")


# --- the envelope: identity, time, model, choice order ---------------------------------------

SECONDS_PER_DAY = 86_400


@check("chat.response.id", level=Level.MUST, operation=OP, spec=f"{SPEC}/properties/id",
       source=SOURCE, observes=COMPLETION,
       fix="Give every completion a non-empty string `id`: pass the upstream's through, or "
           "generate one such as `chatcmpl-<random>`.")
def test_id(chat_completion: Exchange) -> None:
    """`id` MUST be a non-empty string (clients log it and use it to correlate requests)."""
    body = _completion(chat_completion)
    found = body.get("id")
    expect(isinstance(found, str) and found.strip(), "id is not a non-empty string",
           expected="e.g. 'chatcmpl-…'", actual=found)


@check("chat.response.created", level=Level.MUST, operation=OP,
       observes="the `created` of a completion (and of its streamed chunks)",
       spec=f"{SPEC}/properties/created", source=SOURCE + ": 'Unix timestamp (in seconds)'",
       fix="Set `created` to the current Unix time in whole seconds (`int(time.time())`), not "
           "milliseconds, a float or a string.")
def test_created(chat_completion: Exchange, chat_stream: ChatStream) -> None:
    """`created` MUST be the Unix time in whole seconds (an integer within a day of the request), in completions and in chunks."""
    body = _completion(chat_completion)
    problems = Problems()
    for problem in _created_problems(body.get("created"), chat_completion.started_at):
        problems.add(f"completion: {problem}", shows=chat_completion)
    if chat_stream.exchange.status == 200:  # a broken stream is judged by the stream checks
        stamps = dict.fromkeys(c.get("created") for c in judged_chunks(chat_stream))
        observe("streamed chunk timestamps", len(stamps))
        for stamp in stamps:
            for problem in _created_problems(stamp, chat_stream.exchange.started_at):
                problems.add(f"stream chunks: {problem}", shows=chat_stream)
    problems.raise_if_any("created is not a plausible Unix time in seconds",
                          expected=f"an integer near {int(chat_completion.started_at)}")


def _created_problems(created: object, sent_at: float) -> list[str]:
    if not isinstance(created, int) or isinstance(created, bool):
        return [f"created = {created!r} is not an integer"]
    if created > sent_at * 100:  # 1000x the clock: milliseconds; the SDK reads it as seconds
        return [f"created = {created} looks like milliseconds (the request was sent at "
                f"{int(sent_at)} s)"]
    if abs(created - sent_at) > SECONDS_PER_DAY:
        return [f"created = {created} is {abs(created - sent_at) / SECONDS_PER_DAY:.1f} days "
                f"away from the request time {int(sent_at)}"]
    return []


@check("chat.response.model", level=Level.MUST, operation=OP, spec=f"{SPEC}/properties/model",
       source=SOURCE, observes=COMPLETION,
       fix="Set `model` to the name of the model that produced the answer (the upstream's, or the "
           "requested one), never empty or left out.")
def test_model(chat_completion: Exchange) -> None:
    """`model` MUST be present: a non-empty string naming the model that answered."""
    body = _completion(chat_completion)
    found = body.get("model")
    expect(isinstance(found, str) and found.strip(), "model is missing or empty",
           expected="the model that answered, e.g. 'gpt-4o-mini-2024-07-18'", actual=found)


@check("chat.response.choice-indices", level=Level.MUST, operation=OP,
       observes="the choices of a completion (and of an n = 2 one when n is served)",
       spec=f"{SPEC}/properties/choices", source=SOURCE + "; `n` in chat/create",
       fix="Set `choices[k].index` to k for every choice, numbering from 0 in list order.")
def test_choice_indices(chat_completion: Exchange, chat_two_choices: Exchange) -> None:
    """`choices[k].index` MUST equal k: choices are indexed from 0, in order, without gaps."""
    judged = {"completion": _completion(chat_completion)}
    if chat_two_choices.status == 200 and isinstance(chat_two_choices.json_or_none(), dict):
        judged["n=2 completion"] = chat_two_choices.json()  # a refused n is chat.limits.n's
        observe(COMPLETION)
    problems = Problems()
    for name, body in judged.items():
        indices = [c.get("index") for c in body.get("choices") or [] if isinstance(c, dict)]
        problems.expect(indices, f"{name}: no choices at all")
        problems.expect(indices == list(range(len(indices))),
                        f"{name}: choice indices are {indices}, expected "
                        f"{list(range(len(indices)))}")
    problems.raise_if_any("choices are not indexed 0, 1, … in order")
