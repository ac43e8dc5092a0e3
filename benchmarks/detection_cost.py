"""What detection adds to a chat request: the cost table of docs/detection.md.

    python benchmarks/detection_cost.py [--runs 30]

Classifies chat bodies (every built-in detector enabled, texts collected as the gateway collects
them) whose user message is plain prose, prose with a number every ~40 characters, or prose with
a piece of personal data or a secret every ~100 characters, at 200 B, 2 KB, 20 KB and 200 KB, and
prints the median and p99 per request and the throughput. The 0.5 ms goal is judged on the 2 KB
PII column. Numbers depend on the machine: compare runs made on the same one.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from zonegate.config.builtin import builtin_config
from zonegate.guards.classify import Classifier, collect_texts
from zonegate.guards.registry import load_detectors
from zonegate.policy.classes import DataClasses

SIZES = (200, 2_048, 20_480, 204_800)
GOAL_MS = 0.5
WORDS = (
    "the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "while", "we",
    "discuss", "the", "quarterly", "plan", "and", "budget", "for", "next", "year", "with", "the",
    "team", "in", "the", "usual", "meeting", "room", "after", "lunch",
)  # fmt: skip
PII = (
    "card 4111 1111 1111 1111",
    "call me at +44 20 7946 0958",
    "mail jane.doe@example.com",
    "IBAN DE89 3704 0044 0532 0130 00",
    "SSN 078-05-1120",
    "token ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "I live at 221 Baker Street, London",
    "born on 12/03/1984",
)


def _prose(rnd: random.Random, words: int) -> str:
    return " ".join(rnd.choice(WORDS) for _ in range(words))


def plain(size: int, seed: int) -> str:
    rnd = random.Random(seed)
    return _fill(size, lambda k: _prose(rnd, 12) + ". ")


def numbers(size: int, seed: int) -> str:
    rnd = random.Random(seed)
    return _fill(size, lambda k: _prose(rnd, 6) + f" {rnd.randint(1, 99_999)} ")


def personal(size: int, seed: int) -> str:
    rnd = random.Random(seed)
    return _fill(size, lambda k: _prose(rnd, 12) + f" {PII[k % len(PII)]}. ")


def _fill(size: int, piece: Callable[[int], str]) -> str:
    out: list[str] = []
    used = k = 0
    while used < size:
        chunk = piece(k)
        out.append(chunk)
        used += len(chunk)
        k += 1
    return "".join(out)[:size]


def measure(classifier: Classifier, make: Callable[[int, int], str], size: int, runs: int) -> str:
    bodies = [
        {"model": "m", "messages": [{"role": "user", "content": make(size, seed)}]}
        for seed in range(8)
    ]
    for body in bodies:  # warm-up
        classifier.classify(collect_texts(body))
    times: list[float] = []
    for _ in range(runs):
        for body in bodies:
            t0 = time.perf_counter()
            classifier.classify(collect_texts(body))
            times.append(time.perf_counter() - t0)
    times.sort()
    p50 = statistics.median(times)
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return f"{_ms(p50)} (p99 {_ms(p99)}, {size / p50 / 1e6:.1f} MB/s)"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="passes over 8 bodies per cell")
    args = parser.parse_args()
    config = builtin_config()
    classifier = Classifier(load_detectors(config), DataClasses(config.data_classes))
    columns = (
        ("plain prose", plain),
        ("prose with numbers", numbers),
        ("PII every ~100", personal),
    )
    print(f"{'request':<10}" + "".join(f"{name:<36}" for name, _ in columns))
    for size in SIZES:
        runs = max(3, args.runs * 2_048 // max(size, 2_048))
        cells = [measure(classifier, make, size, runs) for _, make in columns]
        print(f"{size:<10}" + "".join(f"{cell:<36}" for cell in cells))
    print(f"\ngoal: detection under {GOAL_MS} ms for a 2 KB request (PII column, p50)")


if __name__ == "__main__":
    main()
