"""Translation between the canonical OpenAI chat shapes and Gemini's REST API.

Requests produced are validated against the google-genai SDK's types (strict: unknown fields are
errors) as JSON, the way the API reads them; responses consumed are built through the SDK's
``GenerateContentResponse``; completions and chunks produced are validated with the openai SDK.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import pytest
from google.genai import types as g
from openai.types.chat import ChatCompletion as OpenAICompletion, ChatCompletionChunk as OpenAIChunk
from pydantic import BaseModel

from zonegate.errors import InvalidRequest, UpstreamError
from zonegate.wire.gemini import (
    GeminiStreamToChunks,
    chat_to_generate_content,
    error_from_gemini,
    generate_content_to_chat,
    to_gemini_schema,
)
from zonegate.wire.gemini.request import SKIP_SIGNATURE
from zonegate.wire.openai_chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest

# The keywords of the Gemini API's Schema object (the SDK's type also has Vertex-only ones).
GEMINI_SCHEMA_KEYS = {
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
}
GENERATED_CALL_ID = re.compile(r"call_[0-9a-f]{32}")
SIG = "c2lnbmF0dXJl"  # base64 of b"signature"


# -- helpers ------------------------------------------------------------------------------------


def request(**fields: Any) -> ChatCompletionRequest:
    fields.setdefault("model", "gemini")
    fields.setdefault("messages", [{"role": "user", "content": "hi"}])
    return ChatCompletionRequest.model_validate(fields)


def translate(**fields: Any) -> dict[str, Any]:
    """The request body, after checking every piece against the SDK's types as JSON."""
    body = chat_to_generate_content(request(**fields))
    assert set(body) <= {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig"}
    for content in body["contents"]:
        assert content["role"] in ("user", "model")
        assert content["parts"]
        g.Content.model_validate_json(json.dumps(content))
    if "systemInstruction" in body:
        g.Content.model_validate_json(json.dumps(body["systemInstruction"]))
    for tool in body.get("tools", ()):
        g.Tool.model_validate_json(json.dumps(tool))
        for declaration in tool["functionDeclarations"]:
            if "parameters" in declaration:
                assert_gemini_schema(declaration["parameters"])
    if "toolConfig" in body:
        g.ToolConfig.model_validate_json(json.dumps(body["toolConfig"]))
    if "generationConfig" in body:
        config = body["generationConfig"]
        g.GenerationConfig.model_validate_json(json.dumps(config))
        if "responseSchema" in config:
            assert_gemini_schema(config["responseSchema"])
    return body


def assert_gemini_schema(schema: dict[str, Any]) -> None:
    """Valid for the SDK and free of keywords the Gemini API refuses, at every depth."""
    g.Schema.model_validate_json(json.dumps(schema))

    def walk(node: dict[str, Any]) -> None:
        assert set(node) <= GEMINI_SCHEMA_KEYS, set(node) - GEMINI_SCHEMA_KEYS
        for sub in node.get("properties", {}).values():
            walk(sub)
        for sub in node.get("anyOf", ()):
            walk(sub)
        if "items" in node:
            walk(node["items"])

    walk(schema)


def gemini(**fields: Any) -> dict[str, Any]:
    """A GenerateContentResponse as the API sends it, built through the SDK's type."""
    response = g.GenerateContentResponse.model_validate(fields)
    return response.model_dump(mode="json", by_alias=True, exclude_none=True)


def candidate(*parts: dict[str, Any], finish: str | None = "STOP") -> dict[str, Any]:
    out: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}}
    if finish is not None:
        out["finishReason"] = finish
    return out


def usage(prompt: int, output: int, **more: int) -> dict[str, int]:
    total = more.pop("totalTokenCount", prompt + output + more.get("thoughtsTokenCount", 0))
    return {
        "promptTokenCount": prompt,
        "candidatesTokenCount": output,
        "totalTokenCount": total,
        **more,
    }


def completion(body: dict[str, Any], served: str = "gemini-served") -> ChatCompletion:
    result = generate_content_to_chat(body, served, created=1700000000)
    OpenAICompletion.model_validate(result.model_dump(exclude_none=True))
    return result


def chunks_of(
    events: list[dict[str, Any]], served: str = "gemini-served"
) -> list[ChatCompletionChunk]:
    stream = GeminiStreamToChunks(served, created=1700000000)
    out = [chunk for event in events for chunk in stream.feed(event)]
    out += stream.finish()
    for chunk in out:
        OpenAIChunk.model_validate(chunk.model_dump(exclude_none=True))
    return out


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def assistant_call(*calls: tuple[str, str, str], content: str | None = None) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": content,
        "tool_calls": [
            {"id": i, "type": "function", "function": {"name": n, "arguments": a}}
            for i, n, a in calls
        ],
    }


def tool(call_id: str | None, content: Any, **more: Any) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content, **more}


WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Current weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
TIME = {"type": "function", "function": {"name": "time"}}


# -- requests: messages -------------------------------------------------------------------------


def test_a_user_message_becomes_a_user_turn_and_nothing_else_is_sent() -> None:
    body = translate()
    assert body == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def test_system_and_developer_messages_gather_in_order_into_the_system_instruction() -> None:
    body = translate(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
            user("hi"),
            {"role": "assistant", "content": "salut"},
            {"role": "system", "content": "Stay polite."},
            user("again"),
        ]
    )
    assert body["systemInstruction"] == {
        "parts": [{"text": "Be brief."}, {"text": "Use French."}, {"text": "Stay polite."}]
    }
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "hi"}]},
        {"role": "model", "parts": [{"text": "salut"}]},
        {"role": "user", "parts": [{"text": "again"}]},
    ]


