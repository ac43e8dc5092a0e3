"""Embeddings from a llama.cpp model: mean-pooled, L2-normalised, in OpenAI's response shape.

Vectors are normalised to unit length (as OpenAI's are), so a dot product is the cosine
similarity clients expect. ``dimensions`` is refused: truncating a vector is only meaningful for
models trained for it, which a GGUF file does not declare.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from zonegate.errors import InvalidRequest, UpstreamError
from zonegate.wire.openai_embeddings import (
    Embedding,
    EmbeddingRequest,
    EmbeddingResponse,
    EmbeddingUsage,
)


def check_request(request: EmbeddingRequest, model_id: str) -> None:
    if request.dimensions is not None:
        raise InvalidRequest(
            f"model {model_id!r} cannot shorten its embeddings; leave 'dimensions' out",
            code="unsupported_parameter",
            param="dimensions",
        )


def embedding_response(
    raw: dict[str, Any], request: EmbeddingRequest, served_model: str
) -> EmbeddingResponse:
    """OpenAI's shape from llama-cpp-python's ``create_embedding`` result."""
    items = raw.get("data") or []
    if len(items) != len(request.texts()):
        raise UpstreamError(
            f"the local model returned {len(items)} embeddings for {len(request.texts())} inputs",
            code="local_model_error",
        )
    data = []
    for index, item in enumerate(items):
        vector = np.asarray(item["embedding"], dtype=np.float32)
        if vector.ndim != 1:
            raise UpstreamError(
                "the local model returned one vector per token, not one per input; it needs a "
                "pooling type (embeddings mode sets mean pooling)",
                code="local_model_error",
            )
        norm = float(np.linalg.norm(vector))
        if norm > 0:
            vector = vector / norm
        value: list[float] | str
        if request.encoding_format == "base64":
            value = base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
        else:
            value = vector.tolist()
        data.append(Embedding(index=index, embedding=value))
    tokens = int((raw.get("usage") or {}).get("prompt_tokens", 0))
    return EmbeddingResponse(
        data=data,
        model=served_model,
        usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens),
    )
