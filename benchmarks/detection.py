"""Detection accuracy and speed: zonegate's built-in detectors against Presidio's AnalyzerEngine.

Both tools run in the same process on the same texts. Presidio is its pattern recognizers only:
its default English registry plus the national-id recognizers the generated corpus needs, with a
blank spaCy pipeline (``spacy.blank("en")``: tokenizer only, no model downloaded, so no NER).
zonegate is the built-in config's detectors through the gateway's ``Classifier`` (normalisation
included).

Three parts, each a printed table with the issue's targets beside the figures:
  1. precision/recall/F1 per pattern entity on presidio-research's ``synth_dataset_v2.json``
     (skipped, with a note, when the data set folder is absent);
  2. the same on a seeded Faker corpus (9 locales, adversarial formatting), plus recall per
     formatting variant;
  3. throughput (MB/s) and p50/p99 latency per request of 2 KB, 20 KB and 200 KB.

     python benchmarks/detection.py [--datasets ../shared/datasets] [--seed 7] [--per-locale 40]

``--errors PHONE_NUMBER`` prints zonegate's false positives and misses of that entity with some
text around each (to see why precision or recall is what it is); ``--no-speed`` skips part 3.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# tldextract (used by Presidio's email recognizer) would fetch the public suffix list over the
# network at import; an empty URL list makes it use the snapshot shipped in the package.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _detection_corpus import LOCALES, Sample, Span, generate

from zonegate.config.builtin import builtin_config
from zonegate.guards.classify import Classifier
from zonegate.guards.registry import load_detectors
from zonegate.policy.classes import DataClasses

REPO_ROOT = Path(__file__).resolve().parents[1]
SYNTH = Path("pii") / "presidio_synth_dataset_v2.json"

# zonegate finding type -> entity name used by the data sets (and by Presidio).
ZONEGATE_TO_ENTITY = {
    "email": "EMAIL_ADDRESS",
    "payment_card": "CREDIT_CARD",
    "iban": "IBAN_CODE",
    "us_ssn": "US_SSN",
    "phone_number": "PHONE_NUMBER",
    "ip_address": "IP_ADDRESS",
    "uk_nino": "UK_NINO",
    "it_fiscal_code": "IT_FISCAL_CODE",
    "es_dni": "ES_NIF",
    "nl_bsn": "NL_BSN",
    "fr_nir": "FR_NIR",
    "br_cpf": "BR_CPF",
    "in_aadhaar": "IN_AADHAAR",
    "in_pan": "IN_PAN",
}
# Entities of synth_dataset_v2 that both tools look for with patterns. The set's other labels
# are NER (PERSON, GPE, ...), free-form (STREET_ADDRESS, DATE_TIME) or have no zonegate detector
# (US_DRIVER_LICENSE).
SYNTH_ENTITIES = (
    "EMAIL_ADDRESS",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "PHONE_NUMBER",
    "IP_ADDRESS",
)
MATCH_RULE = (
    "a prediction is a true positive when it overlaps a gold span of the same entity; "
    "recall counts gold spans overlapped by at least one prediction of their entity; "
    "predictions of types outside the table are ignored"
)
SIZES = (2_000, 20_000, 200_000)
THROUGHPUT_FACTOR = 10.0
LATENCY_TARGET_MS = 0.5


# --- the two tools -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prediction:
    entity: str
    start: int
    end: int


Detect = Callable[[str], list[Prediction]]


def zonegate_tool() -> tuple[Detect, Detect]:
    """(labelled predictions, bare call for timing) over the built-in config's detectors."""
    config = builtin_config()
    classifier = Classifier(load_detectors(config), DataClasses(config.data_classes))

    def predict(text: str) -> list[Prediction]:
        out = []
        for located in classifier.classify([text]).findings:
            f = located.finding
            entity = ZONEGATE_TO_ENTITY.get(f.type)
            if entity is not None:
                out.append(Prediction(entity, f.start, f.end))
        return out

    def run(text: str) -> list[Prediction]:
        classifier.classify([text])
        return []

    return predict, run