def test_turns_of_one_role_are_merged_and_empty_text_is_left_out() -> None:
    body = translate(
        messages=[
            user("one"),
            {"role": "user", "content": [{"type": "text", "text": "two"}, {"type": "text"}]},
            {"role": "assistant", "content": "three"},
            {"role": "assistant", "content": ""},
            {"role": "assistant", "content": [{"type": "text", "text": "four"}]},
            {"role": "user", "content": None},
            {"role": "system", "content": ""},
            user("five"),
        ]
    )
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "one"}, {"text": "two"}]},
        {"role": "model", "parts": [{"text": "three"}, {"text": "four"}]},
        {"role": "user", "parts": [{"text": "five"}]},
    ]
    assert "systemInstruction" not in body


def test_a_conversation_without_content_is_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate(messages=[{"role": "system", "content": "x"}, user("")])
    assert caught.value.param == "messages"


def test_the_deprecated_function_role_is_refused_with_its_path() -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate(messages=[user("hi"), {"role": "function", "name": "f", "content": "1"}])
    assert caught.value.param == "messages[1].role"
    assert "tool" in caught.value.message


def test_tool_calls_and_results_round_trip_as_function_call_and_response_parts() -> None:
    body = translate(
        messages=[
            user("weather in Paris and the time?"),
            assistant_call(
                ("c1", "weather", '{"city": "Paris"}'), ("c2", "time", ""), content="Checking."
            ),
            tool("c2", "12:00"),
            tool("c1", '{"temp": 21, "sky": "clear"}'),
            tool("c1", "[1, 2]"),
            tool("c2", [{"type": "text", "text": "42"}]),
            user("thanks"),
        ],
        tools=[WEATHER, TIME],
    )
    model_turn, responses = body["contents"][1], body["contents"][2]
    assert model_turn == {
        "role": "model",
        "parts": [
            {"text": "Checking."},
            {
                "functionCall": {"name": "weather", "args": {"city": "Paris"}},
                "thoughtSignature": SKIP_SIGNATURE,
            },
            {"functionCall": {"name": "time", "args": {}}},
        ],
    }
    assert responses == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "time", "response": {"result": "12:00"}}},
            {"functionResponse": {"name": "weather", "response": {"temp": 21, "sky": "clear"}}},
            {"functionResponse": {"name": "weather", "response": {"result": "[1, 2]"}}},
            {"functionResponse": {"name": "time", "response": {"result": "42"}}},
            {"text": "thanks"},
        ],
    }


def test_a_thought_signature_kept_by_the_client_is_sent_back_on_its_call() -> None:
    message = assistant_call(("c1", "weather", "{}"), ("c2", "time", "{}"))
    message["tool_calls"][1]["extra_content"] = {"google": {"thought_signature": SIG}}
    body = translate(messages=[user("q"), message], tools=[WEATHER, TIME])
    parts = body["contents"][1]["parts"]
    assert parts[0]["thoughtSignature"] == SKIP_SIGNATURE  # the first call lacked one
    assert parts[1]["thoughtSignature"] == SIG

    message = assistant_call(("c1", "weather", "{}"))
    message["tool_calls"][0]["extra_content"] = {"google": {"thought_signature": SIG}}
    body = translate(messages=[user("q"), message], tools=[WEATHER])
    assert body["contents"][1]["parts"][0]["thoughtSignature"] == SIG


@pytest.mark.parametrize(
    "extra_content", [None, "x", {"google": "x"}, {"google": {"thought_signature": ""}}]
)
def test_a_missing_or_odd_signature_gets_the_placeholder(extra_content: object) -> None:
    message = assistant_call(("c1", "weather", "{}"))
    message["tool_calls"][0]["extra_content"] = extra_content
    body = translate(messages=[user("q"), message], tools=[WEATHER])
    assert body["contents"][1]["parts"][0]["thoughtSignature"] == SKIP_SIGNATURE


def test_a_tool_message_falls_back_to_its_name_when_the_id_is_unknown() -> None:
    body = translate(messages=[user("q"), tool("nope", "1", name="weather")])
    assert body["contents"][0]["parts"][1] == {
        "functionResponse": {"name": "weather", "response": {"result": "1"}}
    }


@pytest.mark.parametrize("call_id", ["unknown", None])
def test_a_tool_message_that_answers_no_known_call_is_refused(call_id: str | None) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate(messages=[user("q"), assistant_call(("c1", "time", "{}")), tool(call_id, "1")])
    assert caught.value.param == "messages[2].tool_call_id"


@pytest.mark.parametrize(
    ("arguments", "problem"), [("{not json", "not valid JSON"), ("[1]", "JSON object")]
)
def test_tool_call_arguments_must_be_a_json_object(arguments: str, problem: str) -> None:
    messages = [user("q"), assistant_call(("c1", "time", "{}"), ("c2", "weather", arguments))]
    with pytest.raises(InvalidRequest) as caught:
        translate(messages=messages)
    assert caught.value.param == "messages[1].tool_calls[1].function.arguments"
    assert problem in caught.value.message
    assert caught.value.message.startswith("messages[1].tool_calls[1].function.arguments")


