"""Hashed character n-grams: the classifier's features, shared by training and inference.

Every n-gram (``ngram_min`` to ``ngram_max`` code points) of the folded text is hashed into one
of ``2**bits`` buckets. The hash is a fixed function of the code points, computed with numpy
integer arithmetic (wrapping modulo 2**64), so it is the same on every machine and in every
process, unlike Python's randomised ``hash``:

    h = c0;  h = h * P + c_k  for each next code point       (polynomial, mod 2**64)
    x = (h + n) * M;  x ^= x >> 29;  x *= M;  x ^= x >> 32     (mix, n = n-gram length)
    bucket = x & (2**bits - 1)

Vectorised over the whole text, so a 2 KB text is hashed in tens of microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

HASH_VERSION: Final = "poly-mix64/1"
_P: Final = np.uint64(0x100000001B3)
_M: Final = np.uint64(0x9E3779B97F4A7C15)
_S29: Final = np.uint64(29)
_S32: Final = np.uint64(32)

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """How text becomes bucket indices; recorded in the model file and checked on load."""

    bits: int
    ngram_min: int
    ngram_max: int

    def __post_init__(self) -> None:
        if not 8 <= self.bits <= 26:
            raise ValueError(f"bits must be in 8..26, got {self.bits}")
        if not 1 <= self.ngram_min <= self.ngram_max <= 12:
            raise ValueError(f"bad n-gram range {self.ngram_min}..{self.ngram_max}")

    @property
    def size(self) -> int:
        return 1 << self.bits


def codepoints(folded: str) -> npt.NDArray[np.uint64]:
    """The code points of ``folded`` as unsigned 64-bit integers."""
    return np.frombuffer(folded.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def buckets_by_length(folded: str, spec: FeatureSpec) -> list[IntArray]:
    """For each n in ``ngram_min..ngram_max``, the bucket of the n-gram starting at each position.

    Element ``k`` has ``len(folded) - n + 1`` entries (none when the text is shorter than n).
    """
    c = codepoints(folded)
    mask = np.uint64(spec.size - 1)
    out: list[IntArray] = []
    cur = c
    for n in range(1, spec.ngram_max + 1):
        if n > 1:
            cur = cur[:-1] * _P + c[n - 1 :]
        if n < spec.ngram_min:
            continue
        x = (cur + np.uint64(n)) * _M
        x ^= x >> _S29
        x *= _M
        x ^= x >> _S32
        out.append((x & mask).astype(np.int64))
    return out


def buckets(folded: str, spec: FeatureSpec) -> IntArray:
    """All n-gram buckets of ``folded`` in one array (a bag: repeats are kept)."""
    parts = buckets_by_length(folded, spec)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
