"""GGUF models run in-process by llama.cpp (llama-cpp-python): the embedded default.

Weights are verified against their pinned SHA-256 before they are loaded. A ``Llama`` instance is
not thread-safe, so the provider loads one instance per concurrency slot (``max_concurrency``)
and runs each generation on a dedicated thread pool; requests beyond that wait, in order, for a
free instance. The event loop never runs inference.

Every generation streams internally (the non-streaming ``complete`` assembles the chunks), so one
mechanism stops them all: the worker thread checks a stop flag between tokens and hands chunks to
the event loop through a small bounded buffer. When the consumer stops iterating (the client
disconnected, the task was cancelled), the flag is set and the thread ends within a token or two,
freeing its slot.

Token counts: llama-cpp-python reports no usage while streaming, so a logits processor counts
them. Prompt tokens are exact (the length of the evaluated prompt when the first token is
sampled). Completion tokens are the tokens sampled, less the end-of-generation token when the
finish reason is ``stop``; this is exact except when a caller's ``stop`` sequence (rather than the
model's end token) ended the text, where it is one lower than llama.cpp's own count.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import aclosing, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

import llama_cpp
import numpy as np
import numpy.typing as npt

from zonegate.config.schema import LlamaCppProviderConfig, ModelConfig
from zonegate.errors import InvalidRequest, UpstreamError, ZonegateError
from zonegate.providers.base import Capabilities, ProviderStartError, SecretResolver
from zonegate.providers.digest import (
    BUILTIN_WEIGHTS,
    expected_digest,
    resolve_model_path,
    verify_digest,
)
from zonegate.providers.llamacpp_embed import check_request, embedding_response
from zonegate.providers.llamacpp_request import chat_arguments
from zonegate.wire.openai_chat import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    Delta,
    Usage,
)
from zonegate.wire.openai_embeddings import EmbeddingRequest, EmbeddingResponse

# Chunks a generation may run ahead of its consumer before it pauses.
STREAM_BUFFER = 8
# How often a paused generation re-checks its stop flag, in seconds.
_PAUSE_POLL = 0.05
_OVERFLOW = re.compile(r"Requested tokens \((\d+)\) exceed context window of (\d+)")
_END = object()


@dataclass(frozen=True)
class GenerationStats:
    """Counters over the provider's lifetime (for metrics, and to observe cancellation)."""

    active: int = 0
    finished: int = 0
    cancelled: int = 0
    tokens_sampled: int = 0


class _Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats = GenerationStats()

    def begin(self) -> None:
        with self._lock:
            s = self._stats
            self._stats = GenerationStats(s.active + 1, s.finished, s.cancelled, s.tokens_sampled)

    def end(self, sampled: int, *, cancelled: bool) -> None:
        with self._lock:
            s = self._stats
            self._stats = GenerationStats(
                s.active - 1,
                s.finished + 1,
                s.cancelled + int(cancelled),
                s.tokens_sampled + sampled,
            )

    def snapshot(self) -> GenerationStats:
        with self._lock:
            return self._stats


class _Generation:
    """One generation's controls, shared by the event loop and its worker thread.

    It is also the generation's logits processor: called once per sampled token, it counts
    tokens and applies the caller's ``logit_bias``.
    """

    def __init__(self, bias: dict[int, float]) -> None:
        self.stop = threading.Event()
        self.prompt_tokens = 0
        self.sampled = 0
        self._bias = (
            (np.fromiter(bias, dtype=np.intc), np.fromiter(bias.values(), dtype=np.single))
            if bias
            else None
        )

    def __call__(
        self, input_ids: npt.NDArray[np.intc], logits: npt.NDArray[np.single]
    ) -> npt.NDArray[np.single]:
        if self.sampled == 0:
            self.prompt_tokens = len(input_ids)
        self.sampled += 1
        if self._bias is not None:
            ids, amounts = self._bias
            logits[ids] += amounts
        return logits