def test_inline_images_files_and_audio_become_inline_data_parts() -> None:
    body = translate(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Describe these."},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},
                    {
                        "type": "file",
                        "file": {
                            "file_data": "data:application/pdf;base64,JVBERi0x",
                            "filename": "a",
                        },
                    },
                    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                ],
            }
        ]
    )
    assert body["contents"][0]["parts"] == [
        {"text": "Describe these."},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0K"}},
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0x"}},
        {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
    ]


@pytest.mark.parametrize(
    ("part", "param"),
    [
        (
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
            ".image_url.url",
        ),
        ({"type": "image_url", "image_url": "data:image/png;base64,AA=="}, ".image_url.url"),
        ({"type": "image_url", "image_url": {"url": "data:image/png,AA=="}}, ".image_url.url"),
        ({"type": "file", "file": {"file_id": "file-1"}}, ".file.file_data"),
        ({"type": "file"}, ".file.file_data"),
        (
            {"type": "input_audio", "input_audio": {"data": "AA==", "format": "flac"}},
            ".input_audio",
        ),
        ({"type": "input_audio", "input_audio": {"format": "mp3"}}, ".input_audio"),
        ({"type": "input_audio", "input_audio": "AA=="}, ".input_audio"),
        ({"type": "video_url", "video_url": {"url": "x"}}, ""),
    ],
)
def test_user_content_gemini_cannot_take_is_refused_with_its_path(
    part: dict[str, Any], param: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate(messages=[{"role": "user", "content": [{"type": "text", "text": "x"}, part]}])
    assert caught.value.param == f"messages[0].content[1]{param}"


@pytest.mark.parametrize("role", ["system", "assistant", "tool"])
def test_text_only_roles_refuse_other_content_parts(role: str) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}
    message = {"role": role, "content": [{"type": "text", "text": "x"}, image]}
    if role == "tool":
        message["tool_call_id"] = "c1"
    messages = [user("q"), assistant_call(("c1", "time", "{}")), message]
    with pytest.raises(InvalidRequest) as caught:
        translate(messages=messages)
    assert caught.value.param == "messages[2].content[1]"
    assert role in caught.value.message


# -- requests: tools ----------------------------------------------------------------------------


def test_function_tools_become_declarations_with_a_gemini_schema() -> None:
    body = translate(tools=[WEATHER, TIME])
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "weather",
                    "description": "Current weather",
                    "parameters": {
                        "type": "OBJECT",
                        "properties": {"city": {"type": "STRING"}},
                        "required": ["city"],
                    },
                },
                {"name": "time"},
            ]
        }
    ]
    assert "toolConfig" not in body


def test_a_function_without_parameters_declares_none() -> None:
    empty = {"type": "object", "properties": {}, "additionalProperties": False}
    tools = [{"type": "function", "function": {"name": "now", "parameters": empty}}]
    assert translate(tools=tools)["tools"] == [{"functionDeclarations": [{"name": "now"}]}]


@pytest.mark.parametrize(
    ("tools", "param"),
    [
        ([{"type": "web_search"}], "tools[0].type"),
        ([WEATHER, {"type": "function", "function": {"description": "x"}}], "tools[1].function"),
        ([{"type": "function", "function": {"name": ""}}], "tools[0].function"),
        ([{"type": "function"}], "tools[0].function"),
        ([WEATHER, WEATHER], "tools"),
        (
            [{"type": "function", "function": {"name": "f", "parameters": {"type": "tuple"}}}],
            "tools[0].function.parameters",
        ),
    ],
)
def test_tools_gemini_cannot_declare_are_refused(tools: list[Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate(tools=tools)
    assert caught.value.param == param


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        (
            {"type": "function", "function": {"name": "time"}},
            {"mode": "ANY", "allowedFunctionNames": ["time"]},
        ),
        (
            {
                "type": "allowed_tools",
                "allowed_tools": {
                    "mode": "required",
                    "tools": [{"type": "function", "function": {"name": "time"}}],
                },
            },
            {"mode": "ANY", "allowedFunctionNames": ["time"]},
        ),
    ],
)
def test_tool_choice_becomes_the_function_calling_config(
    choice: Any, config: dict[str, Any]
) -> None:
    body = translate(tools=[WEATHER, TIME], tool_choice=choice)
    assert body["toolConfig"] == {"functionCallingConfig": config}
    assert len(body["tools"][0]["functionDeclarations"]) == 2


def test_allowed_tools_in_auto_mode_offer_only_the_allowed_functions() -> None:
    choice = {
        "type": "allowed_tools",
        "allowed_tools": {
            "mode": "auto",
            "tools": [{"type": "function", "function": {"name": "weather"}}],
        },
    }
    body = translate(tools=[WEATHER, TIME], tool_choice=choice)
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}
    assert [d["name"] for d in body["tools"][0]["functionDeclarations"]] == ["weather"]


@pytest.mark.parametrize("choice", ["auto", "none"])
def test_a_tool_choice_without_tools_that_asks_nothing_is_dropped(choice: str) -> None:
    assert translate(tool_choice=choice) == translate()


