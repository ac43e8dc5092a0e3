"""The OpenAI wire types accept what real OpenAI-compatible servers send."""

from __future__ import annotations

from zonegate.wire.openai_chat import ChatCompletionChunk


def test_a_chunk_without_id_created_or_model_is_accepted() -> None:
    chunk = ChatCompletionChunk.model_validate_json('{"choices":[{"delta":{"content":"x"}}]}')
    assert chunk.choices[0].delta.content == "x"
    assert (chunk.id, chunk.created, chunk.model) == ("", 0, "")
