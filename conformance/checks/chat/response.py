"""Chat Completions, non-streamed: the `chat.completion` envelope and its schema."""

from __future__ import annotations

from conformance import schemas
from conformance.check import Level, check, expect, expect_equal
from conformance.http import Exchange
from conformance.preconditions import require_object, require_success

OP = "createChatCompletion"
DOC = "chat.yaml"
SCHEMA = "CreateChatCompletionResponse"
SPEC = schemas.pointer(DOC, SCHEMA)
SOURCE = "OpenAI API reference, chat/create (response); seed 003_440946b6d7473ee2.txt"
FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter", "function_call")


@check("chat.response.schema", level=Level.MUST, operation=OP, spec=SPEC, source=SOURCE)
def test_schema(chat_completion: Exchange) -> None:
    """A non-streamed completion MUST be a JSON body valid against the chat.completion schema."""
    body = require_object(chat_completion)
    problems = schemas.errors(DOC, SCHEMA, body)
    expect(not problems, "the body does not match the chat.completion schema",
           expected=f"valid {SPEC}", actual=problems)


@check("chat.response.content-type", level=Level.MUST, operation=OP,
       spec=f"openapi/{DOC}#/paths/~1chat~1completions/post/responses/200/content",
       source="OpenAI API reference, chat/create")
def test_content_type(chat_completion: Exchange) -> None:
    """A non-streamed completion MUST be sent with `Content-Type: application/json`."""
    require_success(chat_completion)
    expect_equal(chat_completion.media_type, "application/json", "Content-Type media type")


@check("chat.response.object", level=Level.MUST, operation=OP, spec=f"{SPEC}/properties/object",
       source=SOURCE)
def test_object(chat_completion: Exchange) -> None:
    """The `object` field of a non-streamed completion MUST be `chat.completion`."""
    body = require_object(chat_completion)
    expect_equal(body.get("object"), "chat.completion", "object")


@check("chat.response.message-role", level=Level.MUST, operation=OP,
       spec=f"{SPEC}/properties/choices", source=SOURCE)
def test_message_role(chat_completion: Exchange) -> None:
    """Every choice's `message.role` MUST be `assistant`."""
    body = require_object(chat_completion)
    roles = [(c.get("message") or {}).get("role") for c in body.get("choices") or []]
    expect(roles and all(r == "assistant" for r in roles), "message.role is not 'assistant'",
           expected="assistant on every choice", actual=roles)


@check("chat.response.finish-reason", level=Level.MUST, operation=OP,
       spec=f"{SPEC}/properties/choices", source=SOURCE)
def test_finish_reason(chat_completion: Exchange) -> None:
    """Every choice's `finish_reason` MUST be one of the documented values."""
    body = require_object(chat_completion)
    reasons = [c.get("finish_reason") for c in body.get("choices") or []]
    expect(reasons and all(r in FINISH_REASONS for r in reasons),
           "finish_reason is not a documented value",
           expected=list(FINISH_REASONS), actual=reasons)


@check("chat.response.content-present", level=Level.MUST, operation=OP,
       spec=f"{SPEC}/properties/choices", source=SOURCE)
def test_content_present(chat_completion: Exchange) -> None:
    """Every choice's `message.content` MUST be present, as a string or null, never missing."""
    body = require_object(chat_completion)
    messages = [c.get("message") or {} for c in body.get("choices") or []]
    bad = [m for m in messages if "content" not in m or not isinstance(m["content"], (str, type(None)))]
    expect(messages and not bad, "message.content is missing or not a string/null",
           expected="content: string | null", actual=bad or messages)
