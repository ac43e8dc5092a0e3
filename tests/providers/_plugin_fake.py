"""A provider plugin as a third party would write one (used by the registry tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from zonegate.config.schema import ModelConfig
from zonegate.providers.base import Capabilities, SecretResolver
from zonegate.wire.openai_chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest


class FakeProvider:
    def __init__(self, model_id: str, config: ModelConfig, secrets: SecretResolver) -> None:
        self.model_id = model_id
        self.config = config
        self.capabilities = Capabilities()

    async def start(self) -> None:
        pass

    async def complete(self, request: ChatCompletionRequest) -> ChatCompletion:
        raise NotImplementedError

    async def stream(self, request: ChatCompletionRequest) -> AsyncIterator[ChatCompletionChunk]:
        raise NotImplementedError
        yield  # pragma: no cover

    async def aclose(self) -> None:
        pass


def not_a_provider(model_id: str, config: ModelConfig, secrets: SecretResolver) -> object:
    return object()


NOT_CALLABLE = 42