@pytest.mark.parametrize(
    ("tools", "choice"),
    [
        (None, "required"),
        (None, {"type": "function", "function": {"name": "time"}}),
        ([WEATHER], {"type": "function", "function": {"name": "time"}}),
        ([WEATHER], "sometimes"),
        ([WEATHER], {"type": "function", "function": {}}),
        ([WEATHER], {"type": "function", "function": "weather"}),
        ([WEATHER], {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": []}}),
        ([WEATHER], {"type": "allowed_tools", "allowed_tools": {"mode": "x", "tools": []}}),
        ([WEATHER], {"type": "allowed_tools", "allowed_tools": "weather"}),
        (
            [WEATHER],
            {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [{"x": 1}, "y"]}},
        ),
        ([WEATHER], {"type": "custom"}),
    ],
)
def test_a_tool_choice_gemini_cannot_honour_is_refused(tools: Any, choice: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate(tools=tools, tool_choice=choice)
    assert caught.value.param == "tool_choice"


# -- requests: generation config ----------------------------------------------------------------


def test_sampling_and_limits_become_the_generation_config() -> None:
    body = translate(
        temperature=0.3,
        top_p=0.9,
        seed=7,
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        max_tokens=100,
        max_completion_tokens=50,
        stop="END",
        n=1,
        user="u1",
        metadata={"label": "x"},
        parallel_tool_calls=True,
    )
    assert body["generationConfig"] == {
        "temperature": 0.3,
        "topP": 0.9,
        "seed": 7,
        "presencePenalty": 0.5,
        "frequencyPenalty": -0.5,
        "maxOutputTokens": 50,
        "stopSequences": ["END"],
    }


def test_max_tokens_is_the_limit_when_it_is_the_only_one_and_stop_lists_pass() -> None:
    config = translate(max_tokens=12, stop=["a", "b"])["generationConfig"]
    assert config == {"maxOutputTokens": 12, "stopSequences": ["a", "b"]}
    assert "generationConfig" not in translate(stop=[])


def test_json_mode_asks_for_json() -> None:
    config = translate(response_format={"type": "json_object"})["generationConfig"]
    assert config == {"responseMimeType": "application/json"}
    assert "generationConfig" not in translate(response_format={"type": "text"})


def test_a_json_schema_response_format_becomes_a_response_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}, "score": {"type": ["number", "null"]}},
        "required": ["answer", "score"],
        "additionalProperties": False,
    }
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "a", "schema": schema, "strict": True},
    }
    config = translate(response_format=response_format)["generationConfig"]
    assert config == {
        "responseMimeType": "application/json",
        "responseSchema": {
            "type": "OBJECT",
            "properties": {
                "answer": {"type": "STRING"},
                "score": {"type": "NUMBER", "nullable": True},
            },
            "required": ["answer", "score"],
        },
    }
    without = {"type": "json_schema", "json_schema": {"name": "a"}}
    assert translate(response_format=without)["generationConfig"] == {
        "responseMimeType": "application/json"
    }


@pytest.mark.parametrize(
    "response_format",
    [{"type": "xml"}, {"type": "json_schema"}, {"json_schema": {"schema": {}}}],
)
def test_an_unknown_response_format_is_refused(response_format: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate(response_format=response_format)
    assert caught.value.param == "response_format"


def test_a_bad_response_schema_is_refused_with_its_path() -> None:
    response_format = {"type": "json_schema", "json_schema": {"schema": {"type": "date"}}}
    with pytest.raises(InvalidRequest) as caught:
        translate(response_format=response_format)
    assert caught.value.param == "response_format.json_schema.schema"


@pytest.mark.parametrize(
    ("name", "value"), [("logprobs", True), ("top_logprobs", 3), ("logit_bias", {"1": 5})]
)
def test_parameters_gemini_cannot_honour_are_refused(name: str, value: object) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate(**{name: value})
    assert caught.value.param == name
    assert translate(**{name: False if name == "logprobs" else None}) == translate()


# -- JSON Schema --------------------------------------------------------------------------------


class Address(BaseModel):
    street: str
    city: str | None = None


class Person(BaseModel):
    """A person."""

    name: str
    kind: Literal["admin", "user"]
    role: Literal["owner"] = "owner"
    age: int | None = None
    tags: list[str] = []
    home: Address
    work: Address | None = None
    extra: dict[str, int] = {}


def test_a_pydantic_schema_with_defs_and_optionals_converts() -> None:
    schema = to_gemini_schema(Person.model_json_schema(), "p")
    assert_gemini_schema(schema)
    address = {
        "title": "Address",
        "type": "OBJECT",
        "properties": {
            "street": {"title": "Street", "type": "STRING"},
            "city": {"title": "City", "default": None, "type": "STRING", "nullable": True},
        },
        "required": ["street"],
    }
    assert schema["properties"]["home"] == address
    assert schema["properties"]["work"] == {**address, "default": None, "nullable": True}
    assert schema["properties"]["kind"] == {
        "title": "Kind",
        "enum": ["admin", "user"],
        "type": "STRING",
    }
    assert schema["properties"]["role"] == {
        "title": "Role",
        "default": "owner",
        "enum": ["owner"],
        "type": "STRING",
    }
    assert schema["properties"]["age"] == {
        "title": "Age",
        "default": None,
        "type": "INTEGER",
        "nullable": True,
    }
    assert schema["properties"]["tags"] == {
        "title": "Tags",
        "default": [],
        "items": {"type": "STRING"},
        "type": "ARRAY",
    }
    assert schema["properties"]["extra"] == {"title": "Extra", "default": {}, "type": "OBJECT"}
    assert schema["required"] == ["name", "kind", "home"]
    assert schema["description"] == "A person."


def test_json_schema_keywords_are_rewritten_or_dropped() -> None:
    schema = to_gemini_schema(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "properties": {
                "when": {"type": "string", "format": "date-time"},
                "mail": {"type": "string", "format": "email", "minLength": 3},
                "ratio": {"type": "number", "format": "double", "exclusiveMinimum": 0},
                "count": {"type": "integer", "format": "int32", "minimum": 1, "multipleOf": 2},
                "mode": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                "either": {"type": ["string", "integer", "null"], "description": "d"},
                "nothing": {"type": "null"},
                "only_null": {"type": ["null"]},
                "level": {"enum": [1, 2, 3], "type": "integer"},
                "pick": {"enum": ["a", None]},
                "fixed": {"const": 3},
                "nil": {"const": None},
                "list": {"items": {"type": "boolean"}, "uniqueItems": True},
                "tuple": {"type": "array", "items": [{"type": "string"}]},
                "odd": {"anyOf": [{"type": "null", "description": "none"}, {"type": "string"}]},
                "anything": {},
            },
            "required": ["when", "missing"],
            "additionalProperties": {"type": "string"},
            "patternProperties": {"^x": {}},
        },
        "s",
    )
    assert_gemini_schema(schema)
    assert schema == {
        "type": "OBJECT",
        "required": ["when"],
        "properties": {
            "when": {"type": "STRING", "format": "date-time"},
            "mail": {"type": "STRING", "minLength": 3},
            "ratio": {"type": "NUMBER", "format": "double"},
            "count": {"type": "INTEGER", "format": "int32", "minimum": 1},
            "mode": {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]},
            "either": {
                "description": "d",
                "anyOf": [
                    {"description": "d", "type": "STRING"},
                    {"description": "d", "type": "INTEGER"},
                ],
                "nullable": True,
            },
            "nothing": {"nullable": True},
            "only_null": {"nullable": True},
            "level": {"type": "INTEGER"},
            "pick": {"enum": ["a"], "type": "STRING", "nullable": True},
            "fixed": {},
            "nil": {"nullable": True},
            "list": {"type": "ARRAY", "items": {"type": "BOOLEAN"}},
            "tuple": {"type": "ARRAY"},
            "odd": {"type": "STRING", "nullable": True},
            "anything": {},
        },
    }


