"""Our documents are at least as strict as the official contract on required keys and null.

OFFICIAL below is the machine-readable table of the facts we rely on, read from the official
reference (``/work/shared/reference/openai/``, openai-openapi 2.3.0 at ``f85dbe22``): for each
of our schemas that has an official counterpart, and each property path (syntax in
``schema_facts.py``), the official code

* ``R``  the key is required and may not be null;
* ``RN`` the key is required and may be null (it must be present, null or not);
* ``O``  the key is optional and may not be null.

``test_at_least_as_strict`` holds our documents to it: every required key is required by us and
every non-null property rejects null, unless LENIENCIES records the place as deliberate, with
the id of the SOURCES.md row that says why. Loosening a schema again fails the test.
``test_table_matches_reference`` keeps the table itself in step with the reference (skipped
where the reference folder is absent). After a deliberate change to either side, print the
table again with ``.venv/bin/python tests/spec/test_official_required.py`` and review the diff.

Rows exist where our document models the object that holds the property, and the official
contract requires the key or forbids null on a property we describe; an object we leave open
(e.g. ``metadata``) is not compared below itself.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import pytest
import schema_facts as sf
import yaml
from spec_helpers import OPENAPI_DIR, load_document

from conformance import schemas

# ../shared/reference/openai beside the checkout (absent on CI: the table test is skipped there)
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "openai"
SOURCES_MD = OPENAPI_DIR / "SOURCES.md"

# (our document, our schema) -> (reference file, official schema). The official schemas named
# here are compared on their own, so a walk from another one stops at them.
PAIRS: dict[tuple[str, str], tuple[str, str]] = {
    ("chat.yaml", "CreateChatCompletionStreamResponse"):
        ("chat_completion_chunk.json", "CreateChatCompletionStreamResponse"),
    ("chat.yaml", "ChatCompletionStreamResponseDelta"):
        ("chat_completion_chunk.json", "ChatCompletionStreamResponseDelta"),
    ("chat.yaml", "ChatCompletionMessageToolCallChunk"):
        ("chat_completion_chunk.json", "ChatCompletionMessageToolCallChunk"),
    ("chat.yaml", "CreateChatCompletionResponse"):
        ("chat_completion_response.json", "CreateChatCompletionResponse"),
    ("chat.yaml", "ChatCompletionResponseMessage"):
        ("chat_completion_response.json", "ChatCompletionResponseMessage"),
    ("chat.yaml", "ChatCompletionTokenLogprob"):
        ("chat_completion_response.json", "ChatCompletionTokenLogprob"),
    ("chat.yaml", "CompletionUsage"): ("chat_completion_response.json", "CompletionUsage"),
    ("chat.yaml", "ChatCompletionModeration"):
        ("chat_completion_response.json", "ChatCompletionModeration"),
    ("chat.yaml", "ErrorResponse"): ("error_response.json", "ErrorResponse"),
    ("chat.yaml", "ListModelsResponse"): ("openai-openapi.yml", "ListModelsResponse"),
    ("chat.yaml", "Model"): ("openai-openapi.yml", "Model"),
    ("chat.yaml", "CreateChatCompletionRequest"):
        ("chat_completions_request.json", "CreateChatCompletionRequest"),
    ("chat.yaml", "ChatCompletionRequestMessage"):
        ("chat_completions_request.json", "ChatCompletionRequestMessage"),
    ("responses.yaml", "ResponseStreamEvent"):
        ("response_stream_events.json", "ResponseStreamEvent"),
    ("responses.yaml", "Response"): ("response_object.json", "Response"),
    ("responses.yaml", "ResponseUsage"): ("response_object.json", "ResponseUsage"),
    ("responses.yaml", "OutputItem"): ("response_object.json", "OutputItem"),
    ("responses.yaml", "Moderation"): ("response_object.json", "Moderation"),
    ("responses.yaml", "ErrorResponse"): ("error_response.json", "ErrorResponse"),
    ("responses.yaml", "CreateResponseRequest"): ("responses_request.json", "CreateResponse"),
    ("responses.yaml", "InputItem"): ("responses_request.json", "InputItem"),
    ("responses.yaml", "Tool"): ("responses_request.json", "Tool"),
}
STOPS = frozenset(official for _, official in PAIRS.values())

# Where we are deliberately more lenient: (document, schema, path, "required" | "nullable",
# SOURCES.md row). Each entry excuses that one row, not the rows below it.
LENIENCIES: list[tuple[str, str, str, str, str]] = [
    # chat
    ("chat.yaml", "CreateChatCompletionResponse", "choices[].logprobs", "required", "T13"),
    ("chat.yaml", "CreateChatCompletionResponse", "system_fingerprint", "nullable", "T13"),
    ("chat.yaml", "CreateChatCompletionStreamResponse", "system_fingerprint", "nullable", "T13"),
    ("chat.yaml", "ChatCompletionStreamResponseDelta", "role", "nullable", "T18"),
    ("chat.yaml", "ChatCompletionResponseMessage", "content", "required", "T16"),
    ("chat.yaml", "ChatCompletionResponseMessage", "refusal", "required", "T16"),
    ("chat.yaml", "CompletionUsage", "prompt_tokens_details", "nullable", "T19"),
    ("chat.yaml", "CompletionUsage", "completion_tokens_details", "nullable", "T19"),
    ("chat.yaml", "CreateChatCompletionRequest", "top_logprobs", "nullable", "T12"),
    # responses: the Response object
    *(("responses.yaml", "Response", key, "required", "T01")
      for key in ("error", "incomplete_details", "instructions", "tools", "parallel_tool_calls",
                  "metadata", "tool_choice", "temperature", "top_p")),
    ("responses.yaml", "Response", "usage", "nullable", "T02"),
    ("responses.yaml", "Response", "user", "nullable", "T05"),
    ("responses.yaml", "ResponseUsage", "input_tokens_details", "required", "T03"),
    ("responses.yaml", "ResponseUsage", "input_tokens_details.cache_write_tokens", "required",
     "T03"),
    ("responses.yaml", "ResponseUsage", "output_tokens_details", "required", "T03"),
    # responses: output items (also replayed as input items)
    ("responses.yaml", "OutputItem", "{type=message}.content[]{type=output_text}.logprobs",
     "required", "T04"),
    ("responses.yaml", "OutputItem", "{type=web_search_call}.action", "required", "T06"),
    *(("responses.yaml", schema, f"{{type=code_interpreter_call}}.{key}", "required", "T07")
      for schema in ("OutputItem", "InputItem") for key in ("container_id", "code", "outputs")),
    *(("responses.yaml", schema, "{type=image_generation_call}.result", "required", "T07")
      for schema in ("OutputItem", "InputItem")),
    *(("responses.yaml", schema, "{type=mcp_approval_response}.request_id", "required", "T10")
      for schema in ("OutputItem", "InputItem")),
    ("responses.yaml", "InputItem", "{type=web_search_call}.action", "required", "T06"),
    ("responses.yaml", "InputItem", "{type=message}.content[]{type=input_image}.detail",
     "required", "T11"),
    ("responses.yaml", "InputItem", "{type=message}.content[]{type=output_text}.annotations",
     "required", "T15"),
    ("responses.yaml", "InputItem", "{type=message}.content[]{type=output_text}.logprobs",
     "required", "T15"),
    # responses: stream events
    ("responses.yaml", "ResponseStreamEvent", "{type=error}.code", "required", "T09"),
    ("responses.yaml", "ResponseStreamEvent", "{type=error}.param", "required", "T09"),
    *(("responses.yaml", "ResponseStreamEvent", f"{{type={event}}}.response_id", "required",
       "T10")
      for event in ("response.audio.done", "response.audio.transcript.delta",
                    "response.audio.transcript.done")),
    ("responses.yaml", "ResponseStreamEvent", "{type=response.function_call_arguments.done}.name",
     "required", "T08"),
    *(("responses.yaml", "ResponseStreamEvent", f"{{type={event}}}.logprobs", "required", "T04")
      for event in ("response.output_text.delta", "response.output_text.done")),
    *(("responses.yaml", "ResponseStreamEvent",
       f"{{type={event}}}.part{{type=output_text}}.logprobs", "required", "T04")
      for event in ("response.content_part.added", "response.content_part.done")),
    # responses: requests
    ("responses.yaml", "CreateResponseRequest", "top_logprobs", "nullable", "T12"),
    ("responses.yaml", "Tool", "{type=function}.parameters", "required", "T11"),
    ("responses.yaml", "Tool", "{type=function}.strict", "required", "T11"),
]

# ---------------------------------------------------------------------------------------------
# The official facts (generated from the reference; see the module docstring).
OFFICIAL: dict[tuple[str, str], dict[str, str]] = {
    ("chat.yaml", "CreateChatCompletionStreamResponse"): {
        "id": "R",
        "choices": "R",
        "choices[].delta": "R",
        "choices[].logprobs.content": "RN",
        "choices[].logprobs.refusal": "RN",
        "choices[].finish_reason": "RN",
        "choices[].index": "R",
        "created": "R",
        "model": "R",
        "obfuscation": "O",
        "system_fingerprint": "O",
        "object": "R",
    },
    ("chat.yaml", "ChatCompletionStreamResponseDelta"): {
        "function_call": "O",
        "function_call.arguments": "O",
        "function_call.name": "O",
        "tool_calls": "O",
        "role": "O",
    },
    ("chat.yaml", "ChatCompletionMessageToolCallChunk"): {
        "index": "R",
        "id": "O",
        "type": "O",
        "function": "O",
        "function.name": "O",
        "function.arguments": "O",
    },
    ("chat.yaml", "CreateChatCompletionResponse"): {
        "id": "R",
        "choices": "R",
        "choices[].finish_reason": "R",
        "choices[].index": "R",
        "choices[].message": "R",
        "choices[].logprobs": "RN",
        "choices[].logprobs.content": "RN",
        "choices[].logprobs.refusal": "RN",
        "created": "R",
        "model": "R",
        "system_fingerprint": "O",
        "object": "R",
        "usage": "O",
    },
    ("chat.yaml", "ChatCompletionResponseMessage"): {
        "content": "RN",
        "refusal": "RN",
        "tool_calls": "O",
        "tool_calls[]{type=custom}.id": "R",
        "tool_calls[]{type=custom}.custom": "R",
        "tool_calls[]{type=custom}.custom.name": "R",
        "tool_calls[]{type=custom}.custom.input": "R",
        "tool_calls[]{type=function}.id": "R",
        "tool_calls[]{type=function}.function": "R",
        "tool_calls[]{type=function}.function.name": "R",
        "tool_calls[]{type=function}.function.arguments": "R",
        "annotations": "O",
        "annotations[].type": "R",
        "annotations[].url_citation": "R",
        "annotations[].url_citation.end_index": "R",
        "annotations[].url_citation.start_index": "R",
        "annotations[].url_citation.url": "R",
        "annotations[].url_citation.title": "R",
        "role": "R",
        "function_call": "O",
        "function_call.arguments": "R",
        "function_call.name": "R",
        "audio.id": "R",
        "audio.expires_at": "R",
        "audio.data": "R",
        "audio.transcript": "R",
    },
    ("chat.yaml", "ChatCompletionTokenLogprob"): {
        "token": "R",
        "logprob": "R",
        "bytes": "RN",
        "top_logprobs": "R",
        "top_logprobs[].token": "R",
        "top_logprobs[].logprob": "R",
        "top_logprobs[].bytes": "RN",
    },
    ("chat.yaml", "CompletionUsage"): {
        "completion_tokens": "R",
        "prompt_tokens": "R",
        "total_tokens": "R",
        "completion_tokens_details": "O",
        "completion_tokens_details.accepted_prediction_tokens": "O",
        "completion_tokens_details.audio_tokens": "O",
        "completion_tokens_details.reasoning_tokens": "O",
        "completion_tokens_details.text_tokens": "O",
        "completion_tokens_details.rejected_prediction_tokens": "O",
        "prompt_tokens_details": "O",
        "prompt_tokens_details.audio_tokens": "O",
        "prompt_tokens_details.cached_tokens": "O",
        "prompt_tokens_details.text_tokens": "O",
        "prompt_tokens_details.image_tokens": "O",
        "prompt_tokens_details.cache_write_tokens": "O",
    },
    ("chat.yaml", "ChatCompletionModeration"): {
        "input": "R",
        "input{type=error}.code": "R",
        "input{type=error}.message": "R",
        "input{type=moderation_results}.model": "R",
        "input{type=moderation_results}.results": "R",
        "input{type=moderation_results}.results[].type": "R",
        "input{type=moderation_results}.results[].model": "R",
        "input{type=moderation_results}.results[].flagged": "R",
        "input{type=moderation_results}.results[].categories": "R",
        "input{type=moderation_results}.results[].category_scores": "R",
        "input{type=moderation_results}.results[].category_applied_input_types": "R",
        "output": "R",
        "output{type=error}.code": "R",
        "output{type=error}.message": "R",
        "output{type=moderation_results}.model": "R",
        "output{type=moderation_results}.results": "R",
        "output{type=moderation_results}.results[].type": "R",
        "output{type=moderation_results}.results[].model": "R",
        "output{type=moderation_results}.results[].flagged": "R",
        "output{type=moderation_results}.results[].categories": "R",
        "output{type=moderation_results}.results[].category_scores": "R",
        "output{type=moderation_results}.results[].category_applied_input_types": "R",
    },
    ("chat.yaml", "ErrorResponse"): {
        "error": "R",
        "error.code": "RN",
        "error.message": "R",
        "error.param": "RN",
        "error.type": "R",
    },
    ("chat.yaml", "ListModelsResponse"): {
        "object": "R",
        "data": "R",
    },
    ("chat.yaml", "Model"): {
        "id": "R",
        "created": "R",
        "object": "R",
        "owned_by": "R",
    },
    ("chat.yaml", "CreateChatCompletionRequest"): {
        "top_logprobs": "O",
        "user": "O",
        "prompt_cache_options": "O",
        "prompt_cache_options.ttl": "O",
        "prompt_cache_options.mode": "O",
        "messages": "R",
        "model": "R",
        "web_search_options": "O",
        "web_search_options.user_location.type": "R",
        "web_search_options.user_location.approximate": "R",
        "web_search_options.user_location.approximate.country": "O",
        "web_search_options.user_location.approximate.region": "O",
        "web_search_options.user_location.approximate.city": "O",
        "web_search_options.user_location.approximate.timezone": "O",
        "web_search_options.search_context_size": "O",
        "response_format": "O",
        "response_format{type=json_schema}.json_schema": "R",
        "response_format{type=json_schema}.json_schema.description": "O",
        "response_format{type=json_schema}.json_schema.name": "R",
        "response_format{type=json_schema}.json_schema.schema": "O",
        "audio.voice": "R",
        "audio.voice.id": "R",
        "audio.format": "R",
        "moderation.model": "R",
        "prediction.type": "R",
        "prediction.content": "R",
        "prediction.content[].type": "R",
        "prediction.content[].text": "R",
        "prediction.content[].prompt_cache_breakpoint": "O",
        "prediction.content[].prompt_cache_breakpoint.mode": "R",
        "stream_options.include_usage": "O",
        "stream_options.include_obfuscation": "O",
        "tools": "O",
        "tools[]{type=custom}.custom": "R",
        "tools[]{type=custom}.custom.name": "R",
        "tools[]{type=custom}.custom.description": "O",
        "tools[]{type=custom}.custom.format": "O",
        "tools[]{type=custom}.custom.format{type=grammar}.grammar": "R",
        "tools[]{type=custom}.custom.format{type=grammar}.grammar.definition": "R",
        "tools[]{type=custom}.custom.format{type=grammar}.grammar.syntax": "R",
        "tools[]{type=function}.function": "R",
        "tools[]{type=function}.function.description": "O",
        "tools[]{type=function}.function.name": "R",
        "tools[]{type=function}.function.parameters": "O",
        "tool_choice": "O",
        "tool_choice{type=allowed_tools}.allowed_tools": "R",
        "tool_choice{type=allowed_tools}.allowed_tools.mode": "R",
        "tool_choice{type=allowed_tools}.allowed_tools.tools": "R",
        "tool_choice{type=custom}.custom": "R",
        "tool_choice{type=custom}.custom.name": "R",
        "tool_choice{type=function}.function": "R",
        "tool_choice{type=function}.function.name": "R",
        "parallel_tool_calls": "O",
        "function_call": "O",
        "function_call.name": "R",
        "functions": "O",
        "functions[].description": "O",
        "functions[].name": "R",
        "functions[].parameters": "O",
    },
    ("chat.yaml", "ChatCompletionRequestMessage"): {
        "{role=assistant}.content[]{type=refusal}.refusal": "R",
        "{role=assistant}.content[]{type=text}.text": "R",
        "{role=assistant}.content[]{type=text}.prompt_cache_breakpoint": "O",
        "{role=assistant}.content[]{type=text}.prompt_cache_breakpoint.mode": "R",
        "{role=assistant}.name": "O",
        "{role=assistant}.audio.id": "R",
        "{role=assistant}.tool_calls": "O",
        "{role=assistant}.tool_calls[]{type=custom}.id": "R",
        "{role=assistant}.tool_calls[]{type=custom}.custom": "R",
        "{role=assistant}.tool_calls[]{type=custom}.custom.name": "R",
        "{role=assistant}.tool_calls[]{type=custom}.custom.input": "R",
        "{role=assistant}.tool_calls[]{type=function}.id": "R",
        "{role=assistant}.tool_calls[]{type=function}.function": "R",
        "{role=assistant}.tool_calls[]{type=function}.function.name": "R",
        "{role=assistant}.tool_calls[]{type=function}.function.arguments": "R",
        "{role=assistant}.function_call.arguments": "R",
        "{role=assistant}.function_call.name": "R",
        "{role=developer}.content": "R",
        "{role=developer}.content[].type": "R",
        "{role=developer}.content[].text": "R",
        "{role=developer}.content[].prompt_cache_breakpoint": "O",
        "{role=developer}.content[].prompt_cache_breakpoint.mode": "R",
        "{role=developer}.name": "O",
        "{role=function}.content": "RN",
        "{role=function}.name": "R",
        "{role=system}.content": "R",
        "{role=system}.content[].type": "R",
        "{role=system}.content[].text": "R",
        "{role=system}.content[].prompt_cache_breakpoint": "O",
        "{role=system}.content[].prompt_cache_breakpoint.mode": "R",
        "{role=system}.name": "O",
        "{role=tool}.content": "R",
        "{role=tool}.content[].type": "R",
        "{role=tool}.content[].text": "R",
        "{role=tool}.content[].prompt_cache_breakpoint": "O",
        "{role=tool}.content[].prompt_cache_breakpoint.mode": "R",
        "{role=tool}.tool_call_id": "R",
        "{role=user}.content": "R",
        "{role=user}.content[]{type=file}.file": "R",
        "{role=user}.content[]{type=file}.file.filename": "O",
        "{role=user}.content[]{type=file}.file.file_data": "O",
        "{role=user}.content[]{type=file}.file.file_id": "O",
        "{role=user}.content[]{type=image_url}.image_url": "R",
        "{role=user}.content[]{type=image_url}.image_url.url": "R",
        "{role=user}.content[]{type=image_url}.image_url.detail": "O",
        "{role=user}.content[]{type=input_audio}.input_audio": "R",
        "{role=user}.content[]{type=input_audio}.input_audio.data": "R",
        "{role=user}.content[]{type=input_audio}.input_audio.format": "R",
        "{role=user}.content[]{type=text}.text": "R",
        "{role=user}.content[]{type=text}.prompt_cache_breakpoint": "O",
        "{role=user}.content[]{type=text}.prompt_cache_breakpoint.mode": "R",
        "{role=user}.name": "O",
    },
    ("responses.yaml", "ResponseStreamEvent"): {
        "{type=error}.code": "RN",
        "{type=error}.message": "R",
        "{type=error}.param": "RN",
        "{type=error}.sequence_number": "R",
        "{type=response.audio.delta}.sequence_number": "R",
        "{type=response.audio.delta}.delta": "R",
        "{type=response.audio.done}.sequence_number": "R",
        "{type=response.audio.done}.response_id": "RN",
        "{type=response.audio.transcript.delta}.delta": "R",
        "{type=response.audio.transcript.delta}.sequence_number": "R",
        "{type=response.audio.transcript.delta}.response_id": "RN",
        "{type=response.audio.transcript.done}.sequence_number": "R",
        "{type=response.audio.transcript.done}.response_id": "RN",
        "{type=response.code_interpreter_call.completed}.output_index": "R",
        "{type=response.code_interpreter_call.completed}.item_id": "R",
        "{type=response.code_interpreter_call.completed}.sequence_number": "R",
        "{type=response.code_interpreter_call.in_progress}.output_index": "R",
        "{type=response.code_interpreter_call.in_progress}.item_id": "R",
        "{type=response.code_interpreter_call.in_progress}.sequence_number": "R",
        "{type=response.code_interpreter_call.interpreting}.output_index": "R",
        "{type=response.code_interpreter_call.interpreting}.item_id": "R",
        "{type=response.code_interpreter_call.interpreting}.sequence_number": "R",
        "{type=response.code_interpreter_call_code.delta}.output_index": "R",
        "{type=response.code_interpreter_call_code.delta}.item_id": "R",
        "{type=response.code_interpreter_call_code.delta}.delta": "R",
        "{type=response.code_interpreter_call_code.delta}.sequence_number": "R",
        "{type=response.code_interpreter_call_code.done}.output_index": "R",
        "{type=response.code_interpreter_call_code.done}.item_id": "R",
        "{type=response.code_interpreter_call_code.done}.code": "R",
        "{type=response.code_interpreter_call_code.done}.sequence_number": "R",
        "{type=response.completed}.response": "R",
        "{type=response.completed}.sequence_number": "R",
        "{type=response.content_part.added}.item_id": "R",
        "{type=response.content_part.added}.output_index": "R",
        "{type=response.content_part.added}.content_index": "R",
        "{type=response.content_part.added}.part": "R",
        "{type=response.content_part.added}.part{type=output_text}.text": "R",
        "{type=response.content_part.added}.part{type=output_text}.annotations": "R",
        ("{type=response.content_part.added}.part{type=output_text}"
         ".annotations[]{type=container_file_citation}.container_id"): "R",
        ("{type=response.content_part.added}.part{type=output_text}"
         ".annotations[]{type=container_file_citation}.file_id"): "R",
        ("{type=response.content_part.added}.part{type=output_text}"
         ".annotations[]{type=container_file_citation}.start_index"): "R",
        ("{type=response.content_part.added}.part{type=output_text}"
         ".annotations[]{type=container_file_citation}.end_index"): "R",
        ("{type=response.content_part.added}.part{type=output_text}"
         ".annotations[]{type=container_file_citation}.filename"): "R",
        ("{type=response.content_part.added}.part{type=output_text}"
         ".annotations[]{type=file_citation}.file_id"): "R",
        ("{type=response.content_part.added}.part{type=output_text}"
         ".annotations[]{type=file_citation}.index"): "R",
        ("{type=response.content_part.added}.part{type=output_text}"
         ".annotations[]{type=file_citation}.filename"): "R",
        ("{type=response.content_part.added}.part{type=output_text}"
         ".annotations[]{type=file_path}.file_id"): "R",
        ("{type=response.content_part.added}.part{type=output_text}"
         ".annotations[]{type=file_path}.index"): "R",
        ("{type=response.content_part.added}.part{type=output_text}"
         ".annotations[]{type=url_citation}.url"): "R",
        ("{type=response.content_part.added}.part{type=output_text}"
         ".annotations[]{type=url_citation}.start_index"): "R",
        ("{type=response.content_part.added}.part{type=output_text}"
         ".annotations[]{type=url_citation}.end_index"): "R",
        ("{type=response.content_part.added}.part{type=output_text}"
         ".annotations[]{type=url_citation}.title"): "R",
        "{type=response.content_part.added}.part{type=output_text}.logprobs": "R",
        "{type=response.content_part.added}.part{type=output_text}.logprobs[].token": "R",
        "{type=response.content_part.added}.part{type=output_text}.logprobs[].logprob": "R",
        "{type=response.content_part.added}.part{type=output_text}.logprobs[].bytes": "R",
        "{type=response.content_part.added}.part{type=output_text}.logprobs[].top_logprobs": "R",
        ("{type=response.content_part.added}.part{type=output_text}.logprobs[]"
         ".top_logprobs[].token"): "R",
        ("{type=response.content_part.added}.part{type=output_text}.logprobs[]"
         ".top_logprobs[].logprob"): "R",
        ("{type=response.content_part.added}.part{type=output_text}.logprobs[]"
         ".top_logprobs[].bytes"): "R",
        "{type=response.content_part.added}.part{type=reasoning_text}.text": "R",
        "{type=response.content_part.added}.part{type=refusal}.refusal": "R",
        "{type=response.content_part.added}.sequence_number": "R",
        "{type=response.content_part.done}.item_id": "R",
        "{type=response.content_part.done}.output_index": "R",
        "{type=response.content_part.done}.content_index": "R",
        "{type=response.content_part.done}.sequence_number": "R",
        "{type=response.content_part.done}.part": "R",
        "{type=response.content_part.done}.part{type=output_text}.text": "R",
        "{type=response.content_part.done}.part{type=output_text}.annotations": "R",
        ("{type=response.content_part.done}.part{type=output_text}"
         ".annotations[]{type=container_file_citation}.container_id"): "R",
        ("{type=response.content_part.done}.part{type=output_text}"
         ".annotations[]{type=container_file_citation}.file_id"): "R",
        ("{type=response.content_part.done}.part{type=output_text}"
         ".annotations[]{type=container_file_citation}.start_index"): "R",
        ("{type=response.content_part.done}.part{type=output_text}"
         ".annotations[]{type=container_file_citation}.end_index"): "R",
        ("{type=response.content_part.done}.part{type=output_text}"
         ".annotations[]{type=container_file_citation}.filename"): "R",
        ("{type=response.content_part.done}.part{type=output_text}"
         ".annotations[]{type=file_citation}.file_id"): "R",
        ("{type=response.content_part.done}.part{type=output_text}"
         ".annotations[]{type=file_citation}.index"): "R",
        ("{type=response.content_part.done}.part{type=output_text}"
         ".annotations[]{type=file_citation}.filename"): "R",
        ("{type=response.content_part.done}.part{type=output_text}"
         ".annotations[]{type=file_path}.file_id"): "R",
        ("{type=response.content_part.done}.part{type=output_text}"
         ".annotations[]{type=file_path}.index"): "R",
        ("{type=response.content_part.done}.part{type=output_text}"
         ".annotations[]{type=url_citation}.url"): "R",
        ("{type=response.content_part.done}.part{type=output_text}"
         ".annotations[]{type=url_citation}.start_index"): "R",
        ("{type=response.content_part.done}.part{type=output_text}"
         ".annotations[]{type=url_citation}.end_index"): "R",
        ("{type=response.content_part.done}.part{type=output_text}"
         ".annotations[]{type=url_citation}.title"): "R",
        "{type=response.content_part.done}.part{type=output_text}.logprobs": "R",
        "{type=response.content_part.done}.part{type=output_text}.logprobs[].token": "R",
        "{type=response.content_part.done}.part{type=output_text}.logprobs[].logprob": "R",
        "{type=response.content_part.done}.part{type=output_text}.logprobs[].bytes": "R",
        "{type=response.content_part.done}.part{type=output_text}.logprobs[].top_logprobs": "R",
        ("{type=response.content_part.done}.part{type=output_text}.logprobs[]"
         ".top_logprobs[].token"): "R",
        ("{type=response.content_part.done}.part{type=output_text}.logprobs[]"
         ".top_logprobs[].logprob"): "R",
        ("{type=response.content_part.done}.part{type=output_text}.logprobs[]"
         ".top_logprobs[].bytes"): "R",
        "{type=response.content_part.done}.part{type=reasoning_text}.text": "R",
        "{type=response.content_part.done}.part{type=refusal}.refusal": "R",
        "{type=response.created}.response": "R",
        "{type=response.created}.sequence_number": "R",
        "{type=response.custom_tool_call_input.delta}.sequence_number": "R",
        "{type=response.custom_tool_call_input.delta}.output_index": "R",
        "{type=response.custom_tool_call_input.delta}.item_id": "R",
        "{type=response.custom_tool_call_input.delta}.delta": "R",
        "{type=response.custom_tool_call_input.done}.sequence_number": "R",
        "{type=response.custom_tool_call_input.done}.output_index": "R",
        "{type=response.custom_tool_call_input.done}.item_id": "R",
        "{type=response.custom_tool_call_input.done}.input": "R",
        "{type=response.failed}.sequence_number": "R",
        "{type=response.failed}.response": "R",
        "{type=response.file_search_call.completed}.output_index": "R",
        "{type=response.file_search_call.completed}.item_id": "R",
        "{type=response.file_search_call.completed}.sequence_number": "R",
        "{type=response.file_search_call.in_progress}.output_index": "R",
        "{type=response.file_search_call.in_progress}.item_id": "R",
        "{type=response.file_search_call.in_progress}.sequence_number": "R",
        "{type=response.file_search_call.searching}.output_index": "R",
        "{type=response.file_search_call.searching}.item_id": "R",
        "{type=response.file_search_call.searching}.sequence_number": "R",
        "{type=response.function_call_arguments.delta}.item_id": "R",
        "{type=response.function_call_arguments.delta}.output_index": "R",
        "{type=response.function_call_arguments.delta}.sequence_number": "R",
        "{type=response.function_call_arguments.delta}.delta": "R",
        "{type=response.function_call_arguments.done}.item_id": "R",
        "{type=response.function_call_arguments.done}.name": "R",
        "{type=response.function_call_arguments.done}.output_index": "R",
        "{type=response.function_call_arguments.done}.sequence_number": "R",
        "{type=response.function_call_arguments.done}.arguments": "R",
        "{type=response.image_generation_call.completed}.output_index": "R",
        "{type=response.image_generation_call.completed}.sequence_number": "R",
        "{type=response.image_generation_call.completed}.item_id": "R",
        "{type=response.image_generation_call.generating}.output_index": "R",
        "{type=response.image_generation_call.generating}.item_id": "R",
        "{type=response.image_generation_call.generating}.sequence_number": "R",
        "{type=response.image_generation_call.in_progress}.output_index": "R",
        "{type=response.image_generation_call.in_progress}.item_id": "R",
        "{type=response.image_generation_call.in_progress}.sequence_number": "R",
        "{type=response.image_generation_call.partial_image}.output_index": "R",
        "{type=response.image_generation_call.partial_image}.item_id": "R",
        "{type=response.image_generation_call.partial_image}.sequence_number": "R",
        "{type=response.image_generation_call.partial_image}.partial_image_index": "R",
        "{type=response.image_generation_call.partial_image}.partial_image_b64": "R",
        "{type=response.image_generation_call.partial_image}.size": "O",
        "{type=response.image_generation_call.partial_image}.quality": "O",
        "{type=response.image_generation_call.partial_image}.background": "O",
        "{type=response.image_generation_call.partial_image}.output_format": "O",
        "{type=response.in_progress}.response": "R",
        "{type=response.in_progress}.sequence_number": "R",
        "{type=response.incomplete}.response": "R",
        "{type=response.incomplete}.sequence_number": "R",
        "{type=response.mcp_call.completed}.item_id": "R",
        "{type=response.mcp_call.completed}.output_index": "R",
        "{type=response.mcp_call.completed}.sequence_number": "R",
        "{type=response.mcp_call.failed}.item_id": "R",
        "{type=response.mcp_call.failed}.output_index": "R",
        "{type=response.mcp_call.failed}.sequence_number": "R",
        "{type=response.mcp_call.in_progress}.sequence_number": "R",
        "{type=response.mcp_call.in_progress}.output_index": "R",
        "{type=response.mcp_call.in_progress}.item_id": "R",
        "{type=response.mcp_call_arguments.delta}.output_index": "R",
        "{type=response.mcp_call_arguments.delta}.item_id": "R",
        "{type=response.mcp_call_arguments.delta}.delta": "R",
        "{type=response.mcp_call_arguments.delta}.sequence_number": "R",
        "{type=response.mcp_call_arguments.done}.output_index": "R",
        "{type=response.mcp_call_arguments.done}.item_id": "R",
        "{type=response.mcp_call_arguments.done}.arguments": "R",
        "{type=response.mcp_call_arguments.done}.sequence_number": "R",
        "{type=response.mcp_list_tools.completed}.item_id": "R",
        "{type=response.mcp_list_tools.completed}.output_index": "R",
        "{type=response.mcp_list_tools.completed}.sequence_number": "R",
        "{type=response.mcp_list_tools.failed}.item_id": "R",
        "{type=response.mcp_list_tools.failed}.output_index": "R",
        "{type=response.mcp_list_tools.failed}.sequence_number": "R",
        "{type=response.mcp_list_tools.in_progress}.item_id": "R",
        "{type=response.mcp_list_tools.in_progress}.output_index": "R",
        "{type=response.mcp_list_tools.in_progress}.sequence_number": "R",
        "{type=response.output_item.added}.output_index": "R",
        "{type=response.output_item.added}.sequence_number": "R",
        "{type=response.output_item.added}.item": "R",
        "{type=response.output_item.done}.output_index": "R",
        "{type=response.output_item.done}.sequence_number": "R",
        "{type=response.output_item.done}.item": "R",
        "{type=response.output_text.annotation.added}.item_id": "R",
        "{type=response.output_text.annotation.added}.output_index": "R",
        "{type=response.output_text.annotation.added}.content_index": "R",
        "{type=response.output_text.annotation.added}.annotation_index": "R",
        "{type=response.output_text.annotation.added}.sequence_number": "R",
        "{type=response.output_text.annotation.added}.annotation": "RN",
        ("{type=response.output_text.annotation.added}"
         ".annotation{type=container_file_citation}.container_id"): "R",
        ("{type=response.output_text.annotation.added}"
         ".annotation{type=container_file_citation}.file_id"): "R",
        ("{type=response.output_text.annotation.added}"
         ".annotation{type=container_file_citation}.start_index"): "R",
        ("{type=response.output_text.annotation.added}"
         ".annotation{type=container_file_citation}.end_index"): "R",
        ("{type=response.output_text.annotation.added}"
         ".annotation{type=container_file_citation}.filename"): "R",
        "{type=response.output_text.annotation.added}.annotation{type=file_citation}.file_id": "R",
        "{type=response.output_text.annotation.added}.annotation{type=file_citation}.index": "R",
        "{type=response.output_text.annotation.added}.annotation{type=file_citation}.filename": "R",
        "{type=response.output_text.annotation.added}.annotation{type=file_path}.file_id": "R",
        "{type=response.output_text.annotation.added}.annotation{type=file_path}.index": "R",
        "{type=response.output_text.annotation.added}.annotation{type=url_citation}.url": "R",
        ("{type=response.output_text.annotation.added}.annotation{type=url_citation}"
         ".start_index"): "R",
        "{type=response.output_text.annotation.added}.annotation{type=url_citation}.end_index": "R",
        "{type=response.output_text.annotation.added}.annotation{type=url_citation}.title": "R",
        "{type=response.output_text.delta}.item_id": "R",
        "{type=response.output_text.delta}.output_index": "R",
        "{type=response.output_text.delta}.content_index": "R",
        "{type=response.output_text.delta}.delta": "R",
        "{type=response.output_text.delta}.sequence_number": "R",
        "{type=response.output_text.delta}.logprobs": "R",
        "{type=response.output_text.delta}.logprobs[].token": "R",
        "{type=response.output_text.delta}.logprobs[].logprob": "R",
        "{type=response.output_text.delta}.logprobs[].top_logprobs": "O",
        "{type=response.output_text.delta}.logprobs[].top_logprobs[].token": "O",
        "{type=response.output_text.delta}.logprobs[].top_logprobs[].logprob": "O",
        "{type=response.output_text.done}.item_id": "R",
        "{type=response.output_text.done}.output_index": "R",
        "{type=response.output_text.done}.content_index": "R",
        "{type=response.output_text.done}.text": "R",
        "{type=response.output_text.done}.sequence_number": "R",
        "{type=response.output_text.done}.logprobs": "R",
        "{type=response.output_text.done}.logprobs[].token": "R",
        "{type=response.output_text.done}.logprobs[].logprob": "R",
        "{type=response.output_text.done}.logprobs[].top_logprobs": "O",
        "{type=response.output_text.done}.logprobs[].top_logprobs[].token": "O",
        "{type=response.output_text.done}.logprobs[].top_logprobs[].logprob": "O",
        "{type=response.queued}.response": "R",
        "{type=response.queued}.sequence_number": "R",
        "{type=response.reasoning_summary_part.added}.item_id": "R",
        "{type=response.reasoning_summary_part.added}.output_index": "R",
        "{type=response.reasoning_summary_part.added}.summary_index": "R",
        "{type=response.reasoning_summary_part.added}.sequence_number": "R",
        "{type=response.reasoning_summary_part.added}.part": "R",
        "{type=response.reasoning_summary_part.added}.part.type": "R",
        "{type=response.reasoning_summary_part.added}.part.text": "R",
        "{type=response.reasoning_summary_part.done}.item_id": "R",
        "{type=response.reasoning_summary_part.done}.output_index": "R",
        "{type=response.reasoning_summary_part.done}.summary_index": "R",
        "{type=response.reasoning_summary_part.done}.status": "O",
        "{type=response.reasoning_summary_part.done}.sequence_number": "R",
        "{type=response.reasoning_summary_part.done}.part": "R",
        "{type=response.reasoning_summary_part.done}.part.type": "R",
        "{type=response.reasoning_summary_part.done}.part.text": "R",
        "{type=response.reasoning_summary_text.delta}.item_id": "R",
        "{type=response.reasoning_summary_text.delta}.output_index": "R",
        "{type=response.reasoning_summary_text.delta}.summary_index": "R",
        "{type=response.reasoning_summary_text.delta}.delta": "R",
        "{type=response.reasoning_summary_text.delta}.sequence_number": "R",
        "{type=response.reasoning_summary_text.done}.item_id": "R",
        "{type=response.reasoning_summary_text.done}.output_index": "R",
        "{type=response.reasoning_summary_text.done}.summary_index": "R",
        "{type=response.reasoning_summary_text.done}.text": "R",
        "{type=response.reasoning_summary_text.done}.sequence_number": "R",
        "{type=response.reasoning_text.delta}.item_id": "R",
        "{type=response.reasoning_text.delta}.output_index": "R",
        "{type=response.reasoning_text.delta}.content_index": "R",
        "{type=response.reasoning_text.delta}.delta": "R",
        "{type=response.reasoning_text.delta}.sequence_number": "R",
        "{type=response.reasoning_text.done}.item_id": "R",
        "{type=response.reasoning_text.done}.output_index": "R",
        "{type=response.reasoning_text.done}.content_index": "R",
        "{type=response.reasoning_text.done}.text": "R",
        "{type=response.reasoning_text.done}.sequence_number": "R",
        "{type=response.refusal.delta}.item_id": "R",
        "{type=response.refusal.delta}.output_index": "R",
        "{type=response.refusal.delta}.content_index": "R",
        "{type=response.refusal.delta}.delta": "R",
        "{type=response.refusal.delta}.sequence_number": "R",
        "{type=response.refusal.done}.item_id": "R",
        "{type=response.refusal.done}.output_index": "R",
        "{type=response.refusal.done}.content_index": "R",
        "{type=response.refusal.done}.refusal": "R",
        "{type=response.refusal.done}.sequence_number": "R",
        "{type=response.shell_call_command.added}.sequence_number": "R",
        "{type=response.shell_call_command.added}.output_index": "R",
        "{type=response.shell_call_command.added}.command_index": "R",
        "{type=response.shell_call_command.added}.command": "R",
        "{type=response.shell_call_command.delta}.sequence_number": "R",
        "{type=response.shell_call_command.delta}.output_index": "R",
        "{type=response.shell_call_command.delta}.command_index": "R",
        "{type=response.shell_call_command.delta}.delta": "R",
        "{type=response.shell_call_command.delta}.obfuscation": "O",
        "{type=response.shell_call_command.done}.sequence_number": "R",
        "{type=response.shell_call_command.done}.output_index": "R",
        "{type=response.shell_call_command.done}.command_index": "R",
        "{type=response.shell_call_command.done}.command": "R",
        "{type=response.shell_call_output_content.delta}.sequence_number": "R",
        "{type=response.shell_call_output_content.delta}.item_id": "R",
        "{type=response.shell_call_output_content.delta}.output_index": "R",
        "{type=response.shell_call_output_content.delta}.command_index": "R",
        "{type=response.shell_call_output_content.delta}.delta": "R",
        "{type=response.shell_call_output_content.delta}.delta.stdout": "O",
        "{type=response.shell_call_output_content.delta}.delta.stderr": "O",
        "{type=response.shell_call_output_content.done}.sequence_number": "R",
        "{type=response.shell_call_output_content.done}.item_id": "R",
        "{type=response.shell_call_output_content.done}.output_index": "R",
        "{type=response.shell_call_output_content.done}.command_index": "R",
        "{type=response.shell_call_output_content.done}.output": "R",
        "{type=response.shell_call_output_content.done}.output[].stdout": "R",
        "{type=response.shell_call_output_content.done}.output[].stderr": "R",
        "{type=response.shell_call_output_content.done}.output[].outcome": "R",
        "{type=response.web_search_call.completed}.output_index": "R",
        "{type=response.web_search_call.completed}.item_id": "R",
        "{type=response.web_search_call.completed}.sequence_number": "R",
        "{type=response.web_search_call.in_progress}.output_index": "R",
        "{type=response.web_search_call.in_progress}.item_id": "R",
        "{type=response.web_search_call.in_progress}.sequence_number": "R",
        "{type=response.web_search_call.searching}.output_index": "R",
        "{type=response.web_search_call.searching}.item_id": "R",
        "{type=response.web_search_call.searching}.sequence_number": "R",
    },
    ("responses.yaml", "Response"): {
        "metadata": "RN",
        "temperature": "RN",
        "top_p": "RN",
        "user": "O",
        "model": "R",
        "text": "O",
        "text.format": "O",
        "text.format{type=json_schema}.description": "O",
        "text.format{type=json_schema}.name": "R",
        "text.format{type=json_schema}.schema": "R",
        "tools": "R",
        "tool_choice": "R",
        "tool_choice{type=allowed_tools}.mode": "R",
        "tool_choice{type=allowed_tools}.tools": "R",
        "tool_choice{type=custom}.name": "R",
        "tool_choice{type=function}.name": "R",
        "tool_choice{type=mcp}.server_label": "R",
        "prompt.id": "R",
        "id": "R",
        "object": "R",
        "status": "O",
        "created_at": "R",
        "error": "RN",
        "error.code": "R",
        "error.message": "R",
        "incomplete_details": "RN",
        "incomplete_details.reason": "O",
        "output": "R",
        "instructions": "RN",
        "usage": "O",
        "prompt_cache_options": "O",
        "prompt_cache_options.ttl": "R",
        "prompt_cache_options.mode": "R",
        "parallel_tool_calls": "R",
        "conversation.id": "R",
    },
    ("responses.yaml", "ResponseUsage"): {
        "input_tokens": "R",
        "input_tokens_details": "R",
        "input_tokens_details.cached_tokens": "R",
        "input_tokens_details.cache_write_tokens": "R",
        "output_tokens": "R",
        "output_tokens_details": "R",
        "output_tokens_details.reasoning_tokens": "R",
        "total_tokens": "R",
    },
    ("responses.yaml", "OutputItem"): {
        "{type=additional_tools}.id": "R",
        "{type=additional_tools}.role": "R",
        "{type=additional_tools}.tools": "R",
        "{type=apply_patch_call}.id": "R",
        "{type=apply_patch_call}.call_id": "R",
        "{type=apply_patch_call}.status": "R",
        "{type=apply_patch_call}.operation": "R",
        "{type=apply_patch_call_output}.id": "R",
        "{type=apply_patch_call_output}.call_id": "R",
        "{type=apply_patch_call_output}.status": "R",
        "{type=code_interpreter_call}.id": "R",
        "{type=code_interpreter_call}.status": "R",
        "{type=code_interpreter_call}.container_id": "R",
        "{type=code_interpreter_call}.code": "RN",
        "{type=code_interpreter_call}.outputs": "RN",
        "{type=code_interpreter_call}.outputs[]{type=image}.url": "R",
        "{type=code_interpreter_call}.outputs[]{type=logs}.logs": "R",
        "{type=compaction}.id": "R",
        "{type=compaction}.encrypted_content": "R",
        "{type=computer_call}.id": "R",
        "{type=computer_call}.call_id": "R",
        "{type=computer_call}.action": "O",
        "{type=computer_call}.action{type=click}.button": "R",
        "{type=computer_call}.action{type=click}.x": "R",
        "{type=computer_call}.action{type=click}.y": "R",
        "{type=computer_call}.action{type=double_click}.x": "R",
        "{type=computer_call}.action{type=double_click}.y": "R",
        "{type=computer_call}.action{type=double_click}.keys": "RN",
        "{type=computer_call}.action{type=drag}.path": "R",
        "{type=computer_call}.action{type=drag}.path[].x": "R",
        "{type=computer_call}.action{type=drag}.path[].y": "R",
        "{type=computer_call}.action{type=keypress}.keys": "R",
        "{type=computer_call}.action{type=move}.x": "R",
        "{type=computer_call}.action{type=move}.y": "R",
        "{type=computer_call}.action{type=scroll}.x": "R",
        "{type=computer_call}.action{type=scroll}.y": "R",
        "{type=computer_call}.action{type=scroll}.scroll_x": "R",
        "{type=computer_call}.action{type=scroll}.scroll_y": "R",
        "{type=computer_call}.action{type=type}.text": "R",
        "{type=computer_call}.actions": "O",
        "{type=computer_call}.pending_safety_checks": "R",
        "{type=computer_call}.pending_safety_checks[].id": "R",
        "{type=computer_call}.status": "R",
        "{type=computer_call_output}.id": "R",
        "{type=computer_call_output}.call_id": "R",
        "{type=computer_call_output}.acknowledged_safety_checks": "O",
        "{type=computer_call_output}.acknowledged_safety_checks[].id": "R",
        "{type=computer_call_output}.output": "R",
        "{type=computer_call_output}.output.type": "R",
        "{type=computer_call_output}.output.image_url": "O",
        "{type=computer_call_output}.output.file_id": "O",
        "{type=computer_call_output}.status": "R",
        "{type=custom_tool_call}.id": "O",
        "{type=custom_tool_call}.call_id": "R",
        "{type=custom_tool_call}.name": "R",
        "{type=custom_tool_call}.input": "R",
        "{type=custom_tool_call_output}.id": "R",
        "{type=custom_tool_call_output}.call_id": "R",
        "{type=custom_tool_call_output}.output": "R",
        "{type=custom_tool_call_output}.status": "R",
        "{type=file_search_call}.id": "R",
        "{type=file_search_call}.status": "R",
        "{type=file_search_call}.queries": "R",
        "{type=file_search_call}.results[].file_id": "O",
        "{type=file_search_call}.results[].text": "O",
        "{type=file_search_call}.results[].filename": "O",
        "{type=file_search_call}.results[].score": "O",
        "{type=function_call}.id": "O",
        "{type=function_call}.call_id": "R",
        "{type=function_call}.namespace": "O",
        "{type=function_call}.name": "R",
        "{type=function_call}.arguments": "R",
        "{type=function_call}.status": "O",
        "{type=function_call_output}.id": "R",
        "{type=function_call_output}.call_id": "O",
        "{type=function_call_output}.output": "R",
        "{type=function_call_output}.status": "R",
        "{type=image_generation_call}.id": "R",
        "{type=image_generation_call}.status": "R",
        "{type=image_generation_call}.result": "RN",
        "{type=local_shell_call}.id": "R",
        "{type=local_shell_call}.call_id": "R",
        "{type=local_shell_call}.action": "R",
        "{type=local_shell_call}.action.type": "R",
        "{type=local_shell_call}.action.command": "R",
        "{type=local_shell_call}.action.env": "R",
        "{type=local_shell_call}.status": "R",
        "{type=local_shell_call_output}.id": "R",
        "{type=local_shell_call_output}.output": "R",
        "{type=local_shell_call_output}.call_id": "RN",
        "{type=mcp_approval_request}.id": "R",
        "{type=mcp_approval_request}.server_label": "R",
        "{type=mcp_approval_request}.name": "R",
        "{type=mcp_approval_request}.arguments": "R",
        "{type=mcp_approval_response}.id": "R",
        "{type=mcp_approval_response}.approval_request_id": "R",
        "{type=mcp_approval_response}.approve": "R",
        "{type=mcp_approval_response}.request_id": "RN",
        "{type=mcp_call}.id": "R",
        "{type=mcp_call}.server_label": "R",
        "{type=mcp_call}.name": "R",
        "{type=mcp_call}.arguments": "R",
        "{type=mcp_call}.status": "O",
        "{type=mcp_list_tools}.id": "R",
        "{type=mcp_list_tools}.server_label": "R",
        "{type=mcp_list_tools}.tools": "R",
        "{type=mcp_list_tools}.tools[].name": "R",
        "{type=mcp_list_tools}.tools[].input_schema": "R",
        "{type=message}.id": "R",
        "{type=message}.role": "R",
        "{type=message}.content": "R",
        "{type=message}.content[]{type=output_text}.text": "R",
        "{type=message}.content[]{type=output_text}.annotations": "R",
        ("{type=message}.content[]{type=output_text}"
         ".annotations[]{type=container_file_citation}.container_id"): "R",
        ("{type=message}.content[]{type=output_text}"
         ".annotations[]{type=container_file_citation}.file_id"): "R",
        ("{type=message}.content[]{type=output_text}"
         ".annotations[]{type=container_file_citation}.start_index"): "R",
        ("{type=message}.content[]{type=output_text}"
         ".annotations[]{type=container_file_citation}.end_index"): "R",
        ("{type=message}.content[]{type=output_text}"
         ".annotations[]{type=container_file_citation}.filename"): "R",
        "{type=message}.content[]{type=output_text}.annotations[]{type=file_citation}.file_id": "R",
        "{type=message}.content[]{type=output_text}.annotations[]{type=file_citation}.index": "R",
        ("{type=message}.content[]{type=output_text}.annotations[]{type=file_citation}"
         ".filename"): "R",
        "{type=message}.content[]{type=output_text}.annotations[]{type=file_path}.file_id": "R",
        "{type=message}.content[]{type=output_text}.annotations[]{type=file_path}.index": "R",
        "{type=message}.content[]{type=output_text}.annotations[]{type=url_citation}.url": "R",
        ("{type=message}.content[]{type=output_text}.annotations[]{type=url_citation}"
         ".start_index"): "R",
        ("{type=message}.content[]{type=output_text}.annotations[]{type=url_citation}"
         ".end_index"): "R",
        "{type=message}.content[]{type=output_text}.annotations[]{type=url_citation}.title": "R",
        "{type=message}.content[]{type=output_text}.logprobs": "R",
        "{type=message}.content[]{type=output_text}.logprobs[].token": "R",
        "{type=message}.content[]{type=output_text}.logprobs[].logprob": "R",
        "{type=message}.content[]{type=output_text}.logprobs[].bytes": "R",
        "{type=message}.content[]{type=output_text}.logprobs[].top_logprobs": "R",
        "{type=message}.content[]{type=output_text}.logprobs[].top_logprobs[].token": "R",
        "{type=message}.content[]{type=output_text}.logprobs[].top_logprobs[].logprob": "R",
        "{type=message}.content[]{type=output_text}.logprobs[].top_logprobs[].bytes": "R",
        "{type=message}.content[]{type=refusal}.refusal": "R",
        "{type=message}.status": "R",
        "{type=program}.id": "R",
        "{type=program}.call_id": "R",
        "{type=program}.code": "R",
        "{type=program}.fingerprint": "R",
        "{type=program_output}.id": "R",
        "{type=program_output}.call_id": "R",
        "{type=program_output}.result": "R",
        "{type=program_output}.status": "R",
        "{type=reasoning}.id": "R",
        "{type=reasoning}.summary": "R",
        "{type=reasoning}.summary[].type": "R",
        "{type=reasoning}.summary[].text": "R",
        "{type=reasoning}.content": "O",
        "{type=reasoning}.content[].type": "R",
        "{type=reasoning}.content[].text": "R",
        "{type=reasoning}.status": "O",
        "{type=shell_call}.id": "R",
        "{type=shell_call}.call_id": "R",
        "{type=shell_call}.action": "R",
        "{type=shell_call}.action.commands": "R",
        "{type=shell_call}.action.timeout_ms": "RN",
        "{type=shell_call}.action.max_output_length": "RN",
        "{type=shell_call}.status": "R",
        "{type=shell_call}.environment": "RN",
        "{type=shell_call_output}.id": "R",
        "{type=shell_call_output}.call_id": "R",
        "{type=shell_call_output}.status": "R",
        "{type=shell_call_output}.output": "R",
        "{type=shell_call_output}.output[].stdout": "R",
        "{type=shell_call_output}.output[].stderr": "R",
        "{type=shell_call_output}.output[].outcome": "R",
        "{type=shell_call_output}.max_output_length": "RN",
        "{type=tool_search_call}.id": "R",
        "{type=tool_search_call}.call_id": "RN",
        "{type=tool_search_call}.execution": "R",
        "{type=tool_search_call}.arguments": "RN",
        "{type=tool_search_call}.status": "R",
        "{type=tool_search_output}.id": "R",
        "{type=tool_search_output}.call_id": "RN",
        "{type=tool_search_output}.execution": "R",
        "{type=tool_search_output}.tools": "R",
        "{type=tool_search_output}.status": "R",
        "{type=web_search_call}.id": "R",
        "{type=web_search_call}.status": "R",
        "{type=web_search_call}.action": "R",
        "{type=web_search_call}.action{type=find_in_page}.url": "R",
        "{type=web_search_call}.action{type=find_in_page}.pattern": "R",
        "{type=web_search_call}.action{type=search}.query": "O",
        "{type=web_search_call}.action{type=search}.queries": "O",
        "{type=web_search_call}.action{type=search}.sources": "O",
        "{type=web_search_call}.action{type=search}.sources[].type": "R",
        "{type=web_search_call}.action{type=search}.sources[].url": "R",
    },
    ("responses.yaml", "Moderation"): {
        "input": "R",
        "input{type=error}.code": "R",
        "input{type=error}.message": "R",
        "input{type=moderation_result}.model": "R",
        "input{type=moderation_result}.flagged": "R",
        "input{type=moderation_result}.categories": "R",
        "input{type=moderation_result}.category_scores": "R",
        "input{type=moderation_result}.category_applied_input_types": "R",
        "output": "R",
        "output{type=error}.code": "R",
        "output{type=error}.message": "R",
        "output{type=moderation_result}.model": "R",
        "output{type=moderation_result}.flagged": "R",
        "output{type=moderation_result}.categories": "R",
        "output{type=moderation_result}.category_scores": "R",
        "output{type=moderation_result}.category_applied_input_types": "R",
    },
    ("responses.yaml", "ErrorResponse"): {
        "error": "R",
        "error.code": "RN",
        "error.message": "R",
        "error.param": "RN",
        "error.type": "R",
    },
    ("responses.yaml", "CreateResponseRequest"): {
        "top_logprobs": "O",
        "user": "O",
        "prompt_cache_options": "O",
        "prompt_cache_options.ttl": "O",
        "prompt_cache_options.mode": "O",
        "model": "O",
        "text": "O",
        "text.format": "O",
        "text.format{type=json_schema}.description": "O",
        "text.format{type=json_schema}.name": "R",
        "text.format{type=json_schema}.schema": "R",
        "tools": "O",
        "tool_choice": "O",
        "tool_choice{type=allowed_tools}.mode": "R",
        "tool_choice{type=allowed_tools}.tools": "R",
        "tool_choice{type=custom}.name": "R",
        "tool_choice{type=function}.name": "R",
        "tool_choice{type=mcp}.server_label": "R",
        "prompt.id": "R",
        "reasoning.mode": "O",
        "input": "O",
        "moderation.model": "R",
        "stream_options.include_obfuscation": "O",
        "conversation.id": "R",
        "context_management[].type": "R",
    },
    ("responses.yaml", "InputItem"): {
        "{type=additional_tools}.role": "R",
        "{type=additional_tools}.tools": "R",
        "{type=apply_patch_call}.call_id": "R",
        "{type=apply_patch_call}.status": "R",
        "{type=apply_patch_call}.operation": "R",
        "{type=apply_patch_call_output}.call_id": "R",
        "{type=apply_patch_call_output}.status": "R",
        "{type=code_interpreter_call}.id": "R",
        "{type=code_interpreter_call}.status": "R",
        "{type=code_interpreter_call}.container_id": "R",
        "{type=code_interpreter_call}.code": "RN",
        "{type=code_interpreter_call}.outputs": "RN",
        "{type=code_interpreter_call}.outputs[]{type=image}.url": "R",
        "{type=code_interpreter_call}.outputs[]{type=logs}.logs": "R",
        "{type=compaction}.encrypted_content": "R",
        "{type=computer_call}.id": "R",
        "{type=computer_call}.call_id": "R",
        "{type=computer_call}.action": "O",
        "{type=computer_call}.action{type=click}.button": "R",
        "{type=computer_call}.action{type=click}.x": "R",
        "{type=computer_call}.action{type=click}.y": "R",
        "{type=computer_call}.action{type=double_click}.x": "R",
        "{type=computer_call}.action{type=double_click}.y": "R",
        "{type=computer_call}.action{type=double_click}.keys": "RN",
        "{type=computer_call}.action{type=drag}.path": "R",
        "{type=computer_call}.action{type=drag}.path[].x": "R",
        "{type=computer_call}.action{type=drag}.path[].y": "R",
        "{type=computer_call}.action{type=keypress}.keys": "R",
        "{type=computer_call}.action{type=move}.x": "R",
        "{type=computer_call}.action{type=move}.y": "R",
        "{type=computer_call}.action{type=scroll}.x": "R",
        "{type=computer_call}.action{type=scroll}.y": "R",
        "{type=computer_call}.action{type=scroll}.scroll_x": "R",
        "{type=computer_call}.action{type=scroll}.scroll_y": "R",
        "{type=computer_call}.action{type=type}.text": "R",
        "{type=computer_call}.actions": "O",
        "{type=computer_call}.pending_safety_checks": "R",
        "{type=computer_call}.pending_safety_checks[].id": "R",
        "{type=computer_call}.status": "R",
        "{type=computer_call_output}.call_id": "R",
        "{type=computer_call_output}.output": "R",
        "{type=computer_call_output}.output.type": "R",
        "{type=computer_call_output}.output.image_url": "O",
        "{type=computer_call_output}.output.file_id": "O",
        "{type=custom_tool_call}.id": "O",
        "{type=custom_tool_call}.call_id": "R",
        "{type=custom_tool_call}.name": "R",
        "{type=custom_tool_call}.input": "R",
        "{type=custom_tool_call_output}.call_id": "R",
        "{type=custom_tool_call_output}.output": "R",
        "{type=file_search_call}.id": "R",
        "{type=file_search_call}.status": "R",
        "{type=file_search_call}.queries": "R",
        "{type=file_search_call}.results[].file_id": "O",
        "{type=file_search_call}.results[].text": "O",
        "{type=file_search_call}.results[].filename": "O",
        "{type=file_search_call}.results[].score": "O",
        "{type=function_call}.id": "O",
        "{type=function_call}.call_id": "R",
        "{type=function_call}.namespace": "O",
        "{type=function_call}.name": "R",
        "{type=function_call}.arguments": "R",
        "{type=function_call}.status": "O",
        "{type=function_call_output}.output": "R",
        "{type=function_call_output}.output[]{type=input_text}.text": "R",
        "{type=image_generation_call}.id": "R",
        "{type=image_generation_call}.status": "R",
        "{type=image_generation_call}.result": "RN",
        "{type=item_reference}.id": "R",
        "{type=local_shell_call}.id": "R",
        "{type=local_shell_call}.call_id": "R",
        "{type=local_shell_call}.action": "R",
        "{type=local_shell_call}.action.type": "R",
        "{type=local_shell_call}.action.command": "R",
        "{type=local_shell_call}.action.env": "R",
        "{type=local_shell_call}.status": "R",
        "{type=local_shell_call_output}.id": "R",
        "{type=local_shell_call_output}.output": "R",
        "{type=local_shell_call_output}.call_id": "RN",
        "{type=mcp_approval_request}.id": "R",
        "{type=mcp_approval_request}.server_label": "R",
        "{type=mcp_approval_request}.name": "R",
        "{type=mcp_approval_request}.arguments": "R",
        "{type=mcp_approval_response}.approval_request_id": "R",
        "{type=mcp_approval_response}.approve": "R",
        "{type=mcp_approval_response}.request_id": "RN",
        "{type=mcp_call}.id": "R",
        "{type=mcp_call}.server_label": "R",
        "{type=mcp_call}.name": "R",
        "{type=mcp_call}.arguments": "R",
        "{type=mcp_call}.status": "O",
        "{type=mcp_list_tools}.id": "R",
        "{type=mcp_list_tools}.server_label": "R",
        "{type=mcp_list_tools}.tools": "R",
        "{type=mcp_list_tools}.tools[].name": "R",
        "{type=mcp_list_tools}.tools[].input_schema": "R",
        "{type=message}.role": "R",
        "{type=message}.content": "R",
        "{type=message}.content[]{type=input_file}.filename": "O",
        "{type=message}.content[]{type=input_file}.file_data": "O",
        "{type=message}.content[]{type=input_file}.file_url": "O",
        "{type=message}.content[]{type=input_image}.detail": "R",
        "{type=message}.content[]{type=input_text}.text": "R",
        "{type=message}.content[]{type=output_text}.text": "R",
        "{type=message}.content[]{type=output_text}.annotations": "R",
        ("{type=message}.content[]{type=output_text}"
         ".annotations[]{type=container_file_citation}.container_id"): "R",
        ("{type=message}.content[]{type=output_text}"
         ".annotations[]{type=container_file_citation}.file_id"): "R",
        ("{type=message}.content[]{type=output_text}"
         ".annotations[]{type=container_file_citation}.start_index"): "R",
        ("{type=message}.content[]{type=output_text}"
         ".annotations[]{type=container_file_citation}.end_index"): "R",
        ("{type=message}.content[]{type=output_text}"
         ".annotations[]{type=container_file_citation}.filename"): "R",
        "{type=message}.content[]{type=output_text}.annotations[]{type=file_citation}.file_id": "R",
        "{type=message}.content[]{type=output_text}.annotations[]{type=file_citation}.index": "R",
        ("{type=message}.content[]{type=output_text}.annotations[]{type=file_citation}"
         ".filename"): "R",
        "{type=message}.content[]{type=output_text}.annotations[]{type=file_path}.file_id": "R",
        "{type=message}.content[]{type=output_text}.annotations[]{type=file_path}.index": "R",
        "{type=message}.content[]{type=output_text}.annotations[]{type=url_citation}.url": "R",
        ("{type=message}.content[]{type=output_text}.annotations[]{type=url_citation}"
         ".start_index"): "R",
        ("{type=message}.content[]{type=output_text}.annotations[]{type=url_citation}"
         ".end_index"): "R",
        "{type=message}.content[]{type=output_text}.annotations[]{type=url_citation}.title": "R",
        "{type=message}.content[]{type=output_text}.logprobs": "R",
        "{type=message}.content[]{type=output_text}.logprobs[].token": "R",
        "{type=message}.content[]{type=output_text}.logprobs[].logprob": "R",
        "{type=message}.content[]{type=output_text}.logprobs[].bytes": "R",
        "{type=message}.content[]{type=output_text}.logprobs[].top_logprobs": "R",
        "{type=message}.content[]{type=output_text}.logprobs[].top_logprobs[].token": "R",
        "{type=message}.content[]{type=output_text}.logprobs[].top_logprobs[].logprob": "R",
        "{type=message}.content[]{type=output_text}.logprobs[].top_logprobs[].bytes": "R",
        "{type=message}.content[]{type=refusal}.refusal": "R",
        "{type=program}.id": "R",
        "{type=program}.call_id": "R",
        "{type=program}.code": "R",
        "{type=program}.fingerprint": "R",
        "{type=program_output}.id": "R",
        "{type=program_output}.call_id": "R",
        "{type=program_output}.result": "R",
        "{type=program_output}.status": "R",
        "{type=reasoning}.id": "R",
        "{type=reasoning}.summary": "R",
        "{type=reasoning}.summary[].type": "R",
        "{type=reasoning}.summary[].text": "R",
        "{type=reasoning}.content": "O",
        "{type=reasoning}.content[].type": "R",
        "{type=reasoning}.content[].text": "R",
        "{type=reasoning}.status": "O",
        "{type=shell_call}.call_id": "R",
        "{type=shell_call}.action": "R",
        "{type=shell_call}.action.commands": "R",
        "{type=shell_call_output}.call_id": "R",
        "{type=shell_call_output}.output": "R",
        "{type=shell_call_output}.output[].stdout": "R",
        "{type=shell_call_output}.output[].stderr": "R",
        "{type=shell_call_output}.output[].outcome": "R",
        "{type=tool_search_call}.arguments": "R",
        "{type=tool_search_output}.tools": "R",
        "{type=web_search_call}.id": "R",
        "{type=web_search_call}.status": "R",
        "{type=web_search_call}.action": "R",
        "{type=web_search_call}.action{type=find_in_page}.url": "R",
        "{type=web_search_call}.action{type=find_in_page}.pattern": "R",
        "{type=web_search_call}.action{type=search}.query": "O",
        "{type=web_search_call}.action{type=search}.queries": "O",
        "{type=web_search_call}.action{type=search}.sources": "O",
        "{type=web_search_call}.action{type=search}.sources[].type": "R",
        "{type=web_search_call}.action{type=search}.sources[].url": "R",
        "{type=null}.id": "R",
    },
    ("responses.yaml", "Tool"): {
        "{type=code_interpreter}.container": "R",
        "{type=code_interpreter}.container.type": "R",
        "{type=computer_use_preview}.environment": "R",
        "{type=computer_use_preview}.display_width": "R",
        "{type=computer_use_preview}.display_height": "R",
        "{type=custom}.name": "R",
        "{type=custom}.description": "O",
        "{type=custom}.format": "O",
        "{type=custom}.format{type=grammar}.syntax": "R",
        "{type=custom}.format{type=grammar}.definition": "R",
        "{type=file_search}.vector_store_ids": "R",
        "{type=file_search}.max_num_results": "O",
        "{type=file_search}.ranking_options": "O",
        "{type=function}.name": "R",
        "{type=function}.parameters": "RN",
        "{type=function}.strict": "RN",
        "{type=mcp}.server_label": "R",
        "{type=mcp}.server_url": "O",
        "{type=namespace}.name": "R",
        "{type=namespace}.description": "R",
        "{type=namespace}.tools": "R",
        "{type=web_search}.search_context_size": "O",
        "{type=web_search_2025_08_26}.search_context_size": "O",
        "{type=web_search_preview}.user_location.type": "R",
        "{type=web_search_preview}.search_context_size": "O",
        "{type=web_search_preview_2025_03_11}.user_location.type": "R",
        "{type=web_search_preview_2025_03_11}.search_context_size": "O",
    },
}
# ---------------------------------------------------------------------------------------------


@functools.cache
def our_source(document: str) -> sf.Source:
    return sf.ours(document, load_document(document))


def found_leniencies(source_of: Any = our_source) -> list[tuple[str, str, str, str]]:
    """(document, schema, path, how) for every row where our document is more lenient."""
    found = []
    for (document, schema), rows in OFFICIAL.items():
        source = source_of(document)
        for path, official in rows.items():
            for how in sf.laxer(official, sf.fact(source, schema, path)):
                found.append((document, schema, path, how))
    return found


def _recorded(document: str, schema: str, path: str, how: str) -> str | None:
    for doc, name, where, kind, anchor in LENIENCIES:
        if (doc, name, where, kind) == (document, schema, path, how):
            return anchor
    return None


def test_at_least_as_strict() -> None:
    said = {"required": "does not require the key", "nullable": "accepts null"}
    unrecorded = [f"{doc} {schema} {path}: ours {said[how]} (official: "
                  f"{OFFICIAL[(doc, schema)][path]})"
                  for doc, schema, path, how in found_leniencies()
                  if _recorded(doc, schema, path, how) is None]
    assert not unrecorded, ("more lenient than the official contract, and not recorded as "
                            "deliberate (tighten the schema, or add a LENIENCIES entry with "
                            "its SOURCES.md row):\n  " + "\n  ".join(unrecorded))


def test_every_recorded_leniency_is_still_needed() -> None:
    found = found_leniencies()
    stale = [entry for entry in LENIENCIES if (*entry[:3], entry[3]) not in found]
    assert not stale, f"LENIENCIES entries that match no leniency any more (remove them): {stale}"


def test_every_leniency_names_a_sources_row() -> None:
    text = SOURCES_MD.read_text(encoding="utf-8")
    missing = sorted({anchor for *_, anchor in LENIENCIES if f"| {anchor} |" not in text})
    assert not missing, f"SOURCES.md has no table row for {missing}"
    assert {kind for *_, kind, _ in LENIENCIES} <= {"required", "nullable"}


def test_table_rows_are_well_formed() -> None:
    assert set(OFFICIAL) == set(PAIRS)
    for (document, schema), rows in OFFICIAL.items():
        assert schema in load_document(document)["components"]["schemas"], schema
        assert rows, (document, schema)
        for path, official in rows.items():
            sf.parse(path)
            assert official in (sf.REQUIRED, sf.REQUIRED_NULLABLE, sf.OPTIONAL), (path, official)
    for document, schema, path, _, _ in LENIENCIES:
        assert (document, schema) in OFFICIAL, (document, schema)
        assert path in OFFICIAL[(document, schema)], path


# --------------------------------------------------------------------------- the cases

CHUNK = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1760112400,
         "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"content": "Hello "}}]}


def test_chunk_without_finish_reason_fails() -> None:
    """LiteLLM in front of a correct server drops `finish_reason` from non-final chunks."""
    errors = schemas.errors("chat.yaml", "CreateChatCompletionStreamResponse", CHUNK)
    assert errors == ["choices[0]: 'finish_reason' is a required property"]
    assert OFFICIAL[("chat.yaml", "CreateChatCompletionStreamResponse")][
        "choices[].finish_reason"] == sf.REQUIRED_NULLABLE
    kept = copy.deepcopy(CHUNK)
    kept["choices"][0]["finish_reason"] = None
    assert schemas.errors("chat.yaml", "CreateChatCompletionStreamResponse", kept) == []


def test_text_delta_with_trimmed_logprobs_fails() -> None:
    """The Responses sibling: a relay that keeps only token/logprob of each logprob entry."""
    entry = {"token": "Hello", "logprob": -0.01, "bytes": [72, 101, 108, 108, 111],
             "top_logprobs": [{"token": "Hello", "logprob": -0.01,
                               "bytes": [72, 101, 108, 108, 111]}]}
    event = {"type": "response.output_text.delta", "sequence_number": 4, "item_id": "msg_1",
             "output_index": 0, "content_index": 0, "delta": "Hello", "logprobs": [entry]}
    assert schemas.errors("responses.yaml", "ResponseStreamEvent", event) == []
    trimmed = copy.deepcopy(event)
    trimmed["logprobs"] = [{"token": "Hello", "logprob": -0.01}]
    assert set(schemas.errors("responses.yaml", "ResponseStreamEvent", trimmed)) == {
        "logprobs[0]: 'bytes' is a required property",
        "logprobs[0]: 'top_logprobs' is a required property"}


def test_response_with_a_bare_shell_call_fails() -> None:
    """The Response sibling: a rare item used to pass on type, id and call_id alone."""
    call = {"type": "shell_call", "id": "sh_1", "call_id": "call_1", "status": "completed",
            "action": {"commands": ["ls"], "timeout_ms": None, "max_output_length": None},
            "environment": None}
    response = {"id": "resp_1", "object": "response", "created_at": 1760112400,
                "model": "gpt-5", "status": "completed", "output": [call]}
    assert schemas.errors("responses.yaml", "Response", response) == []
    bare = copy.deepcopy(response)
    bare["output"] = [{"type": "shell_call", "id": "sh_1", "call_id": "call_1"}]
    assert {e.split(": ", 1)[1] for e in schemas.errors("responses.yaml", "Response", bare)} == {
        "'action' is a required property", "'status' is a required property",
        "'environment' is a required property"}


@pytest.mark.parametrize("document,schema,loosen,path,how", [
    ("chat.yaml", "ChatCompletionChunkChoice",
     lambda s: s["required"].remove("finish_reason"),
     ("CreateChatCompletionStreamResponse", "choices[].finish_reason"), "required"),
    ("chat.yaml", "ChatCompletionChunkChoice",
     lambda s: s["properties"]["index"].update(type=["integer", "null"]),
     ("CreateChatCompletionStreamResponse", "choices[].index"), "nullable"),
    ("responses.yaml", "ResponseLogProb", lambda s: s["required"].remove("bytes"),
     ("OutputItem", "{type=message}.content[]{type=output_text}.logprobs[].bytes"), "required"),
])
def test_loosening_a_schema_is_caught(document: str, schema: str, loosen: Any,
                                      path: tuple[str, str], how: str) -> None:
    loosened = copy.deepcopy(load_document(document))
    loosen(loosened["components"]["schemas"][schema])
    source = sf.ours(document, loosened)
    found = found_leniencies(lambda name: source if name == document else our_source(name))
    assert (document, *path, how) in found
    assert _recorded(document, *path, how) is None


# --------------------------------------------------------------------------- the reference

needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason="official reference absent")


@functools.cache
def reference_source(name: str) -> sf.Source:
    path = REFERENCE / name
    if name.endswith(".yml"):
        with open(path, encoding="utf-8") as handle:
            contents = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        return sf.reference_openapi(path, contents)
    return sf.reference_json(path)


def derived_table() -> dict[tuple[str, str], dict[str, str]]:
    table = {}
    for (document, schema), (reference, official) in PAIRS.items():
        table[(document, schema)] = sf.official_rows(
            our_source(document), schema, reference_source(reference), official,
            STOPS - {official})
    return table


@needs_reference
def test_table_matches_reference() -> None:
    derived = derived_table()
    differences = []
    for key in PAIRS:
        ours, theirs = OFFICIAL.get(key, {}), derived[key]
        for path in sorted(set(ours) | set(theirs)):
            if ours.get(path) != theirs.get(path):
                differences.append(f"{key[0]} {key[1]} {path}: table {ours.get(path)}, "
                                   f"reference {theirs.get(path)}")
    assert not differences, ("OFFICIAL is out of step with the reference (print it again: "
                             ".venv/bin/python tests/spec/test_official_required.py):\n  "
                             + "\n  ".join(differences))


def render_table() -> str:
    lines = ["OFFICIAL: dict[tuple[str, str], dict[str, str]] = {"]
    for (document, schema), rows in derived_table().items():
        lines.append(f'    ("{document}", "{schema}"): {{')
        for path, value in rows.items():
            line = f'        "{path}": "{value}",'
            if len(line) <= 100:
                lines.append(line)
                continue
            cut = path.rindex(".", 0, 80)  # a long path goes on two lines, split at a dot
            lines += [f'        ("{path[:cut]}"', f'         "{path[cut:]}"): "{value}",']
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_table())
