"""Train the shipped prompt-injection classifier from the S-Labs data, reproducibly.

    .venv/bin/python scripts/train_injection.py          # train, write the package's model file
    .venv/bin/python scripts/train_injection.py --check  # rebuild, compare with the shipped one

Needs scikit-learn and scipy (training only; the gateway reads the result with numpy alone).
The data is ``../shared/datasets/injection/s-labs/{train,validation}.csv`` beside the clone
(``--data`` to point elsewhere). The test split is never read here.

What it does, all deterministic:
1. Checks the SHA-256 of train.csv and validation.csv (and of the extra benign corpus) against
   the hashes recorded in the shipped model; refuses different data unless ``--force`` (the
   shipped numbers would silently change).
2. Adds docstring paragraphs of half of a fixed list of standard-library modules as extra benign
   examples (``benign_corpus.TRAIN_MODULES``; ``--no-augment`` leaves them out). Without them the
   model flags about half of ordinary documentation as injection: the S-Labs benign class is
   short questions only. The benchmark measures false alarms on the other half.
3. For each setting in a small grid (n-gram range, regularisation ``C``, number of weights kept):
   hashed character n-gram counts scaled by 1/sqrt(total), L2 logistic regression (liblinear),
   keep the largest weights, refit on those buckets only. Each is scored on validation by its
   best F1 over thresholds 0.05..0.95; the best setting wins (ties: fewer weights, smaller C).
4. Picks the sliding-window size and its threshold for long texts: validation injections are
   embedded in ~1.5 KB documents of docstring paragraphs of ``benign_corpus.TUNE_MODULES``
   (fixed seed), beside as many clean documents; the setting that finds the most of them while
   flagging at most 2% of the clean ones (and costing no plain validation F1) wins.
5. Writes the model file with data hashes, parameters, library versions, metrics and date.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import random
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from zonegate.guards.injection import benign_corpus  # noqa: E402
from zonegate.guards.injection.classifier import InjectionClassifier  # noqa: E402
from zonegate.guards.injection.features import FeatureSpec, buckets  # noqa: E402
from zonegate.guards.injection.model_file import (  # noqa: E402
    MODEL_FILENAME,
    ModelData,
    ModelFileError,
    decode,
    encode,
)
from zonegate.guards.injection.views import fold  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "injection" / "s-labs"
DEFAULT_OUT = REPO / "src" / "zonegate" / "guards" / "injection" / MODEL_FILENAME
SPLITS = ("train.csv", "validation.csv")
BITS = 20
NGRAMS = ((2, 5), (2, 6))
CS = (1.0, 3.0, 10.0)
KEEPS = (10_000, 20_000)
WINDOWS = (64, 96, 128, 192, 256)
WINDOW_THRESHOLDS = tuple(round(0.5 + 0.005 * i, 3) for i in range(100))
MAX_DOC_FP = 0.02
THRESHOLDS = tuple(round(0.05 + 0.01 * i, 2) for i in range(91))
SEED = 20241124


@dataclass(frozen=True)
class Split:
    texts: list[str]
    labels: npt.NDArray[np.int64]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_split(path: Path) -> Split:
    texts: list[str] = []
    labels: list[int] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            if row.get("label") not in ("0", "1") or row.get("text") is None:
                raise SystemExit(f"{path}:{n}: expected columns text,label with label 0 or 1")
            texts.append(row["text"])
            labels.append(int(row["label"]))
    return Split(texts, np.array(labels, dtype=np.int64))


def design(texts: list[str], spec: FeatureSpec) -> Any:
    """Sparse count matrix over hashed n-grams, rows scaled by 1/sqrt(total count)."""
    from scipy import sparse

    rows, cols, scale = [], [], []
    for i, text in enumerate(texts):
        idx = buckets(fold(text), spec)
        rows.append(np.full(idx.size, i, dtype=np.int64))
        cols.append(idx)
        scale.append(1.0 / np.sqrt(idx.size) if idx.size else 0.0)
    r, c = np.concatenate(rows), np.concatenate(cols)
    counts = sparse.csr_matrix(
        (np.ones(r.size), (r, c)), shape=(len(texts), spec.size), dtype=np.float64
    )
    counts.sum_duplicates()
    return sparse.diags(np.array(scale)) @ counts


def f1_at(labels: npt.NDArray[np.int64], probs: npt.NDArray[np.float64], t: float) -> float:
    pred = probs >= t
    tp = int(np.sum(pred & (labels == 1)))
    fp = int(np.sum(pred & (labels == 0)))
    fn = int(np.sum(~pred & (labels == 1)))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def best_threshold(
    labels: npt.NDArray[np.int64], probs: npt.NDArray[np.float64]
) -> tuple[float, float]:
    scored = [(f1_at(labels, probs, t), -abs(t - 0.5), t) for t in THRESHOLDS]
    f1, _, t = max(scored)
    return t, f1


def fit(x: Any, y: npt.NDArray[np.int64], c: float) -> tuple[npt.NDArray[np.float64], float]:
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=c, solver="liblinear", max_iter=5000, tol=1e-6, random_state=0)
    lr.fit(x, y)
    return lr.coef_[0].astype(np.float64), float(lr.intercept_[0])


def grid(train: Split, val: Split) -> tuple[dict[str, Any], ModelData, list[dict[str, Any]]]:
    results: list[dict[str, Any]] = []
    best: tuple[tuple[float, int, float], dict[str, Any], ModelData] | None = None
    for lo, hi in NGRAMS:
        spec = FeatureSpec(BITS, lo, hi)
        xt, xv = design(train.texts, spec), design(val.texts, spec)
        for c in CS:
            full, _ = fit(xt, train.labels, c)
            order = np.argsort(-np.abs(full), kind="stable")
            for keep in KEEPS:
                cols = np.sort(order[:keep])
                coef, icpt = fit(xt[:, cols], train.labels, c)
                z = xv[:, cols] @ coef + icpt
                probs = 1.0 / (1.0 + np.exp(-z))
                t, f1 = best_threshold(val.labels, probs)
                row = {
                    "ngram": [lo, hi],
                    "C": c,
                    "keep": keep,
                    "threshold": t,
                    "val_f1": round(f1, 4),
                }
                results.append(row)
                print(f"  ngram {lo}-{hi} C={c:<4} keep={keep:<6} t={t:.2f} val F1={f1:.4f}")
                nz = coef != 0
                model = ModelData(
                    spec, icpt, cols[nz].astype(np.int64), coef[nz].astype(np.float32),
                    t, t, 1 << 30, 1, {},
                )  # fmt: skip
                key = (round(f1, 6), -keep, -c)
                if best is None or key > best[0]:
                    best = (key, row, model)
    assert best is not None
    return best[1], best[2], results


def embedded(val: Split, filler: list[str], seed: int) -> Split:
    """Validation injections inside ~1.5 KB documents of ``filler``; as many clean documents."""
    rng = random.Random(seed)  # noqa: S311 (seeded on purpose: the documents must be reproducible)
    benign = filler
    attacks = [t for t, y in zip(val.texts, val.labels, strict=True) if y == 1]

    def document() -> list[str]:
        parts: list[str] = []
        while sum(len(p) + 2 for p in parts) < 1500:
            parts.append(rng.choice(benign))
        return parts

    texts: list[str] = []
    labels: list[int] = []
    for attack in attacks:
        doc = document()
        doc.insert(rng.randrange(len(doc) + 1), attack)
        texts.append("\n".join(doc))
        labels.append(1)
        texts.append("\n".join(document()))
        labels.append(0)
    return Split(texts, np.array(labels, dtype=np.int64))


def with_window(model: ModelData, chars: int, threshold: float, prov: dict[str, Any]) -> ModelData:
    return ModelData(
        model.spec, model.intercept, model.buckets, model.weights, model.threshold,
        threshold, chars, max(1, chars // 8), prov,
    )  # fmt: skip


def choose_window(
    model: ModelData, val: Split, filler: list[str]
) -> tuple[int, float, list[dict[str, Any]]]:
    """Window size and threshold: the most injections found in long documents while at most
    ``MAX_DOC_FP`` of clean documents are flagged and plain validation F1 does not drop.

    A text counts as flagged when its whole-text score passes ``threshold`` or any window
    passes the window threshold (exactly what ``InjectionClassifier.score`` does).
    """
    docs = embedded(val, filler, SEED)
    texts = docs.texts + val.texts
    n_docs = len(docs.texts)
    t_whole = float(np.log(model.threshold / (1 - model.threshold)))
    rows: list[dict[str, Any]] = []
    for w in WINDOWS:
        clf = InjectionClassifier(with_window(model, w, 0.5, {}))
        odds = [clf.log_odds(t) for t in texts]
        whole = np.array([o[0] for o in odds])
        win = np.array([-np.inf if o[1] is None else o[1] for o in odds])
        base_f1 = f1_at(val.labels, (whole[n_docs:] >= t_whole).astype(float), 0.5)
        best: dict[str, Any] | None = None
        for t_long in WINDOW_THRESHOLDS:
            flagged = (whole >= t_whole) | (win >= np.log(t_long / (1 - t_long)))
            on_docs, on_val = flagged[:n_docs], flagged[n_docs:]
            recall = float(on_docs[docs.labels == 1].mean())
            doc_fp = float(on_docs[docs.labels == 0].mean())
            val_f1 = f1_at(val.labels, on_val.astype(float), 0.5)
            if doc_fp > MAX_DOC_FP or val_f1 < base_f1 - 1e-9:
                continue
            if best is None or recall > best["embedded_recall"]:
                best = {"chars": w, "threshold": t_long, "embedded_recall": round(recall, 4),
                        "embedded_fp": round(doc_fp, 4), "val_f1": round(val_f1, 4)}  # fmt: skip
        if best is None:
            best = {"chars": w, "threshold": WINDOW_THRESHOLDS[-1], "embedded_recall": 0.0}
        rows.append(best)
        print(f"  window {w:<4} {best}")
    chosen = max(rows, key=lambda r: (r["embedded_recall"], r["chars"]))
    return int(chosen["chars"]), float(chosen["threshold"]), rows


def recorded(out: Path) -> dict[str, Any] | None:
    """The provenance of the model at ``out``, or ``None`` if there is none yet."""
    if not out.exists():
        return None
    return decode(out.read_bytes(), source=str(out)).provenance


def data_changes(prov: dict[str, Any], data_dir: Path, augment: bool) -> list[str]:
    """What differs between the recorded training data and the data here."""
    changes = [
        f"{name}: SHA-256 differs from the recorded one"
        for name in SPLITS
        if prov.get("data", {}).get(name, {}).get("sha256") != sha256(data_dir / name)
    ]
    was = prov.get("extra_benign", {})
    if bool(was.get("used")) != augment:
        changes.append("extra benign docstrings: recorded model was trained "
                       + ("with" if was.get("used") else "without") + " them")  # fmt: skip
    elif any(was.get(k) != benign_extra(augment)[2].get(k) for k in ("sha256", "tune_sha256")):
        changes.append(f"extra benign docstrings differ (recorded from Python {was.get('python')};"
                       f" this is {'.'.join(map(str, sys.version_info[:3]))})")  # fmt: skip
    return changes


def benign_extra(augment: bool) -> tuple[list[str], list[str], dict[str, Any]]:
    """Extra benign training examples (none without ``augment``), the window-tuning filler
    (standard-library docstrings both), and how to identify them."""
    tune = benign_corpus.paragraphs(benign_corpus.TUNE_MODULES)
    info: dict[str, Any] = {
        "source": "CPython standard-library docstrings (PSF licence), read with ast",
        "python": ".".join(map(str, sys.version_info[:3])),
        "tune_modules": len(benign_corpus.TUNE_MODULES),
        "tune_paragraphs": len(tune),
        "tune_sha256": benign_corpus.digest(tune),
    }
    if not augment:
        return [], tune, {"used": False, **info}
    train = benign_corpus.paragraphs(benign_corpus.TRAIN_MODULES)
    return (
        train,
        tune,
        {
            "used": True,
            **info,
            "modules": len(benign_corpus.TRAIN_MODULES),
            "paragraphs": len(train),
            "sha256": benign_corpus.digest(train),
        },
    )


def build(data_dir: Path, date: str, augment: bool) -> bytes:
    import scipy
    import sklearn

    s_labs = read_split(data_dir / "train.csv")
    val = read_split(data_dir / "validation.csv")
    extra, tune, extra_info = benign_extra(augment)
    train = Split(
        s_labs.texts + extra, np.concatenate([s_labs.labels, np.zeros(len(extra), np.int64)])
    )
    print(f"train {len(s_labs.texts)} rows + {len(extra)} benign docstring paragraphs, "
          f"validation {len(val.texts)} rows")  # fmt: skip
    chosen, model, results = grid(train, val)
    window, t_long, window_rows = choose_window(model, val, tune)
    clf = InjectionClassifier(with_window(model, window, t_long, {}))
    probs = np.array([clf.score(t) for t in val.texts])
    pred = probs >= 0.5
    tp = int(np.sum(pred & (val.labels == 1)))
    provenance = {
        "date": date,
        "data": {
            name: {
                "sha256": sha256(data_dir / name),
                "rows": len(split.texts),
                "positives": int(split.labels.sum()),
            }
            for name, split in (("train.csv", s_labs), ("validation.csv", val))
        },
        "extra_benign": extra_info,
        "source": "S-Labs prompt-injection-dataset (MIT): trained on train, tuned on validation",
        "training": {
            "model": "L2 logistic regression (scikit-learn liblinear, random_state=0, tol=1e-6)",
            "features": "hashed char n-gram counts of the folded text, scaled by 1/sqrt(total)",
            "chosen": chosen,
            "grid": results,
            "windows": window_rows,
            "threshold_rule": "max validation F1 over 0.05..0.95 step 0.01",
        },
        "validation": {
            "precision": round(tp / max(1, int(pred.sum())), 4),
            "recall": round(tp / max(1, int(val.labels.sum())), 4),
            "f1": round(f1_at(val.labels, probs, 0.5), 4),
        },
        "versions": {
            "python": ".".join(map(str, sys.version_info[:3])),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
        },
    }
    final = with_window(model, window, t_long, provenance)
    return encode(final)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the S-Labs CSVs")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="model file to write")
    ap.add_argument("--force", action="store_true", help="train even if the data hash differs")
    ap.add_argument("--check", action="store_true", help="rebuild and compare, write nothing")
    ap.add_argument("--no-augment", action="store_true",
                    help="train on S-Labs only, without the extra benign docstrings")  # fmt: skip
    ap.add_argument("--date", help="date to record (default: today, UTC; --check: recorded)")
    args = ap.parse_args(argv)
    for name in SPLITS:
        if not (args.data / name).is_file():
            print(f"error: {args.data / name} not found; pass --data DIR", file=sys.stderr)
            return 2
    augment = not args.no_augment
    try:
        prov = recorded(args.out)
    except ModelFileError as exc:
        print(f"cannot read the recorded provenance: {exc}", file=sys.stderr)
        if args.check or not args.force:
            print("pass --force to overwrite it with a fresh model", file=sys.stderr)
            return 2
        prov = None
    if args.check and prov is not None:
        augment = bool(prov.get("extra_benign", {}).get("used"))
    changes = [] if prov is None else data_changes(prov, args.data, augment)
    if changes:
        print("\n".join(changes), file=sys.stderr)
        if args.check or not args.force:
            print(
                "refusing to train on different data; pass --force to do it anyway", file=sys.stderr
            )
            return 2
    date = args.date or datetime.now(UTC).date().isoformat()
    if args.check:
        if not args.out.exists():
            print(f"error: {args.out} does not exist; nothing to check", file=sys.stderr)
            return 2
        shipped = args.out.read_bytes()
        date = args.date or str(decode(shipped).provenance.get("date", date))
        rebuilt = build(args.data, date, augment)
        same = rebuilt == shipped
        print(
            "identical"
            if same
            else f"DIFFERENT: rebuilt {len(rebuilt)} bytes, shipped {len(shipped)}"
        )
        return 0 if same else 1
    data = build(args.data, date, augment)
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
