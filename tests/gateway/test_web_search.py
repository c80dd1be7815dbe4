"""The official SDK against the gateway's offline web search tool on /v1/responses."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai import OpenAI

from conformance import tokens

QUESTION = "Search the web: what is the capital of France? Answer in one word."
QUERY = "what is the capital of France"
WEB_SEARCH = {"type": "web_search_preview"}
SEARCH_EVENTS = ["response.output_item.added", "response.web_search_call.in_progress",
                 "response.web_search_call.searching", "response.web_search_call.completed",
                 "response.output_item.done"]


def _search(client: OpenAI, **extra) -> openai.types.responses.Response:
    return client.responses.create(model="gpt-4o-mini", input=QUESTION, tools=[WEB_SEARCH],
                                   **extra)


def test_non_stream_search_then_answer(client: OpenAI) -> None:
    response = _search(client)
    call, message = response.output
    assert call.type == "web_search_call" and call.id.startswith("ws_")
    assert call.status == "completed"
    assert (call.action.type, call.action.query) == ("search", QUERY)
    assert message.type == "message" and QUERY in response.output_text
    assert message.content[0].annotations == []
    assert response.tools[0].type == "web_search_preview"


def test_search_adds_no_output_tokens(client: OpenAI) -> None:
    usage = _search(client).usage
    text = _search(client).output_text  # deterministic: the same request, the same answer
    assert usage.output_tokens == tokens.count_text(text, "o200k_base")
    assert usage.input_tokens == tokens.count_responses_input(
        QUESTION, "o200k_base", tools=[{"type": "web_search_preview",
                                        "search_context_size": "medium", "user_location": None}])


def test_stream_follows_the_search_lifecycle(client: OpenAI) -> None:
    events = list(_search(client, stream=True))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    search = [e for e in events if getattr(e, "output_index", None) == 0]
    assert [e.type for e in search] == SEARCH_EVENTS
    assert search[0].item.status == "in_progress" and search[-1].item.status == "completed"
    assert {e.item_id for e in search[1:-1]} == {search[0].item.id}
    final = events[-1].response
    assert final.output_text == _search(client).output_text
    assert [i.type for i in final.output] == ["web_search_call", "message"]


def test_sdk_stream_helper(client: OpenAI) -> None:
    with client.responses.stream(model="gpt-4o-mini", input=QUESTION,
                                 tools=[{"type": "web_search"}]) as stream:
        final = stream.get_final_response()
    assert [i.type for i in final.output] == ["web_search_call", "message"]
    assert final.output[0].action.query == QUERY


def test_reasoning_model_reasons_then_searches(client: OpenAI) -> None:
    response = client.responses.create(model="o4-mini", input=QUESTION, tools=[WEB_SEARCH])
    assert [i.type for i in response.output] == ["reasoning", "web_search_call", "message"]


# With a function declared too, the gateway's "model" prefers the function unless the search
# is forced.
@pytest.mark.parametrize(("tool_choice", "kinds"), [
    ("none", ["message"]),
    ("required", ["function_call"]),
    ({"type": "web_search_preview"}, ["web_search_call", "message"]),
    ({"type": "function", "name": "get_time"}, ["function_call"]),
])
def test_tool_choice(client: OpenAI, tool_choice, kinds: list[str]) -> None:
    function = {"type": "function", "name": "get_time",
                "parameters": {"type": "object", "properties": {}}}
    response = client.responses.create(model="gpt-4o-mini", input=QUESTION,
                                       tools=[WEB_SEARCH, function], tool_choice=tool_choice)
    assert [i.type for i in response.output] == kinds


def test_forcing_search_needs_the_tool(http: httpx.Client) -> None:
    reply = http.post("/v1/responses", json={"model": "gpt-4o-mini", "input": "x",
                                             "tool_choice": {"type": "web_search_preview"}})
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "tool_choice"


def test_output_goes_back_as_input(client: OpenAI) -> None:
    first = _search(client)
    history = [{"role": "user", "content": QUESTION},
               *(item.model_dump(exclude_none=True) for item in first.output),
               {"role": "user", "content": "And what is the capital of Italy?"}]
    follow_up = client.responses.create(model="gpt-4o-mini", input=history, tools=[WEB_SEARCH])
    assert follow_up.output[0].action.query == "And what is the capital of Italy"