def presidio_tool() -> tuple[Detect, Detect, frozenset[str]]:
    """(labelled predictions, bare call, entities it supports): patterns, blank spaCy pipeline."""
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        EsNifRecognizer,
        InAadhaarRecognizer,
        InPanRecognizer,
        ItFiscalCodeRecognizer,
        UkNinoRecognizer,
    )

    class BlankSpacyEngine(SpacyNlpEngine):  # type: ignore[misc]
        """spaCy's tokenizer only: nothing to download, no statistical model."""

        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}

    engine = BlankSpacyEngine(models=[{"lang_code": "en", "model_name": "blank"}])
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    for recognizer in (
        EsNifRecognizer,
        InAadhaarRecognizer,
        InPanRecognizer,
        ItFiscalCodeRecognizer,
    ):
        analyzer.registry.add_recognizer(recognizer(supported_language="en"))
    if not any(r.supported_entities == ["UK_NINO"] for r in analyzer.registry.recognizers):
        analyzer.registry.add_recognizer(UkNinoRecognizer())
    supported = frozenset(analyzer.get_supported_entities("en"))

    def predict(text: str) -> list[Prediction]:
        return [
            Prediction(r.entity_type, r.start, r.end)
            for r in analyzer.analyze(text=text, language="en")
        ]

    def run(text: str) -> list[Prediction]:
        analyzer.analyze(text=text, language="en")
        return []

    return predict, run, supported


# --- accuracy ------------------------------------------------------------------------------------


@dataclass
class Score:
    gold: int = 0
    found: int = 0  # gold spans overlapped by a prediction of their entity
    predicted: int = 0
    correct: int = 0  # predictions overlapping a gold span of their entity

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def score(
    items: Iterable[tuple[str, Sequence[Span]]], predict: Detect, entities: Sequence[str]
) -> tuple[dict[str, Score], dict[tuple[str, str], list[int]]]:
    """Scores per entity, and [found, gold] per (entity, formatting variant)."""
    wanted = set(entities)
    scores = {e: Score() for e in entities}
    variants: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for text, gold in items:
        preds = [p for p in predict(text) if p.entity in wanted]
        for span in gold:
            if span.entity not in wanted:
                continue
            hit = any(
                p.entity == span.entity and _overlaps((p.start, p.end), (span.start, span.end))
                for p in preds
            )
            scores[span.entity].gold += 1
            scores[span.entity].found += hit
            variants[span.entity, span.variant][0] += hit
            variants[span.entity, span.variant][1] += 1
        for p in preds:
            scores[p.entity].predicted += 1
            scores[p.entity].correct += any(
                s.entity == p.entity and _overlaps((p.start, p.end), (s.start, s.end)) for s in gold
            )
    return scores, variants


@dataclass(frozen=True, slots=True)
class Error:
    kind: str  # "FP" (a prediction overlapping no gold span of its entity) or "FN" (a missed span)
    text: str
    start: int
    end: int


def errors(
    items: Iterable[tuple[str, Sequence[Span]]], predict: Detect, entity: str
) -> list[Error]:
    """zonegate's false positives and false negatives of one entity, by the rule of ``score``."""
    out: list[Error] = []
    for text, gold in items:
        preds = [p for p in predict(text) if p.entity == entity]
        spans = [s for s in gold if s.entity == entity]
        for p in preds:
            if not any(_overlaps((p.start, p.end), (s.start, s.end)) for s in spans):
                out.append(Error("FP", text, p.start, p.end))
        for s in spans:
            if not any(_overlaps((p.start, p.end), (s.start, s.end)) for p in preds):
                out.append(Error("FN", text, s.start, s.end))
    return out


def print_errors(title: str, found: Sequence[Error], limit: int) -> None:
    """Each error as its value in [brackets] with 40 characters either side."""
    for kind in ("FP", "FN"):
        chosen = [e for e in found if e.kind == kind]
        print(f"\n{title}: {len(chosen)} {kind} (showing {min(limit, len(chosen))})")
        for e in chosen[:limit]:
            left = e.text[max(0, e.start - 40) : e.start]
            right = e.text[e.end : e.end + 40]
            print(f"  {kind} {left!a} [{e.text[e.start : e.end]!a}] {right!a}")


def load_synth(path: Path) -> list[tuple[str, list[Span]]]:
    rows: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return [
        (
            row["full_text"],
            [
                Span(s["entity_type"], s["start_position"], s["end_position"], "plain")
                for s in row["spans"]
            ],
        )
        for row in rows
    ]


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "NOT met")


