"""The shipped classifier's file format: gzip-compressed JSON, self-describing, reproducible.

The file holds everything inference needs (feature spec, intercept, non-zero weights by bucket,
the decision threshold, the sliding-window size) and everything needed to rebuild or audit it
(the SHA-256 of the training and validation data, training parameters, library versions, date).
Arrays are little-endian bytes in base64: bucket indices as delta-encoded uint32 (sorted), weights
as float32. Written with sorted keys and a zero gzip timestamp, so the same model gives the same
bytes. Reading needs only numpy; no scikit-learn, no pickle.
"""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from zonegate.guards.injection.features import HASH_VERSION, FeatureSpec
from zonegate.guards.injection.views import FOLD_VERSION

FORMAT: Final = "zonegate-injection-model/1"
MODEL_FILENAME: Final = "injection_model.json.gz"


class ModelFileError(ValueError):
    """The model file is missing, corrupt, or was built for different feature code."""


@dataclass(frozen=True, slots=True)
class ModelData:
    """A linear model over hashed n-grams, with the provenance recorded beside it."""

    spec: FeatureSpec
    intercept: float
    buckets: npt.NDArray[np.int64]
    weights: npt.NDArray[np.float32]
    threshold: float
    window_threshold: float
    window: int
    stride: int
    provenance: dict[str, Any]

    def dense_weights(self) -> npt.NDArray[np.float32]:
        """The weight of every bucket (zero where the model kept none)."""
        table = np.zeros(self.spec.size, dtype=np.float32)
        table[self.buckets] = self.weights
        return table


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def encode(model: ModelData) -> bytes:
    """The file's bytes for ``model`` (deterministic)."""
    order = np.argsort(model.buckets, kind="stable")
    idx = model.buckets[order].astype(np.int64)
    if idx.size and (idx[0] < 0 or idx[-1] >= model.spec.size or np.any(np.diff(idx) == 0)):
        raise ModelFileError("bucket indices must be unique and within the hash space")
    deltas = np.diff(idx, prepend=0).astype("<u4")
    doc = {
        "format": FORMAT,
        "features": {
            "fold": FOLD_VERSION,
            "hash": HASH_VERSION,
            "bits": model.spec.bits,
            "ngram_min": model.spec.ngram_min,
            "ngram_max": model.spec.ngram_max,
        },
        "intercept": model.intercept,
        "threshold": model.threshold,
        "window": {
            "chars": model.window,
            "stride": model.stride,
            "threshold": model.window_threshold,
        },
        "buckets": _b64(deltas.tobytes()),
        "weights": _b64(model.weights[order].astype("<f4").tobytes()),
        "provenance": model.provenance,
    }
    text = json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=True) + "\n"
    return gzip.compress(text.encode("ascii"), compresslevel=9, mtime=0)


def _need(doc: dict[str, Any], key: str, kind: type) -> Any:
    value = doc.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ModelFileError(f"field {key!r} is missing or not a {kind.__name__}")
    return value


def decode(data: bytes, *, source: str = "<bytes>") -> ModelData:
    """Parse and check a model file; ``ModelFileError`` says what is wrong and how to fix it."""
    try:
        doc = json.loads(gzip.decompress(data))
    except (OSError, EOFError, ValueError) as exc:
        raise ModelFileError(f"{source}: not a gzip-compressed JSON model file ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(f"{source}: unknown model format (expected {FORMAT!r})")
    try:
        feats = _need(doc, "features", dict)
        expected = {"fold": FOLD_VERSION, "hash": HASH_VERSION}
        for key, want in expected.items():
            if feats.get(key) != want:
                raise ModelFileError(
                    f"{source}: trained with {key} {feats.get(key)!r}, this code computes "
                    f"{want!r}; rebuild it with scripts/train_injection.py"
                )
        spec = FeatureSpec(
            _need(feats, "bits", int),
            _need(feats, "ngram_min", int),
            _need(feats, "ngram_max", int),
        )
        deltas = np.frombuffer(base64.b64decode(_need(doc, "buckets", str)), dtype="<u4")
        weights = np.frombuffer(base64.b64decode(_need(doc, "weights", str)), dtype="<f4")
        window = _need(doc, "window", dict)
        model = ModelData(
            spec=spec,
            intercept=float(_need(doc, "intercept", float)),
            buckets=np.cumsum(deltas.astype(np.int64)),
            weights=weights.astype(np.float32),
            threshold=float(_need(doc, "threshold", float)),
            window_threshold=float(_need(window, "threshold", float)),
            window=_need(window, "chars", int),
            stride=_need(window, "stride", int),
            provenance=_need(doc, "provenance", dict),
        )
    except (ValueError, TypeError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"{source}: invalid model file ({exc})") from exc
    model.buckets.flags.writeable = False
    model.weights.flags.writeable = False
    if model.buckets.shape != model.weights.shape:
        raise ModelFileError(
            f"{source}: {model.buckets.size} buckets but {model.weights.size} weights"
        )
    if model.buckets.size and model.buckets[-1] >= spec.size:
        raise ModelFileError(f"{source}: bucket index outside the {spec.bits}-bit hash space")
    thresholds_ok = 0.0 < model.threshold < 1.0 and 0.0 < model.window_threshold < 1.0
    if not thresholds_ok or model.window < 16 or not 0 < model.stride <= model.window:
        raise ModelFileError(f"{source}: threshold or window settings out of range")
    if not np.all(np.isfinite(model.weights)) or not np.isfinite(model.intercept):
        raise ModelFileError(f"{source}: non-finite weights")
    return model
