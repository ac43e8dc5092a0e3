"""The test upstream itself: its three wire formats, proven by the vendors' own SDKs parsing them,
and every fault directive doing on the wire what tests.support.upstream_faults says it does."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors, types as genai_types

from tests.support.processes import Upstream, start_upstream
from tests.support.upstream_client import (
    ANTHROPIC,
    ANTHROPIC_KEY,
    APIS,
    GOOGLE_KEY,
    OPENAI,
    OPENAI_KEY,
    Api,
    anthropic_request,
    caused_by_reset,
    gemini_request,
    openai_request,
    openai_token,
    read_stream,
    record_with,
    stream_end_of,
)
from tests.support.upstream_server import DEFAULT_REPLY

pytestmark = pytest.mark.integration

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city"],
}
WEATHER_ARGS = {"city": "example", "days": 1}
MIB = 1 << 20


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    with start_upstream(tmp_path_factory.mktemp("upstream")) as up:
        yield up


@pytest.fixture
def http(upstream: Upstream) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=upstream.process.url, timeout=10, trust_env=False) as client:
        yield client


def marker() -> str:
    return f"marker-{uuid.uuid4().hex[:12]}"


def openai_client(up: Upstream) -> openai.OpenAI:
    return openai.OpenAI(base_url=up.base_url, api_key=OPENAI_KEY, max_retries=0)


def anthropic_client(up: Upstream) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=up.process.url, api_key=ANTHROPIC_KEY, max_retries=0)


def gemini_client(up: Upstream, version: str = "v1beta") -> genai.Client:
    """Keep the client in a variable while it is used: collecting it closes its connections."""
    options = genai_types.HttpOptions(base_url=up.process.url, api_version=version)
    return genai.Client(api_key=GOOGLE_KEY, http_options=options)


by_api = pytest.mark.parametrize("api", APIS, ids=[a.name for a in APIS])


# -- OpenAI SDK -------------------------------------------------------------------------------


def test_openai_sdk_parses_an_answer(upstream: Upstream) -> None:
    completion = openai_client(upstream).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "Say hello."}]
    )
    assert completion.model == "upstream-gpt-test"
    assert completion.choices[0].message.content == DEFAULT_REPLY
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == len(DEFAULT_REPLY.split())


def test_openai_sdk_parses_a_stream_with_usage(upstream: Upstream) -> None:
    stream = openai_client(upstream).chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=2,
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage = "", None, None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        usage = chunk.usage or usage
    assert text == "Hello from"
    assert finish == "length"
    assert usage is not None
    assert usage.completion_tokens == 2


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_openai_sdk_parses_a_tool_call(upstream: Upstream, stream: bool) -> None:
    tools: Any = [
        {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}}
    ]
    client = openai_client(upstream)
    messages: Any = [{"role": "user", "content": "Weather?"}]
    if not stream:
        completion = client.chat.completions.create(model="tool", messages=messages, tools=tools)
        choice = completion.choices[0]
        assert choice.finish_reason == "tool_calls"
        [call] = choice.message.tool_calls or []
        assert call.type == "function"
        name, arguments = call.function.name, call.function.arguments
    else:
        name, arguments, finish = "", "", None
        for chunk in client.chat.completions.create(
            model="tool", messages=messages, tools=tools, stream=True
        ):
            for delta in chunk.choices[0].delta.tool_calls or []:
                name += (delta.function and delta.function.name) or ""
                arguments += (delta.function and delta.function.arguments) or ""
            finish = chunk.choices[0].finish_reason or finish
        assert finish == "tool_calls"
    assert name == "get_weather"
    assert json.loads(arguments) == WEATHER_ARGS


# -- Anthropic SDK ----------------------------------------------------------------------------


def test_anthropic_sdk_parses_a_message(upstream: Upstream) -> None:
    client = anthropic_client(upstream)
    message = client.messages.create(
        model="claude-test", max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
    )
    assert message.model == "upstream-claude-test"
    assert message.content[0].type == "text"
    assert message.content[0].text == DEFAULT_REPLY
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == len(DEFAULT_REPLY.split())
    short = client.messages.create(
        model="claude-test", max_tokens=2, messages=[{"role": "user", "content": "Hi"}]
    )
    assert short.stop_reason == "max_tokens"
    assert short.content[0].type == "text"
    assert short.content[0].text == "Hello from"


def test_anthropic_stream_has_the_real_event_sequence(
    upstream: Upstream, http: httpx.Client
) -> None:
    with anthropic_client(upstream).messages.stream(
        model="claude-test", max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == DEFAULT_REPLY
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == len(DEFAULT_REPLY.split())

    events = [
        line[len("event: ") :]
        for line in read_stream(http, ANTHROPIC, "claude-test", "Hi").lines
        if line.startswith("event: ")
    ]
    words = len(DEFAULT_REPLY.split())
    assert events == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * words,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_anthropic_sdk_parses_tool_use(upstream: Upstream, stream: bool) -> None:
    tools: Any = [{"name": "get_weather", "input_schema": WEATHER_SCHEMA}]
    request: Any = {
        "model": "tool",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Weather?"}],
        "tools": tools,
    }
    client = anthropic_client(upstream)
    if stream:
        with client.messages.stream(**request) as events:
            message = events.get_final_message()  # joins the input_json_delta pieces
    else:
        message = client.messages.create(**request)
    assert message.stop_reason == "tool_use"
    [block] = message.content
    assert block.type == "tool_use"
    assert block.name == "get_weather"
    assert block.input == WEATHER_ARGS


def test_anthropic_errors_have_anthropic_shape(upstream: Upstream, http: httpx.Client) -> None:
    path, _, body = anthropic_request("claude-test", False, "Hi")
    no_key = http.post(path, json=body, headers={"anthropic-version": "2023-06-01"})
    assert no_key.status_code == 401
    assert no_key.json()["error"]["type"] == "authentication_error"
    no_version = http.post(path, json=body, headers={"x-api-key": ANTHROPIC_KEY})
    assert no_version.status_code == 400
    assert no_version.json() == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "anthropic-version: header is required",
        },
    }
    client = anthropic_client(upstream)
    with pytest.raises(anthropic.OverloadedError) as overloaded:
        client.messages.create(
            model="status-529", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    assert overloaded.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "simulated upstream failure (HTTP 529)"},
    }
    with pytest.raises(anthropic.APIStatusError) as mid_stream:
        for _ in client.messages.create(
            model="stream-error",
            max_tokens=8,
            messages=[{"role": "user", "content": "x"}],
            stream=True,
        ):
            pass
    assert "overloaded_error" in str(mid_stream.value)


# -- Gemini SDK -------------------------------------------------------------------------------


def test_gemini_sdk_parses_an_answer(upstream: Upstream) -> None:
    client = gemini_client(upstream)
    response = client.models.generate_content(model="gemini-test", contents="Hi")
    assert response.text == DEFAULT_REPLY
    assert response.model_version == "upstream-gemini-test"
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == genai_types.FinishReason.STOP
    assert response.usage_metadata is not None
    assert response.usage_metadata.candidates_token_count == len(DEFAULT_REPLY.split())
    short = client.models.generate_content(
        model="gemini-test",
        contents="Hi",
        config=genai_types.GenerateContentConfig(max_output_tokens=2),
    )
    assert short.text == "Hello from"
    assert short.candidates is not None
    assert short.candidates[0].finish_reason == genai_types.FinishReason.MAX_TOKENS


def test_gemini_sdk_parses_a_stream(upstream: Upstream) -> None:
    client = gemini_client(upstream)
    chunks = list(client.models.generate_content_stream(model="gemini-test", contents="Hi"))
    assert "".join(c.text or "" for c in chunks) == DEFAULT_REPLY
    last = chunks[-1]
    assert last.candidates is not None
    assert last.candidates[0].finish_reason == genai_types.FinishReason.STOP
    assert last.usage_metadata is not None
    assert last.usage_metadata.total_token_count == 2 + len(DEFAULT_REPLY.split())
    assert all(c.candidates and c.candidates[0].finish_reason is None for c in chunks[:-1])


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_gemini_sdk_parses_a_function_call(upstream: Upstream, stream: bool) -> None:
    declaration = genai_types.FunctionDeclaration(
        name="get_weather",
        parameters=genai_types.Schema(
            type=genai_types.Type.OBJECT,
            properties={
                "city": genai_types.Schema(type=genai_types.Type.STRING),
                "days": genai_types.Schema(type=genai_types.Type.INTEGER),
            },
        ),
    )
    config = genai_types.GenerateContentConfig(
        tools=[genai_types.Tool(function_declarations=[declaration])]
    )
    client = gemini_client(upstream)
    if stream:
        responses = list(
            client.models.generate_content_stream(model="tool", contents="Weather?", config=config)
        )
    else:
        responses = [
            client.models.generate_content(model="tool", contents="Weather?", config=config)
        ]
    calls = [call for r in responses for call in r.function_calls or []]
    assert [(c.name, c.args) for c in calls] == [("get_weather", WEATHER_ARGS)]


def test_gemini_key_and_errors(upstream: Upstream, http: httpx.Client) -> None:
    path, _, body = gemini_request("gemini-test", False, "Hi")
    anonymous = http.post(path, json=body)
    assert anonymous.status_code == 403
    assert anonymous.json()["error"]["status"] == "PERMISSION_DENIED"
    assert anonymous.json()["error"]["code"] == 403
    assert http.post(path, json=body, params={"key": GOOGLE_KEY}).status_code == 200
    not_sse = http.post(
        "/v1beta/models/gemini-test:streamGenerateContent",
        json=body,
        headers={"x-goog-api-key": GOOGLE_KEY},
    )
    assert not_sse.status_code == 400
    default_version = gemini_client(upstream, "v1")
    assert default_version.models.generate_content(model="v1-test", contents="Hi").text
    assert upstream.received()[-1]["path"] == "/v1/models/v1-test:generateContent"
    client = gemini_client(upstream)
    with pytest.raises(genai_errors.ServerError) as failure:
        client.models.generate_content(model="status-503", contents="Hi")
    assert failure.value.code == 503
    assert failure.value.status == "UNAVAILABLE"


# -- the recorder -----------------------------------------------------------------------------


def test_every_api_is_recorded_with_its_credentials(upstream: Upstream, http: httpx.Client) -> None:
    texts = {api.name: marker() for api in APIS}
    for api in APIS:
        path, headers, body = api.request("rec-test", False, texts[api.name])
        assert http.post(path, json=body, headers={**headers, "x-test-id": "t1"}).status_code == 200
    openai_rec = record_with(upstream, texts["openai"])
    anthropic_rec = record_with(upstream, texts["anthropic"])
    gemini_rec = record_with(upstream, texts["gemini"])
    assert openai_rec["path"] == "/v1/chat/completions"
    assert anthropic_rec["path"] == "/v1/messages"
    assert gemini_rec["path"] == "/v1beta/models/rec-test:generateContent"
    assert all(r["headers"]["x-test-id"] == "t1" for r in (openai_rec, anthropic_rec, gemini_rec))
    credentials = {
        "authorization": openai_rec["headers"].get("authorization") == f"Bearer {OPENAI_KEY}",
        "x-api-key": anthropic_rec["headers"].get("x-api-key") == ANTHROPIC_KEY,
        "x-goog-api-key": gemini_rec["headers"].get("x-goog-api-key") == GOOGLE_KEY,
    }
    assert credentials == dict.fromkeys(credentials, True)  # compared here, never printed
    assert anthropic_rec["headers"]["anthropic-version"] == "2023-06-01"
    assert gemini_rec["query"] == {}
    assert anthropic_rec["body"]["messages"][0]["content"] == texts["anthropic"]


# -- fault directives -------------------------------------------------------------------------


def test_earlier_directives_still_work(http: httpx.Client) -> None:
    path, headers, body = openai_request("status-418", False, "x")
    failed = http.post(path, json=body, headers=headers)
    assert failed.status_code == 418
    assert failed.json()["error"]["message"] == "simulated upstream failure (HTTP 418)"
    path, headers, body = openai_request("garbage", False, "x")
    garbage = http.post(path, json=body, headers=headers)
    assert garbage.status_code == 200
    with pytest.raises(ValueError, match="Expecting value"):
        garbage.json()
    dripped = read_stream(http, OPENAI, "drip-0", "x")
    assert len(dripped.tokens) == 1000
    broken = read_stream(http, OPENAI, "stream-error", "x")
    assert broken.tokens == ["Hello"]
    assert json.loads(broken.lines[-2][6:])["error"]["type"] == "server_error"
    assert "data: [DONE]" not in broken.lines


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_firstbyte_sends_not_even_headers(http: httpx.Client, stream: bool) -> None:
    path, headers, body = openai_request("firstbyte-5", stream, "x")
    with (
        pytest.raises(httpx.ReadTimeout),
        http.stream("POST", path, json=body, headers=headers, timeout=0.3),
    ):
        pass  # entering the block means the status line and headers arrived


def test_ttft_sends_headers_and_role_chunk_then_waits(http: httpx.Client) -> None:
    path, headers, body = openai_request("ttft-5", True, "x")
    with http.stream("POST", path, json=body, headers=headers, timeout=0.5) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        first = json.loads(next(lines)[6:])
        assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
        assert next(lines) == ""
        with pytest.raises(httpx.ReadTimeout):
            next(lines)


@by_api
def test_stall_forever_holds_the_stream_until_the_client_leaves(
    upstream: Upstream, http: httpx.Client, api: Api
) -> None:
    text = marker()
    stalled = read_stream(http, api, "stall-2-forever", text, timeout=0.5)
    assert stalled.tokens == ["Hello", " from"]
    assert isinstance(stalled.error, httpx.ReadTimeout)
    end = stream_end_of(upstream, text)
    assert end == {"kind": "stream_end", "complete": False, "tokens_sent": 2, "user": text}


def test_stall_for_seconds_then_goes_on(upstream: Upstream, http: httpx.Client) -> None:
    text = marker()
    resumed = read_stream(http, OPENAI, "stall-1-0.2", text)
    assert "".join(resumed.tokens) == DEFAULT_REPLY
    assert resumed.lines[-2] == "data: [DONE]"
    assert stream_end_of(upstream, text)["complete"] is True


@by_api
def test_burst_fails_the_first_n_requests_per_caller(http: httpx.Client, api: Api) -> None:
    path, headers, body = api.request("burst-503-2", False, "x")

    def status(test_id: str) -> int:
        return http.post(path, json=body, headers={**headers, "x-test-id": test_id}).status_code

    first = uuid.uuid4().hex
    assert [status(first) for _ in range(4)] == [503, 503, 200, 200]
    assert status(uuid.uuid4().hex) == 503  # another test's count starts afresh


def test_burst_is_keyed_by_the_user_field(http: httpx.Client) -> None:
    path, headers, body = openai_request("burst-500-1", False, "x")
    user = uuid.uuid4().hex
    codes = [
        http.post(path, json={**body, "user": user}, headers=headers).status_code for _ in "ab"
    ]
    assert codes == [500, 200]


def test_burst_429_carries_retry_after(upstream: Upstream, http: httpx.Client) -> None:
    path, headers, body = openai_request("burst-429-1", False, "x")
    limited = http.post(path, json=body, headers={**headers, "x-test-id": uuid.uuid4().hex})
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    client = anthropic_client(upstream)
    request: Any = {"max_tokens": 8, "messages": [{"role": "user", "content": "x"}]}
    caller = {"x-test-id": uuid.uuid4().hex}
    with pytest.raises(anthropic.RateLimitError) as rate_limited:
        client.messages.create(model="burst-429-1-retry-7", extra_headers=caller, **request)
    assert rate_limited.value.response.headers["retry-after"] == "7"
    assert client.messages.create(model="burst-429-1-retry-7", extra_headers=caller, **request)


@by_api
def test_reset_aborts_the_connection_before_any_answer(
    upstream: Upstream, http: httpx.Client, api: Api
) -> None:
    text = marker()
    path, headers, body = api.request("reset", False, text)
    with pytest.raises(httpx.ReadError) as failure:
        http.post(path, json=body, headers=headers)
    assert caused_by_reset(failure.value)  # a reset, not a clean close nor an HTTP error
    assert record_with(upstream, text)["path"] == path.split("?")[0]


def test_sdks_see_a_reset_as_a_connection_error(upstream: Upstream) -> None:
    with pytest.raises(openai.APIConnectionError) as from_openai:
        openai_client(upstream).chat.completions.create(
            model="reset", messages=[{"role": "user", "content": "x"}]
        )
    with pytest.raises(anthropic.APIConnectionError) as from_anthropic:
        anthropic_client(upstream).messages.create(
            model="reset", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    gemini = gemini_client(upstream)
    # google-genai raises its HTTP client's own error type; the chain shows what happened
    with pytest.raises(Exception) as from_gemini:  # noqa: PT011
        gemini.models.generate_content(model="reset", contents="x")
    assert all(map(caused_by_reset, (from_openai.value, from_anthropic.value, from_gemini.value)))


@by_api
def test_reset_after_n_tokens_cuts_a_stream(
    upstream: Upstream, http: httpx.Client, api: Api
) -> None:
    text = marker()
    cut = read_stream(http, api, "reset-after-2", text)
    assert cut.status == 200
    assert cut.tokens == ["Hello", " from"]
    assert cut.error is not None
    assert caused_by_reset(cut.error)
    assert stream_end_of(upstream, text)["tokens_sent"] == 2


def test_reset_after_on_a_plain_request_sends_headers_then_half_a_body(http: httpx.Client) -> None:
    path, headers, body = openai_request("reset-after-1", False, "x")
    with http.stream("POST", path, json=body, headers=headers) as response:
        assert response.status_code == 200
        length = int(response.headers["content-length"])
        received = bytearray()

        def drain() -> None:
            for piece in response.iter_raw():
                received.extend(piece)

        with pytest.raises(httpx.ReadError) as failure:
            drain()
    assert caused_by_reset(failure.value)
    assert 0 < len(received) < length


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_malformed_answers_200_with_broken_json(http: httpx.Client, stream: bool) -> None:
    path, headers, body = openai_request("malformed", stream, "x")
    response = http.post(path, json=body, headers=headers)
    assert response.status_code == 200
    payload = response.text.removeprefix("data: ") if stream else response.text
    assert response.headers["content-type"].startswith(
        "text/event-stream" if stream else "application/json"
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(payload)


@by_api
def test_truncate_ends_mid_event_without_an_end_marker(
    upstream: Upstream, http: httpx.Client, api: Api
) -> None:
    text = marker()
    cut = read_stream(http, api, "truncate-2", text)
    assert cut.error is None  # the HTTP body ended cleanly; only the event stream is cut
    assert cut.tokens == ["Hello", " from"]
    assert not api.ended(cut.lines)
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.lines[-1].removeprefix("data: "))
    assert stream_end_of(upstream, text)["complete"] is False


def test_wrong_content_types(http: httpx.Client) -> None:
    path, headers, body = openai_request("html", True, "x")
    page = http.post(path, json=body, headers=headers)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.startswith("<html>")
    path, headers, body = openai_request("no-sse", True, "x")
    plain = http.post(path, json=body, headers=headers)
    assert plain.headers["content-type"] == "application/json"
    assert plain.json()["choices"][0]["message"]["content"] == DEFAULT_REPLY


def _peak_memory(pid: int) -> int:
    """The process's peak resident set (VmHWM) in bytes."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def test_huge_answers_are_streamed_without_growing_the_server(
    upstream: Upstream, http: httpx.Client
) -> None:
    before = _peak_memory(upstream.process.popen.pid)
    size = 48
    path, headers, body = openai_request(f"huge-{size}", False, "x")
    with http.stream("POST", path, json=body, headers=headers) as response:
        received = sum(len(piece) for piece in response.iter_bytes())
        assert received == int(response.headers["content-length"])
    assert size * MIB < received < size * MIB + 1024

    streamed = 0
    done = False
    path, headers, body = openai_request(f"huge-{size}", True, "x")
    with http.stream("POST", path, json=body, headers=headers) as response:
        for line in response.iter_lines():
            if line.startswith("data: {"):
                streamed += len(openai_token(json.loads(line[6:])) or "")
            done = done or line == "data: [DONE]"
    assert streamed == size * MIB
    assert done
    assert _peak_memory(upstream.process.popen.pid) - before < 16 * MIB