def test_refs_and_a_single_all_of_are_inlined_with_siblings_winning() -> None:
    schema = to_gemini_schema(
        {
            "definitions": {"Id": {"type": "string", "description": "an id"}},
            "$defs": {"Pair": {"type": "array", "items": {"$ref": "#/definitions/Id"}}},
            "type": "object",
            "properties": {
                "a": {"$ref": "#/$defs/Pair", "description": "two ids"},
                "b": {"allOf": [{"$ref": "#/definitions/Id"}], "description": "the b id"},
            },
        },
        "s",
    )
    assert schema["properties"] == {
        "a": {
            "description": "two ids",
            "type": "ARRAY",
            "items": {"description": "an id", "type": "STRING"},
        },
        "b": {"description": "the b id", "type": "STRING"},
    }


@pytest.mark.parametrize(
    ("schema", "path", "problem"),
    [
        ("object", "s", "JSON Schema object"),
        ({"properties": {"x": True}}, "s.properties.x", "JSON Schema object"),
        ({"items": {"type": "float"}}, "s.items", "'float'"),
        ({"type": 3}, "s", "3"),
        ({"anyOf": [{"type": "string"}, {"type": "set"}]}, "s.anyOf[1]", "'set'"),
        ({"$ref": "#/$defs/Missing"}, "s", "does not name"),
        ({"$ref": "other.json#/x"}, "s", "does not name"),
        ({"$ref": 5}, "s", "does not name"),
        ({"allOf": [{"type": "string"}, {"minLength": 1}]}, "s", "allOf"),
        ({"allOf": "x"}, "s", "allOf"),
        (
            {
                "$defs": {
                    "Node": {
                        "type": "object",
                        "properties": {
                            "next": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]}
                        },
                    }
                },
                "properties": {"root": {"$ref": "#/$defs/Node"}},
            },
            "s.properties.root.properties.next",
            "recursive",
        ),
    ],
)
def test_schemas_gemini_cannot_express_are_refused(schema: Any, path: str, problem: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        to_gemini_schema(schema, "s")
    assert caught.value.param == path
    assert problem in caught.value.message
    assert caught.value.code == "invalid_schema"


def test_the_same_definition_may_be_inlined_twice_side_by_side() -> None:
    schema = to_gemini_schema(
        {
            "$defs": {"Id": {"type": "string"}},
            "properties": {"a": {"$ref": "#/$defs/Id"}, "b": {"$ref": "#/$defs/Id"}},
        },
        "s",
    )
    assert schema["properties"] == {"a": {"type": "STRING"}, "b": {"type": "STRING"}}


# -- responses ----------------------------------------------------------------------------------


def test_a_text_answer_becomes_a_chat_completion() -> None:
    body = gemini(
        candidates=[candidate({"text": "Hello, "}, {"text": "world."})],
        usageMetadata=usage(5, 3),
        modelVersion="gemini-2.5-flash-001",
        responseId="resp-1",
    )
    result = completion(body)
    assert result.id == "resp-1"
    assert result.model == "gemini-2.5-flash-001"
    assert result.created == 1700000000
    assert result.choices[0].message.content == "Hello, world."
    assert result.choices[0].message.tool_calls is None
    assert result.choices[0].finish_reason == "stop"
    assert result.choices[0].model_extra == {"native_finish_reason": "STOP"}
    assert result.usage is not None
    assert result.usage.model_dump() == {
        "prompt_tokens": 5,
        "completion_tokens": 3,
        "total_tokens": 8,
    }


def test_thought_summaries_are_left_out_and_missing_ids_are_made_up() -> None:
    body = gemini(candidates=[candidate({"text": "pondering", "thought": True}, {"text": "42"})])
    result = generate_content_to_chat(body, "gemini-served")
    assert result.choices[0].message.content == "42"
    assert result.model == "gemini-served"
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{32}", result.id)
    assert isinstance(result.created, int)
    assert result.created > 1700000000
    assert result.usage is None


def test_function_calls_become_tool_calls_with_signatures_kept() -> None:
    body = gemini(
        candidates=[
            candidate(
                {
                    "functionCall": {"name": "weather", "args": {"city": "Zürich"}},
                    "thoughtSignature": SIG,
                },
                {"functionCall": {"id": "fc-7", "name": "time"}},
            )
        ]
    )
    result = completion(body)
    message = result.choices[0].message
    assert message.content is None
    assert result.choices[0].finish_reason == "tool_calls"
    assert message.tool_calls is not None
    first, second = message.tool_calls
    assert GENERATED_CALL_ID.fullmatch(first.id)
    assert first.function.name == "weather"
    assert json.loads(first.function.arguments) == {"city": "Zürich"}
    assert first.model_extra == {"extra_content": {"google": {"thought_signature": SIG}}}
    assert second.id == "fc-7"
    assert second.function.arguments == "{}"
    assert second.model_extra == {}


def test_tool_calls_translated_back_carry_the_signature_to_gemini() -> None:
    body = gemini(
        candidates=[
            candidate(
                {"text": "Let me look."},
                {"functionCall": {"name": "time", "args": {}}, "thoughtSignature": SIG},
            )
        ]
    )
    message = completion(body).choices[0].message
    assert message.content == "Let me look."
    history = [user("time?"), message.model_dump(exclude_none=True)]
    call_id = message.tool_calls[0].id if message.tool_calls else ""
    history.append(tool(call_id, "noon"))
    contents = translate(messages=history, tools=[TIME])["contents"]
    assert contents[1]["parts"][1] == {
        "functionCall": {"name": "time", "args": {}},
        "thoughtSignature": SIG,
    }
    assert contents[2]["parts"][0]["functionResponse"]["name"] == "time"


@pytest.mark.parametrize(
    ("native", "expected"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("IMAGE_SAFETY", "content_filter"),
        ("LANGUAGE", "stop"),
        ("OTHER", "stop"),
        ("MALFORMED_FUNCTION_CALL", "stop"),
        ("FINISH_REASON_UNSPECIFIED", "stop"),
    ],
)
def test_finish_reasons_map_and_the_native_one_is_kept(native: str, expected: str) -> None:
    result = completion(gemini(candidates=[candidate({"text": "x"}, finish=native)]))
    assert result.choices[0].finish_reason == expected
    assert result.choices[0].model_extra == {"native_finish_reason": native}


@pytest.mark.parametrize(
    ("native", "expected"),
    [("SAFETY", "content_filter"), ("MAX_TOKENS", "length"), ("OTHER", "tool_calls")],
)
def test_a_stop_other_than_stop_wins_over_tool_calls_unless_unmapped(
    native: str, expected: str
) -> None:
    part = {"functionCall": {"name": "time", "args": {}}}
    result = completion(gemini(candidates=[candidate(part, finish=native)]))
    assert result.choices[0].finish_reason == expected


def test_a_candidate_without_a_finish_reason_is_taken_as_stopped() -> None:
    result = completion(gemini(candidates=[candidate({"text": "x"}, finish=None)]))
    assert result.choices[0].finish_reason == "stop"
    assert result.choices[0].model_extra == {}


def test_a_candidate_stopped_by_safety_without_content_is_empty() -> None:
    body = gemini(candidates=[{"finishReason": "SAFETY", "index": 0}], usageMetadata=usage(4, 0))
    result = completion(body)
    assert result.choices[0].message.content == ""
    assert result.choices[0].finish_reason == "content_filter"


def test_a_blocked_prompt_is_an_empty_content_filter_completion() -> None:
    body = gemini(
        promptFeedback={"blockReason": "PROHIBITED_CONTENT"},
        usageMetadata={"promptTokenCount": 9, "totalTokenCount": 9},
    )
    result = completion(body)
    assert result.choices[0].message.content == ""
    assert result.choices[0].finish_reason == "content_filter"
    assert result.choices[0].model_extra == {"native_finish_reason": "PROHIBITED_CONTENT"}
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (9, 0)


def test_thinking_tool_use_and_cache_tokens_are_counted() -> None:
    meta = usage(
        10,
        5,
        thoughtsTokenCount=20,
        toolUsePromptTokenCount=3,
        cachedContentTokenCount=4,
        totalTokenCount=38,
    )
    result = completion(gemini(candidates=[candidate({"text": "x"})], usageMetadata=meta))
    assert result.usage is not None
    assert result.usage.model_dump() == {
        "prompt_tokens": 13,
        "completion_tokens": 25,
        "total_tokens": 38,
        "completion_tokens_details": {"reasoning_tokens": 20},
        "prompt_tokens_details": {"cached_tokens": 4},
    }
    no_total = gemini(candidates=[candidate({"text": "x"})], usageMetadata={"promptTokenCount": 2})
    assert (
        completion(no_total).usage
        == completion(
            gemini(candidates=[candidate({"text": "x"})], usageMetadata=usage(2, 0))
        ).usage
    )


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([], "not a JSON object"),
        ({}, "neither candidates"),
        ({"candidates": []}, "neither candidates"),
        ({"candidates": {"content": {}}}, "candidates is not a list"),
        ({"candidates": ["x"]}, "candidates[0] is not an object"),
        ({"candidates": [{"content": []}]}, "content is not an object"),
        ({"candidates": [{"content": {"parts": {}}}]}, "parts is not a list"),
        ({"candidates": [{"content": {"parts": ["hi"]}}]}, "parts[0] is not an object"),
        ({"candidates": [{"content": {"parts": [{"text": 5}]}}]}, "parts[0].text"),
        ({"candidates": [{"content": {"parts": [{"functionCall": "f"}]}}]}, "functionCall is not"),
        ({"candidates": [{"content": {"parts": [{"functionCall": {}}]}}]}, "has no name"),
        ({"candidates": [{"content": {"parts": [{"functionCall": {"name": 1}}]}}]}, "name is not"),
        (
            {"candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "args": []}}]}}]},
            "args",
        ),
        (
            {"candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "id": 1}}]}}]},
            "functionCall.id",
        ),
        ({"candidates": [{"finishReason": 1}]}, "finishReason"),
        ({"candidates": [candidate()], "usageMetadata": []}, "usageMetadata is not"),
        (
            {"candidates": [candidate()], "usageMetadata": {"promptTokenCount": "3"}},
            "promptTokenCount",
        ),
        (
            {"candidates": [candidate()], "usageMetadata": {"totalTokenCount": True}},
            "totalTokenCount",
        ),
        (
            {"candidates": [candidate()], "usageMetadata": {"candidatesTokenCount": -1}},
            "candidatesTokenCount",
        ),
        ({"promptFeedback": "blocked"}, "promptFeedback is not"),
        ({"promptFeedback": {"blockReason": 2}}, "blockReason"),
        ({"candidates": [candidate()], "responseId": 7}, "responseId"),
    ],
)
def test_a_malformed_response_is_an_upstream_error(body: object, problem: str) -> None:
    with pytest.raises(UpstreamError) as caught:
        generate_content_to_chat(body, "m")
    assert caught.value.code == "upstream_bad_response"
    assert problem in caught.value.message
    assert caught.value.message.startswith("Gemini returned a malformed response")


def test_an_error_body_is_an_upstream_error_with_its_message() -> None:
    body = {"error": {"code": 500, "message": "Internal error", "status": "INTERNAL"}}
    with pytest.raises(UpstreamError) as caught:
        generate_content_to_chat(body, "m")
    assert caught.value.code == "upstream_error"
    assert "Internal error (INTERNAL)" in caught.value.message


# -- streams ------------------------------------------------------------------------------------


def text_events() -> list[dict[str, Any]]:
    return [
        gemini(
            candidates=[candidate({"text": "Hel"}, finish=None)],
            usageMetadata={"promptTokenCount": 4, "totalTokenCount": 4},
            modelVersion="gemini-2.5-flash-001",
            responseId="r-9",
        ),
        gemini(candidates=[candidate({"text": ""}, finish=None)], responseId="r-9"),
        gemini(candidates=[candidate({"text": "lo"}, finish=None)], responseId="r-9"),
        gemini(
            candidates=[candidate({"text": "!"})],
            usageMetadata=usage(4, 3),
            modelVersion="gemini-2.5-flash-001",
            responseId="r-9",
        ),
    ]


def test_a_text_stream_becomes_role_content_finish_and_usage_chunks() -> None:
    chunks = chunks_of(text_events())
    assert [c.id for c in chunks] == ["r-9"] * 5
    assert {c.model for c in chunks} == {"gemini-2.5-flash-001"}
    assert [c.choices[0].delta.model_dump(exclude_none=True) for c in chunks[:4]] == [
        {"role": "assistant", "content": "Hel"},
        {"content": "lo"},
        {"content": "!"},
        {},
    ]
    assert [c.choices[0].finish_reason for c in chunks[:4]] == [None, None, None, "stop"]
    assert chunks[3].choices[0].model_extra == {"native_finish_reason": "STOP"}
    assert chunks[4].choices == []
    assert chunks[4].usage is not None
    assert chunks[4].usage.model_dump() == {
        "prompt_tokens": 4,
        "completion_tokens": 3,
        "total_tokens": 7,
    }


def test_streamed_function_calls_become_indexed_tool_call_deltas() -> None:
    events = [
        gemini(candidates=[candidate({"text": "Checking."}, finish=None)]),
        gemini(
            candidates=[
                candidate(
                    {
                        "functionCall": {"name": "weather", "args": {"city": "Oslo"}},
                        "thoughtSignature": SIG,
                    },
                    finish=None,
                )
            ]
        ),
        gemini(candidates=[candidate({"functionCall": {"name": "time", "args": {}}})]),
    ]
    chunks = chunks_of(events)
    assert len(chunks) == 4  # no usage was reported
    first, second = (
        (chunks[1].choices[0].delta.tool_calls or []),
        (chunks[2].choices[0].delta.tool_calls or []),
    )
    assert [call["index"] for call in first + second] == [0, 1]
    assert first[0]["function"] == {"name": "weather", "arguments": '{"city": "Oslo"}'}
    assert first[0]["extra_content"] == {"google": {"thought_signature": SIG}}
    assert GENERATED_CALL_ID.fullmatch(first[0]["id"])
    assert second[0]["type"] == "function"
    assert "extra_content" not in second[0]
    assert chunks[3].choices[0].finish_reason == "tool_calls"
    ids = {c.id for c in chunks}
    assert len(ids) == 1
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{32}", ids.pop())
    assert {c.model for c in chunks} == {"gemini-served"}


def test_a_call_in_an_earlier_event_makes_a_later_stop_a_tool_calls_finish() -> None:
    events = [
        gemini(candidates=[candidate({"functionCall": {"name": "time"}}, finish=None)]),
        gemini(candidates=[candidate({"text": ""})]),
    ]
    assert chunks_of(events)[-1].choices[0].finish_reason == "tool_calls"


def test_a_blocked_prompt_stream_is_one_content_filter_chunk() -> None:
    events = [
        gemini(promptFeedback={"blockReason": "SAFETY"}, usageMetadata={"promptTokenCount": 3})
    ]
    chunks = chunks_of(events)
    assert chunks[0].choices[0].delta.model_dump(exclude_none=True) == {"role": "assistant"}
    assert chunks[0].choices[0].finish_reason == "content_filter"
    assert chunks[0].choices[0].model_extra == {"native_finish_reason": "SAFETY"}
    assert chunks[1].usage is not None
    assert chunks[1].usage.prompt_tokens == 3


def test_events_after_the_finish_only_update_usage() -> None:
    stream = GeminiStreamToChunks("m", created=1)
    assert stream.feed({}) == []
    assert not stream.finished
    assert len(stream.feed(gemini(candidates=[candidate({"text": "a"}, finish="MAX_TOKENS")]))) == 2
    assert stream.finished
    late = gemini(candidates=[candidate({"text": "b"})], usageMetadata=usage(1, 1))
    assert stream.feed(late) == []
    (last,) = stream.finish()
    assert last.usage is not None
    assert last.usage.total_tokens == 2


def test_a_stream_cut_short_is_an_upstream_error() -> None:
    stream = GeminiStreamToChunks("m")
    stream.feed(gemini(candidates=[candidate({"text": "par"}, finish=None)]))
    with pytest.raises(UpstreamError) as caught:
        stream.finish()
    assert caught.value.code == "upstream_bad_response"


def test_an_error_event_or_a_malformed_event_mid_stream_is_an_upstream_error() -> None:
    stream = GeminiStreamToChunks("m")
    stream.feed(gemini(candidates=[candidate({"text": "par"}, finish=None)]))
    overloaded = {
        "error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}
    }
    with pytest.raises(UpstreamError) as caught:
        stream.feed(overloaded)
    assert caught.value.code == "upstream_stream_error"
    assert "The model is overloaded. (UNAVAILABLE)" in caught.value.message
    with pytest.raises(UpstreamError) as caught:
        stream.feed({"candidates": "x"})
    assert caught.value.code == "upstream_bad_response"


def test_a_stream_adds_up_to_the_same_answer_as_one_response() -> None:
    events = text_events()
    chunks = chunks_of(events)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    whole = gemini(
        candidates=[candidate({"text": "Hello!"})],
        usageMetadata=usage(4, 3),
        modelVersion="gemini-2.5-flash-001",
        responseId="r-9",
    )
    single = completion(whole)
    assert text == single.choices[0].message.content
    assert chunks[-1].usage == single.usage
    assert chunks[-2].choices[0].finish_reason == single.choices[0].finish_reason


# -- errors -------------------------------------------------------------------------------------


GOOGLE_ERROR = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"},
            {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US"},
        ],
    }
}


