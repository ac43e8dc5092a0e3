"""Request transforms and response restoration: time per request on a 2 KB chat body.

The body has 5 findings (3 emails, 1 card, 1 API key) spread over system, user, assistant
tool-call arguments, tool result and metadata. Measured two ways: three small regex detectors run
on each raw text, and the gateway's Classifier over the installed built-in detectors (what the
gateway uses: the transform asks the classifier, so it replaces exactly what classification
found). Beside each, the scan alone over the same texts, so the transform's own cost is visible.

     python benchmarks/transforms.py [--iterations 20000]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

from zonegate.guards.base import Detector, Finding
from zonegate.guards.classify import Classifier, collect_texts
from zonegate.guards.registry import available_detectors
from zonegate.guards.transforms import RequestTransformer
from zonegate.guards.transforms.scanning import DetectorScanner, Scanner
from zonegate.policy.classes import DataClasses

ACTIONS = {"confidential": "pseudonymise", "restricted": "pseudonymise", "secret": "redact"}
FILLER = (
    "The quarterly report covers revenue, churn and the support backlog for the northern "
    "region; please keep the summary short and list open questions at the end. "
)


class _Regex:
    def __init__(self, type_: str, pattern: str, data_class: str) -> None:
        self.type = type_
        self._pattern = re.compile(pattern)
        self._class = data_class

    def detect(self, text: str) -> list[Finding]:
        return [
            Finding(self.type, m.start(), m.end(), self._class)
            for m in self._pattern.finditer(text)
        ]


def body() -> dict[str, Any]:
    args = json.dumps({"to": "alice@example.com", "subject": "invoice", "body": FILLER[:200]})
    data = {
        "model": "support",
        "messages": [
            {"role": "system", "content": "You are a careful support assistant. " + FILLER * 3},
            {
                "role": "user",
                "content": FILLER + "Customer bob@example.org paid with 4111 1111 1111 1111.",
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "send", "arguments": args},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "queued. " + FILLER * 3},
            {
                "role": "user",
                "content": "Use key sk-proj-abcdefghijklmnopqrstuvwx for the API. " + FILLER,
            },
        ],
        "metadata": {"requester": "carol@example.net"},
        "temperature": 0.2,
    }
    return data


def timed(fn: Callable[[], object], iterations: int) -> tuple[float, float]:
    samples = []
    for _ in range(iterations):
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
    samples.sort()
    return statistics.median(samples) / 1000, samples[int(len(samples) * 0.99)] / 1000


def builtins() -> list[Detector]:
    classes = {"email": "confidential", "payment_card": "restricted", "api_key": "secret"}
    out: list[Detector] = []
    for name, ep in sorted(available_detectors().items()):
        try:
            out.append(ep.load()(data_class=classes.get(name, "restricted")))
        except Exception as exc:  # the installed set may be mid-change; report and go on
            print(f"  (skipped detector {name}: {type(exc).__name__})")
    return out


def report(name: str, scanner: Scanner, iterations: int) -> None:
    data = body()
    transformer = RequestTransformer(scanner)
    result = transformer.transform(data, ACTIONS)
    texts = collect_texts(data)

    def detect_only() -> None:
        scanner.classify(texts)

    found = scanner.classify(texts)
    t_med, t_p99 = timed(lambda: transformer.transform(data, ACTIONS), iterations)
    r_med, r_p99 = timed(lambda: transformer.transform(data, ACTIONS, found), iterations)
    d_med, d_p99 = timed(detect_only, iterations)
    print(f"{name}: findings replaced {result.counts}")
    print(f"  transform       p50 {t_med:7.1f} us   p99 {t_p99:7.1f} us")
    print(f"  scan only       p50 {d_med:7.1f} us   p99 {d_p99:7.1f} us")
    print(f"  transform beyond the scan: p50 {t_med - d_med:6.1f} us")
    print(
        f"  transform reusing the request's classification p50 {r_med:6.1f} us  p99 {r_p99:6.1f} us"
    )
    if result.pseudonyms is not None:
        pseudonyms = result.pseudonyms
        reply = ("Sure, I will write to <EMAIL_1> and <EMAIL_2> about <PAYMENT_CARD_1>. " * 8)[:600]
        x_med, _ = timed(lambda: pseudonyms.restore(reply), iterations)

        def streamed() -> None:
            restorer = pseudonyms.stream_restorer()
            for i in range(0, len(reply), 4):
                restorer.feed(reply[i : i + 4])
            restorer.flush()

        s_med, _ = timed(streamed, max(iterations // 10, 100))
        print(f"  restore a 600-char reply p50 {x_med:6.1f} us")
        print(f"  the same streamed in 4-char chunks p50 {s_med:6.1f} us")
        print(f"  stream hold-back bound: {pseudonyms.max_hold} chars (bytes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20000)
    args = parser.parse_args()
    size = len(json.dumps(body()).encode())
    print(f"request body: {size} bytes")
    fakes: list[Detector] = [
        _Regex(
            "email",
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[a-z]{2,}",
            "confidential",
        ),
        _Regex("payment_card", r"\b4[0-9]{3}(?:[ -]?[0-9]{4}){3}\b", "restricted"),
        _Regex("api_key", r"sk-[A-Za-z0-9-]{16,}", "secret"),
    ]
    report("3 regex detectors on raw texts", DetectorScanner(fakes), args.iterations)
    detectors = builtins()
    classes = DataClasses(["public", "internal", "confidential", "restricted", "secret"])
    report(
        f"Classifier, {len(detectors)} built-in detectors",
        Classifier(detectors, classes),
        args.iterations,
    )


if __name__ == "__main__":
    main()