class LlamaCppProvider:
    """A pinned GGUF model served in-process, with bounded concurrency and streaming."""

    def __init__(self, model_id: str, config: ModelConfig, secrets: SecretResolver) -> None:
        settings = config.provider
        if not isinstance(settings, LlamaCppProviderConfig):
            raise ProviderStartError(
                f"model {model_id!r}: LlamaCppProvider needs a 'llamacpp' provider config, "
                f"got {settings.type!r}"
            )
        self.model_id = model_id
        if settings.embeddings:
            self.capabilities = Capabilities(streaming=False, embeddings=True)
        else:
            self.capabilities = Capabilities(streaming=True, tools=False, json_mode=True)
        builtin = BUILTIN_WEIGHTS.get(settings.model_path)
        filename = builtin.filename if builtin is not None else settings.model_path
        # The name reported as the served model: the pinned version, else the weights' name.
        self.served_model = config.version or Path(filename).stem
        self._settings = settings
        self._counters = _Counters()
        self._instances: list[Any] = []
        self._free: asyncio.Queue[Any] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._running: set[_Generation] = set()
        self._n_vocab = 0

    def stats(self) -> GenerationStats:
        return self._counters.snapshot()

    async def start(self) -> None:
        """Verify the weights' digest, then load one instance per concurrency slot."""
        if self._free is not None:
            return
        settings = self._settings
        path = resolve_model_path(settings.model_path)
        expected = expected_digest(settings)
        await asyncio.to_thread(verify_digest, path, expected, model_id=self.model_id)
        self._instances = await asyncio.to_thread(self._load, path)
        self._n_vocab = int(self._instances[0].n_vocab())
        free: asyncio.Queue[Any] = asyncio.Queue()
        for llm in self._instances:
            free.put_nowait(llm)
        self._executor = ThreadPoolExecutor(
            max_workers=settings.max_concurrency,
            thread_name_prefix=f"llamacpp-{self.model_id}",
        )
        self._free = free

    async def aclose(self) -> None:
        for generation in self._running:
            generation.stop.set()
        executor, self._executor = self._executor, None
        instances, self._instances = self._instances, []
        self._free = None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True)
        for llm in instances:
            llm.close()

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """Embeddings of each input, on a free instance's thread (embeddings mode only)."""
        if not self._settings.embeddings:
            raise InvalidRequest(
                f"model {self.model_id!r} serves chat completions, not embeddings "
                "(set provider.embeddings: true on an embedding model)",
                code="embeddings_unsupported",
                param="model",
            )
        check_request(request, self.model_id)
        if self._free is None or self._executor is None:
            raise RuntimeError(f"provider for model {self.model_id!r} is not started")
        free, executor = self._free, self._executor
        llm = await free.get()
        try:
            raw = await asyncio.get_running_loop().run_in_executor(
                executor, llm.create_embedding, request.texts()
            )
        except ValueError as exc:
            raise self._map_error(exc) from exc
        finally:
            free.put_nowait(llm)
        return embedding_response(raw, request, self.served_model)

    async def complete(self, request: ChatCompletionRequest) -> ChatCompletion:
        parts: list[str] = []
        finish_reason: str | None = None
        usage: Usage | None = None
        last: ChatCompletionChunk | None = None
        async with aclosing(self.stream(request)) as chunks:
            async for chunk in chunks:
                last = chunk
                usage = chunk.usage or usage
                for choice in chunk.choices:
                    if choice.delta.content:
                        parts.append(choice.delta.content)
                    finish_reason = choice.finish_reason or finish_reason
        if last is None:  # the worker always sends at least a usage chunk or an error
            raise UpstreamError(f"model {self.model_id!r} produced no output")
        return ChatCompletion(
            id=last.id,
            created=last.created,
            model=self.served_model,
            choices=[
                Choice(
                    message=AssistantMessage(content="".join(parts)), finish_reason=finish_reason
                )
            ],
            usage=usage,
        )

    async def stream(
        self, request: ChatCompletionRequest
    ) -> AsyncGenerator[ChatCompletionChunk, None]:
        """Chunks as the model produces them, then a usage chunk; closing stops generation."""
        if self._free is None or self._executor is None:
            raise RuntimeError(f"provider for model {self.model_id!r} is not started")
        if self._settings.embeddings:
            raise InvalidRequest(
                f"model {self.model_id!r} serves embeddings only; use it with /v1/embeddings",
                code="chat_unsupported",
                param="model",
            )
        arguments, bias = chat_arguments(
            request, model_id=self.model_id, served_model=self.served_model, n_vocab=self._n_vocab
        )
        free, executor = self._free, self._executor
        loop = asyncio.get_running_loop()
        items: asyncio.Queue[object] = asyncio.Queue()
        credits = threading.Semaphore(STREAM_BUFFER)
        generation = _Generation(bias)
        llm = await free.get()
        try:
            future = executor.submit(
                self._generate, llm, arguments, generation, partial(_emit, loop, items), credits
            )
        except BaseException:
            free.put_nowait(llm)
            raise
        future.add_done_callback(partial(_give_back, loop, free, llm))
        self._running.add(generation)
        try:
            while True:
                item = await items.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                credits.release()
                yield cast(ChatCompletionChunk, item)
        finally:
            generation.stop.set()
            self._running.discard(generation)

    # -- worker thread ------------------------------------------------------------------------

    def _load(self, path: Path) -> list[Any]:
        settings = self._settings
        instances: list[Any] = []
        try:
            for _ in range(settings.max_concurrency):
                instances.append(
                    llama_cpp.Llama(
                        model_path=str(path),
                        n_ctx=settings.n_ctx,
                        n_threads=settings.n_threads,
                        seed=settings.seed,
                        verbose=False,
                        embedding=settings.embeddings,
                        pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN
                        if settings.embeddings
                        else llama_cpp.LLAMA_POOLING_TYPE_UNSPECIFIED,
                    )
                )
        except Exception as exc:
            for llm in instances:
                llm.close()
            raise ProviderStartError(
                f"cannot load the weights of {self.model_id!r} from {path}: {exc}"
            ) from exc
        return instances

    def _generate(
        self,
        llm: Any,
        arguments: dict[str, Any],
        generation: _Generation,
        emit: Callable[[object], None],
        credits: threading.Semaphore,
    ) -> None:
        self._counters.begin()
        finished = False
        chunks = None
        try:
            chunks = llm.create_chat_completion(
                **arguments,
                stream=True,
                logits_processor=llama_cpp.LogitsProcessorList([generation]),
            )
            finish_reason: str | None = None
            last_id, created = "", 0
            for raw in chunks:
                if generation.stop.is_set():
                    break
                last_id, created = raw["id"], raw["created"]
                choice = raw["choices"][0]
                delta = choice["delta"]
                finish_reason = choice["finish_reason"] or finish_reason
                chunk = ChatCompletionChunk(
                    id=last_id,
                    created=created,
                    model=self.served_model,
                    choices=[
                        ChunkChoice(
                            delta=Delta(role=delta.get("role"), content=delta.get("content")),
                            finish_reason=choice["finish_reason"],
                        )
                    ],
                )
                if not _wait_for_credit(credits, generation.stop):
                    break
                emit(chunk)
            else:
                finished = True
                completion = generation.sampled - (1 if finish_reason == "stop" else 0)
                emit(
                    ChatCompletionChunk(
                        id=last_id,
                        created=created,
                        model=self.served_model,
                        usage=Usage(
                            prompt_tokens=generation.prompt_tokens,
                            completion_tokens=completion,
                            total_tokens=generation.prompt_tokens + completion,
                        ),
                    )
                )
        except Exception as exc:
            emit(self._map_error(exc))
        finally:
            if chunks is not None:
                chunks.close()
            cancelled = generation.stop.is_set() and not finished
            self._counters.end(generation.sampled, cancelled=cancelled)
            emit(_END)

    def _map_error(self, exc: Exception) -> ZonegateError:
        if isinstance(exc, ValueError):
            overflow = _OVERFLOW.search(str(exc))
            if overflow is not None:
                prompt, n_ctx = overflow.groups()
                return InvalidRequest(
                    f"the prompt is {prompt} tokens, which does not fit the context window of "
                    f"model {self.model_id!r} ({n_ctx} tokens, n_ctx); shorten the conversation "
                    "or raise n_ctx",
                    code="context_length_exceeded",
                    param="messages",
                )
            return InvalidRequest(f"model {self.model_id!r} rejected the request: {exc}")
        return UpstreamError(
            f"local model {self.model_id!r} failed: {type(exc).__name__}: {exc}",
            code="local_model_error",
        )


def _wait_for_credit(credits: threading.Semaphore, stop: threading.Event) -> bool:
    """Block until the consumer has room for another chunk; False once it has gone away."""
    while not credits.acquire(timeout=_PAUSE_POLL):
        if stop.is_set():
            return False
    return not stop.is_set()


def _emit(loop: asyncio.AbstractEventLoop, items: asyncio.Queue[object], item: object) -> None:
    with suppress(RuntimeError):  # the loop is closed: nobody is listening any more
        loop.call_soon_threadsafe(items.put_nowait, item)


def _give_back(
    loop: asyncio.AbstractEventLoop, free: asyncio.Queue[Any], llm: Any, _done: Future[None]
) -> None:
    with suppress(RuntimeError):
        loop.call_soon_threadsafe(free.put_nowait, llm)
