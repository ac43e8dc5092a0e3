"""Inference for the shipped injection classifier: a linear model over hashed n-grams.

For a text whose folded form has ``N`` n-gram occurrences with buckets ``b_1..b_N``, the model's
log-odds are ``z = intercept + sum(w[b_i]) / sqrt(N)``: term counts scaled by the square root of
their total, exactly the transform the training script applies before logistic regression.

Every text is scored whole, as in training, against ``threshold``. A text longer than ``window``
characters is also scored in sliding windows (step ``stride``) against its own, stricter
``window_threshold`` (a long benign text has many windows, each a chance of a false alarm), so
one injected sentence in a long tool result is not averaged away. Window sums come from
cumulative sums, so scoring stays linear in the text length. Both thresholds are tuned on
validation data by the training script.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from zonegate.guards.injection.features import buckets_by_length
from zonegate.guards.injection.model_file import MODEL_FILENAME, ModelData, ModelFileError, decode
from zonegate.guards.injection.views import fold


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


class InjectionClassifier:
    """The loaded model; immutable and safe to share between concurrent requests."""

    __slots__ = ("_shift", "_table", "_window_shift", "model")

    def __init__(self, model: ModelData) -> None:
        self.model = model
        self._table: npt.NDArray[np.float32] = model.dense_weights()
        self._table.flags.writeable = False
        self._shift = _logit(model.threshold)
        self._window_shift = _logit(model.window_threshold)

    @classmethod
    def load(cls) -> InjectionClassifier:
        """The model shipped inside the package."""
        ref = resources.files("zonegate.guards.injection").joinpath(MODEL_FILENAME)
        try:
            data = ref.read_bytes()
        except OSError as exc:
            raise ModelFileError(
                f"the shipped injection model {MODEL_FILENAME} is missing from the installed "
                "package; reinstall zonegate or rebuild it with scripts/train_injection.py"
            ) from exc
        return cls(decode(data, source=MODEL_FILENAME))

    @classmethod
    def from_path(cls, path: Path) -> InjectionClassifier:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelFileError(f"{path}: cannot read the injection model ({exc})") from exc
        return cls(decode(data, source=str(path)))

    def log_odds(self, text: str) -> tuple[float, float | None]:
        """Log-odds of the whole text, and the highest window's (``None`` if one window fits).

        Minus infinity when the folded text has no words at all.
        """
        model = self.model
        folded = fold(text)
        if folded.isspace():
            # Nothing left to read (empty, or only long blobs): no evidence either way.
            return -math.inf, None
        length = len(folded)
        sums = np.zeros(length, dtype=np.float64)
        counts = np.zeros(length, dtype=np.float64)
        table = self._table
        for idx in buckets_by_length(folded, model.spec):
            sums[: idx.size] += table[idx]
            counts[: idx.size] += 1.0
        total = float(counts.sum())
        whole = model.intercept + (float(sums.sum()) / math.sqrt(total) if total else 0.0)
        if length <= model.window:
            return whole, None
        cum_s = np.concatenate(([0.0], np.cumsum(sums)))
        cum_n = np.concatenate(([0.0], np.cumsum(counts)))
        last = length - model.window
        starts = np.arange(0, last + 1, model.stride)
        if starts[-1] != last:
            starts = np.append(starts, last)
        ends = starts + model.window
        window_s = cum_s[ends] - cum_s[starts]
        window_n = cum_n[ends] - cum_n[starts]
        return whole, model.intercept + float(np.max(window_s / np.sqrt(window_n)))

    def score(self, text: str) -> float:
        """0..1, where 0.5 is the decision boundary: the whole text at ``threshold`` or any
        window at ``window_threshold``, whichever is further past its own."""
        whole, window = self.log_odds(text)
        best = _sigmoid(whole - self._shift)
        if window is not None:
            best = max(best, _sigmoid(window - self._window_shift))
        return best