def print_accuracy(
    title: str,
    zg: dict[str, Score],
    pr: dict[str, Score],
    presidio_entities: frozenset[str],
) -> None:
    print(f"\n## {title}")
    print(f"span rule: {MATCH_RULE}")
    print(
        "targets: recall >= Presidio's on every pattern entity; precision higher than Presidio's "
        "(equal at 1.000 counts as met: it cannot be higher)"
    )
    head = (
        f"{'entity':<15}{'gold':>6} | {'zg P':>6}{'zg R':>7}{'zg F1':>7}{'zg pred':>8} | "
        f"{'pr P':>6}{'pr R':>7}{'pr F1':>7}{'pr pred':>8} | {'recall>=':<9}{'precision>':<10}"
    )
    print(head)
    print("-" * len(head))
    for entity, z in zg.items():
        if z.gold == 0:
            continue
        if entity in presidio_entities:
            p = pr[entity]
            recall_ok: bool | None = z.recall >= p.recall
            precision_ok: bool | None = z.precision > p.precision or (
                z.precision == 1.0 and p.precision == 1.0
            )
            presidio_cols = f"{p.precision:>6.3f}{p.recall:>7.3f}{p.f1:>7.3f}{p.predicted:>8}"
        else:
            recall_ok = precision_ok = None
            presidio_cols = f"{'-':>6}{'-':>7}{'-':>7}{'-':>8}"
        print(
            f"{entity:<15}{z.gold:>6} | {z.precision:>6.3f}{z.recall:>7.3f}{z.f1:>7.3f}"
            f"{z.predicted:>8} | {presidio_cols} | {_verdict(recall_ok):<9}"
            f"{_verdict(precision_ok):<10}"
        )
    print("(pr '-' / n/a: Presidio has no recognizer for that entity)")


def print_variants(
    zg: dict[tuple[str, str], list[int]], pr: dict[tuple[str, str], list[int]]
) -> None:
    print("\nrecall per formatting variant (found/gold)")
    head = f"{'entity':<15}{'variant':<12}{'zonegate':>14}{'presidio':>14}"
    print(head)
    print("-" * len(head))
    for key in sorted(zg):
        z, p = zg[key], pr.get(key, [0, zg[key][1]])
        print(
            f"{key[0]:<15}{key[1]:<12}{f'{z[0]}/{z[1]} {z[0] / z[1]:.2f}':>14}"
            f"{f'{p[0]}/{p[1]} {p[0] / p[1]:.2f}':>14}"
        )


# --- speed ---------------------------------------------------------------------------------------


def build_texts(samples: Sequence[Sample], size: int, count: int) -> list[str]:
    """``count`` texts of about ``size`` UTF-8 bytes, made of corpus samples in rotating order."""
    texts = []
    n = len(samples)
    for k in range(count):
        parts: list[str] = []
        used = 0
        i = k * 7
        while used < size:
            text = samples[i % n].text
            parts.append(text)
            used += len(text.encode("utf-8"))
            i += 1
        texts.append("".join(parts).encode("utf-8")[:size].decode("utf-8", errors="ignore"))
    return texts


@dataclass(frozen=True, slots=True)
class Timing:
    runs: int
    mb_per_s: float
    p50_ms: float
    p99_ms: float


def measure(
    run: Detect, texts: Sequence[str], budget_s: float, max_runs: int, min_runs: int
) -> Timing:
    """Run over the texts in turn until the time budget or run cap is spent (``min_runs`` at
    least: Presidio takes seconds per 200 KB request, so its figures there rest on few runs)."""
    run(texts[0][:2000])  # warm-up (lazy initialisation, caches)
    sizes = [len(t.encode("utf-8")) for t in texts]
    times: list[float] = []
    total_bytes = 0
    deadline = time.perf_counter() + budget_s
    i = 0
    while i < max_runs and (i < min_runs or time.perf_counter() < deadline):
        k = i % len(texts)
        t0 = time.perf_counter()
        run(texts[k])
        times.append(time.perf_counter() - t0)
        total_bytes += sizes[k]
        i += 1
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    return Timing(
        len(times), total_bytes / sum(times) / 1e6, statistics.median(times) * 1e3, p99 * 1e3
    )


