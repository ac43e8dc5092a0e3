"""The in-process llama.cpp provider: digest check before load, bounded concurrency off the
event loop, cancellation that frees the slot, request mapping, clear errors."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import llama_cpp
import pytest

from tests.providers.conftest import compat_config, llama_config, resolve_secret
from zonegate.config.schema import BUILTIN_MODEL_REF
from zonegate.errors import InvalidRequest
from zonegate.providers.base import ProviderStartError
from zonegate.providers.llamacpp import STREAM_BUFFER, LlamaCppProvider
from zonegate.wire.openai_chat import ChatCompletionRequest

pytestmark = pytest.mark.asyncio(loop_scope="session")

# SmolLM2's end-of-generation token (<|im_end|>); a -100 bias keeps the model talking.
EOS_TOKEN = 2
NEVER_STOP: dict[str, Any] = {"logit_bias": {str(EOS_TOKEN): -100}}
# Comfortably above what a stopped generation can reach: the chunk buffer plus a few tokens.
STOPPED_EARLY = STREAM_BUFFER + 16


def chat(content: str = "What is 2+2?", **params: Any) -> ChatCompletionRequest:
    params.setdefault("temperature", 0)
    params.setdefault("max_tokens", 16)
    messages = params.pop("messages", [{"role": "user", "content": content}])
    return ChatCompletionRequest.model_validate({"model": "m", "messages": messages, **params})


def fake_weights(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "fake.gguf"
    path.write_bytes(b"GGUF" + bytes(4096))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


async def wait_for(condition: Any, what: str, deadline: float = 30.0) -> None:
    """Poll ``condition()`` until true; the deadline only guards against hanging."""
    try:
        async with asyncio.timeout(deadline):
            while not condition():  # noqa: ASYNC110 - polling state owned by another thread
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"gave up waiting for {what}") from None


# -- start: digest before load ----------------------------------------------------------------


async def test_digest_mismatch_refuses_to_start_naming_both_digests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, actual = fake_weights(tmp_path)
    wrong = "0" * 64

    def must_not_load(*args: object, **kwargs: object) -> None:
        raise AssertionError("weights were loaded before their digest was verified")

    monkeypatch.setattr(llama_cpp, "Llama", must_not_load)
    provider = LlamaCppProvider(
        "tampered", llama_config(model_path=str(path), sha256=wrong), resolve_secret
    )
    with pytest.raises(ProviderStartError) as caught:
        await provider.start()

    message = str(caught.value)
    assert f"expected {wrong}" in message
    assert f"actual {actual}" in message
    assert "tampered" in message
    assert str(path) in message
    assert "refusing to load" in message


async def test_weights_that_match_but_do_not_load_give_a_start_error(tmp_path: Path) -> None:
    path, digest = fake_weights(tmp_path)
    provider = LlamaCppProvider(
        "broken", llama_config(model_path=str(path), sha256=digest), resolve_secret
    )
    with pytest.raises(ProviderStartError, match=r"cannot load the weights of 'broken'"):
        await provider.start()


async def test_missing_weights_file_gives_a_start_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.gguf"
    provider = LlamaCppProvider(
        "absent", llama_config(model_path=str(missing), sha256="a" * 64), resolve_secret
    )
    with pytest.raises(ProviderStartError, match="cannot read weights for absent"):
        await provider.start()


async def test_rejects_another_providers_config() -> None:
    config = compat_config("http://127.0.0.1:9/v1")
    with pytest.raises(ProviderStartError, match="needs a 'llamacpp' provider config"):
        LlamaCppProvider("x", config, resolve_secret)


async def test_served_model_name_is_the_weights_name_or_the_pinned_version() -> None:
    builtin = LlamaCppProvider("a", llama_config(model_path=BUILTIN_MODEL_REF), resolve_secret)
    assert builtin.served_model == "SmolLM2-135M-Instruct.Q4_1"
    pinned = LlamaCppProvider("b", llama_config(version="smollm2-2024-11"), resolve_secret)
    assert pinned.served_model == "smollm2-2024-11"
    declared = LlamaCppProvider("c", llama_config(), resolve_secret).capabilities
    assert declared.tools is False
    assert declared.streaming
    assert declared.json_mode


async def test_using_a_provider_before_start_is_an_error() -> None:
    provider = LlamaCppProvider("idle", llama_config(), resolve_secret)
    with pytest.raises(RuntimeError, match="not started"):
        await provider.complete(chat())


# -- the real model -----------------------------------------------------------------------------


@pytest.mark.model
async def test_answers_with_the_real_model(llamacpp_provider: LlamaCppProvider) -> None:
    response = await llamacpp_provider.complete(chat("What is 2+2?", max_tokens=40))
    assert "4" in (response.choices[0].message.content or "")
    assert response.choices[0].finish_reason == "stop"
    assert response.model == "SmolLM2-135M-Instruct.Q4_1"


@pytest.mark.model
async def test_cancelling_a_stream_stops_generation_and_frees_the_slot(
    llamacpp_provider: LlamaCppProvider,
) -> None:
    before = llamacpp_provider.stats()
    stream = llamacpp_provider.stream(chat(QUESTION_LONG, max_tokens=2000, **NEVER_STOP))
    first = await anext(stream)
    assert first.choices
    await stream.aclose()

    # One slot only: this completes only once the cancelled generation has given it back.
    async with asyncio.timeout(60):
        response = await llamacpp_provider.complete(chat(max_tokens=4))
    assert response.choices[0].message.content

    after = llamacpp_provider.stats()
    assert after.cancelled == before.cancelled + 1
    assert after.finished == before.finished + 2
    sampled = after.tokens_sampled - before.tokens_sampled - 4
    assert sampled < STOPPED_EARLY  # it would have gone on to 2000


@pytest.mark.model
async def test_cancelling_a_completion_stops_generation(
    llamacpp_provider: LlamaCppProvider,
) -> None:
    before = llamacpp_provider.stats()
    task = asyncio.create_task(
        llamacpp_provider.complete(chat(QUESTION_LONG, max_tokens=2000, **NEVER_STOP))
    )
    await wait_for(lambda: llamacpp_provider.stats().active == 1, "generation")
    await asyncio.sleep(0.2)  # let it get going (the assertions hold either way)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    async with asyncio.timeout(60):
        await llamacpp_provider.complete(chat(max_tokens=2))
    after = llamacpp_provider.stats()
    assert after.cancelled == before.cancelled + 1
    assert after.tokens_sampled - before.tokens_sampled - 2 < STOPPED_EARLY


@pytest.mark.model
async def test_inference_runs_off_the_event_loop(llamacpp_provider: LlamaCppProvider) -> None:
    task = asyncio.create_task(llamacpp_provider.complete(chat(QUESTION_LONG, max_tokens=24)))
    saw_generation_running = False
    while not task.done():
        # Only a free event loop can observe the generation while it is running.
        saw_generation_running |= llamacpp_provider.stats().active == 1
        await asyncio.sleep(0.005)
    await task
    assert saw_generation_running


@pytest.mark.model
async def test_requests_beyond_max_concurrency_wait_for_a_slot(
    llamacpp_provider: LlamaCppProvider,
) -> None:
    holder = llamacpp_provider.stream(chat(QUESTION_LONG, max_tokens=2000, **NEVER_STOP))
    await anext(holder)
    waiting = asyncio.create_task(llamacpp_provider.complete(chat(max_tokens=2)))
    await asyncio.sleep(0.3)
    assert not waiting.done()  # the only slot is held by the open stream
    await holder.aclose()
    async with asyncio.timeout(60):
        response = await waiting
    assert response.choices[0].message.content is not None


@pytest.mark.model
async def test_two_slots_serve_two_generations_at_once() -> None:
    provider = LlamaCppProvider("two-slots", llama_config(max_concurrency=2), resolve_secret)
    await provider.start()
    try:
        holder = provider.stream(chat(QUESTION_LONG, max_tokens=2000, **NEVER_STOP))
        await anext(holder)
        async with asyncio.timeout(60):  # would wait forever with a single slot
            response = await provider.complete(chat(max_tokens=3))
        assert response.usage is not None
        assert response.usage.completion_tokens == 3
        await holder.aclose()
    finally:
        await provider.aclose()


@pytest.mark.model
async def test_aclose_stops_running_generations() -> None:
    provider = LlamaCppProvider("closing", llama_config(), resolve_secret)
    await provider.start()
    stream = provider.stream(chat(QUESTION_LONG, max_tokens=2000, **NEVER_STOP))
    await anext(stream)
    async with asyncio.timeout(60):
        await provider.aclose()
    await stream.aclose()
    stats = provider.stats()
    assert stats.active == 0
    assert stats.cancelled == 1
    assert stats.tokens_sampled < STOPPED_EARLY
    with pytest.raises(RuntimeError, match="not started"):
        await provider.complete(chat())


@pytest.mark.model
async def test_context_overflow_is_an_invalid_request(llamacpp_provider: LlamaCppProvider) -> None:
    huge = "word " * 3000
    with pytest.raises(InvalidRequest) as caught:
        await llamacpp_provider.complete(chat(huge))
    assert caught.value.code == "context_length_exceeded"
    assert "2048 tokens" in caught.value.message
    assert "n_ctx" in caught.value.message

    stream = llamacpp_provider.stream(chat(huge))
    with pytest.raises(InvalidRequest, match="does not fit the context window"):
        await anext(stream)
    await stream.aclose()


@pytest.mark.model
async def test_logit_bias_is_applied(llamacpp_provider: LlamaCppProvider) -> None:
    natural = await llamacpp_provider.complete(chat(max_tokens=40))
    assert natural.choices[0].finish_reason == "stop"
    biased = await llamacpp_provider.complete(chat(max_tokens=40, **NEVER_STOP))
    assert biased.choices[0].finish_reason == "length"


@pytest.mark.model
async def test_stop_sequence_ends_generation(llamacpp_provider: LlamaCppProvider) -> None:
    natural = await llamacpp_provider.complete(chat(max_tokens=40))
    assert "4" in (natural.choices[0].message.content or "")
    stopped = await llamacpp_provider.complete(chat(max_tokens=40, stop="4"))
    content = stopped.choices[0].message.content or ""
    assert "4" not in content
    assert content
    assert stopped.choices[0].finish_reason == "stop"


@pytest.mark.model
async def test_json_mode_constrains_output(llamacpp_provider: LlamaCppProvider) -> None:
    response = await llamacpp_provider.complete(
        chat(
            "Describe a cat as a JSON object.",
            max_tokens=60,
            response_format={"type": "json_schema", "json_schema": {"schema": CAT_SCHEMA}},
        )
    )
    content = response.choices[0].message.content or ""
    if response.choices[0].finish_reason == "stop":
        assert set(json.loads(content)) <= {"name", "age"}
    else:  # cut at max_tokens: still the start of an object
        assert content.lstrip().startswith("{")


@pytest.mark.model
async def test_roles_and_content_parts_are_mapped(llamacpp_provider: LlamaCppProvider) -> None:
    messages = [
        {"role": "developer", "content": "Answer briefly."},
        {"role": "user", "content": [{"type": "text", "text": "What is the weather?"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "Sunny, 21 C."},
    ]
    response = await llamacpp_provider.complete(chat(messages=messages, max_tokens=8))
    assert response.usage is not None
    assert response.usage.prompt_tokens > 20


@pytest.mark.model
@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
        ({"logprobs": True}, "logprobs"),
        ({"logit_bias": {"999999999": 5}}, "logit_bias"),
        ({"logit_bias": {"2": 500}}, "logit_bias"),
        ({"logit_bias": "no"}, "logit_bias"),
        ({"response_format": {"type": "xml"}}, "response_format"),
    ],
)
async def test_unsupported_parameters_are_invalid_requests(
    llamacpp_provider: LlamaCppProvider, params: dict[str, Any], param: str
) -> None:
    before = llamacpp_provider.stats().finished
    with pytest.raises(InvalidRequest) as caught:
        await llamacpp_provider.complete(chat(**params))
    assert caught.value.param == param
    assert llamacpp_provider.stats().finished == before  # refused before any generation


QUESTION_LONG = "Tell me everything you know about the history of bread, in great detail."
CAT_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}