@pytest.mark.parametrize(
    "body",
    [json.dumps(GOOGLE_ERROR).encode(), json.dumps(GOOGLE_ERROR), GOOGLE_ERROR, [GOOGLE_ERROR]],
)
def test_the_message_of_a_google_error_is_read_with_its_status(body: object) -> None:
    assert error_from_gemini(400, body) == (
        "API key not valid. Please pass a valid API key. (INVALID_ARGUMENT, API_KEY_INVALID)"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": {"message": "Quota exceeded"}}, "Quota exceeded"),
        ({"error": {"message": "x", "status": "INTERNAL", "details": "d"}}, "x (INTERNAL)"),
        (b"<html>Bad Gateway</html>\n", "<html>Bad Gateway</html>"),
        (b"", "no error message (HTTP 502)"),
        (b"{}", "no error message (HTTP 502)"),
        (b"[]", "no error message (HTTP 502)"),
        ({"error": {"code": 502}}, '{"error": {"code": 502}}'),
        ({"error": "boom"}, '{"error": "boom"}'),
        (b"\xff\xfe oops", "\ufffd\ufffd oops"),
    ],
)
def test_other_error_bodies_give_what_text_they_have(body: object, message: str) -> None:
    assert error_from_gemini(502, body) == message


def test_a_long_error_message_is_shortened() -> None:
    message = error_from_gemini(500, {"error": {"message": "x" * 1000}})
    assert message == "x" * 297 + "..."