def print_speed(rows: list[tuple[int, Timing, Timing]]) -> None:
    print("\n## Speed: one request = one text, same texts for both tools, same run")
    print(
        f"targets: throughput >= {THROUGHPUT_FACTOR:.0f}x Presidio's; "
        f"detection < {LATENCY_TARGET_MS} ms for a 2 KB request (judged on p50; p99 shown)"
    )
    head = (
        f"{'size':>7} | {'zg runs':>7}{'zg MB/s':>9}{'zg p50':>10}{'zg p99':>10} | "
        f"{'pr runs':>7}{'pr MB/s':>9}{'pr p50':>10}{'pr p99':>10} | {'speedup':>8} "
        f"{'>=10x':<8}{'<0.5ms':<8}"
    )
    print(head + "   (latencies in ms)")
    print("-" * len(head))
    for size, z, p in rows:
        speedup = z.mb_per_s / p.mb_per_s
        latency = _verdict(z.p50_ms < LATENCY_TARGET_MS) if size == SIZES[0] else "n/a"
        print(
            f"{size // 1000:>5} KB | {z.runs:>7}{z.mb_per_s:>9.3f}{z.p50_ms:>10.3f}"
            f"{z.p99_ms:>10.3f} | "
            f"{p.runs:>7}{p.mb_per_s:>9.3f}{p.p50_ms:>10.1f}{p.p99_ms:>10.1f} | {speedup:>7.1f}x "
            f"{_verdict(speedup >= THROUGHPUT_FACTOR):<8}{latency:<8}"
        )


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        type=Path,
        default=REPO_ROOT.parent / "shared" / "datasets",
        help="folder holding pii/presidio_synth_dataset_v2.json (default: ../shared/datasets)",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated corpus")
    parser.add_argument(
        "--per-locale", type=int, default=40, help="generated samples per locale (default 40)"
    )
    parser.add_argument(
        "--budget", type=float, default=4.0, help="seconds per tool and size for timing"
    )
    parser.add_argument(
        "--errors",
        metavar="ENTITY",
        action="append",
        default=[],
        help="print zonegate's false positives and misses of ENTITY (PHONE_NUMBER...); repeatable",
    )
    parser.add_argument(
        "--errors-limit", type=int, default=40, help="errors shown per kind and set (default 40)"
    )
    parser.add_argument("--no-speed", action="store_true", help="skip the speed part")
    args = parser.parse_args()

    started = time.perf_counter()
    zg_predict, zg_run = zonegate_tool()
    pr_predict, pr_run, pr_entities = presidio_tool()
    print("# Detection benchmark: zonegate built-in detectors vs Presidio AnalyzerEngine")
    print(
        "Presidio: pattern recognizers (default English registry + ES_NIF, IT_FISCAL_CODE, "
        "IN_AADHAAR, IN_PAN, UK_NINO), blank spaCy pipeline (no NER), score threshold 0"
    )
    print("zonegate: built-in config's detectors through Classifier (normalisation included)")
    print(
        "type map (zonegate -> entity): "
        + ", ".join(f"{k}->{v}" for k, v in ZONEGATE_TO_ENTITY.items())
    )

    synth = args.datasets / SYNTH
    if synth.is_file():
        items = load_synth(synth)
        zg, _ = score(items, zg_predict, SYNTH_ENTITIES)
        pr, _ = score(items, pr_predict, SYNTH_ENTITIES)
        print_accuracy(
            f"1. {SYNTH.name} ({len(items)} texts, pattern entities only)", zg, pr, pr_entities
        )
        for entity in args.errors:
            print_errors(
                f"{SYNTH.name} {entity}", errors(items, zg_predict, entity), args.errors_limit
            )
    else:
        print(f"\n## 1. skipped: {synth} not found (pass --datasets DIR to include it)")

    samples = generate(args.seed, args.per_locale)
    entities = list(dict.fromkeys(s.entity for sample in samples for s in sample.spans))
    items = [(s.text, s.spans) for s in samples]
    zg, zg_var = score(items, zg_predict, entities)
    pr, pr_var = score(items, pr_predict, entities)
    print_accuracy(
        f"2. generated corpus (Faker, seed {args.seed}, {len(samples)} texts, locales "
        f"{', '.join(LOCALES)}; half the values adversarially formatted)",
        zg,
        pr,
        pr_entities,
    )
    print_variants(zg_var, pr_var)
    for entity in args.errors:
        print_errors(f"generated {entity}", errors(items, zg_predict, entity), args.errors_limit)
    if args.no_speed:
        print(f"\n(total run time {time.perf_counter() - started:.0f} s)")
        return

    rows = []
    for size in SIZES:
        texts = build_texts(samples, size, count=8 if size < 100_000 else 3)
        budget = args.budget if size < 100_000 else args.budget * 2
        min_runs = 5 if size < 100_000 else 3
        z = measure(zg_run, texts, budget, max_runs=20_000, min_runs=min_runs)
        p = measure(pr_run, texts, budget, max_runs=20_000, min_runs=min_runs)
        rows.append((size, z, p))
    print_speed(rows)
    print(f"\n(total run time {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
