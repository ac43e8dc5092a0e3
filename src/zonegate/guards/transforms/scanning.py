"""What finds the values to replace: the classifier itself, or plain detectors.

A transform must replace everything classification found, or a value that set the data class
would leave unchanged. So the transformer takes the gateway's ``Classifier`` (anything with its
``classify(texts)`` shape) and asks it about the request's texts: findings come back with the
same normalisation, JSON decoding and detector set that classified the request, as spans of the
texts given. ``DetectorScanner`` is the plain alternative: each detector on each raw text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from zonegate.errors import ServiceUnavailable
from zonegate.guards.base import Detector, Finding


class Located(Protocol):
    """A finding and the index of the text it was found in (``LocatedFinding``'s shape)."""

    @property
    def text_index(self) -> int: ...

    @property
    def finding(self) -> Finding: ...


class Scanned(Protocol):
    """What a scan found (``Classification``'s shape; only ``findings`` is used)."""

    @property
    def findings(self) -> Sequence[Located]: ...


class Scanner(Protocol):
    """Finds values in texts, spans relative to each text; raises ``ServiceUnavailable``
    when it cannot (``Classifier`` is one)."""

    def classify(self, texts: Sequence[str]) -> Scanned: ...


class _Located(NamedTuple):
    text_index: int
    finding: Finding


class _Scanned(NamedTuple):
    findings: tuple[_Located, ...]


class DetectorScanner:
    """Every detector on every text as given; fails closed like the classifier."""

    __slots__ = ("_detectors",)

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self._detectors = tuple(detectors)

    def __repr__(self) -> str:
        return f"DetectorScanner({len(self._detectors)} detectors)"

    def classify(self, texts: Sequence[str]) -> _Scanned:
        found: list[_Located] = []
        for detector in self._detectors:
            for index, text in enumerate(texts):
                try:
                    findings = detector.detect(text)
                except Exception as exc:
                    raise ServiceUnavailable(
                        f"detector {detector.type!r} failed ({type(exc).__name__}); the request "
                        "was not sent anywhere. Fix or disable the detector "
                        f"(detectors.{detector.type}.enabled: false)",
                        code="detector_failed",
                    ) from exc
                found.extend(_Located(index, finding) for finding in findings)
        return _Scanned(tuple(found))
