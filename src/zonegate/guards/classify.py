"""Classification: run every detector over every text of a request and take the highest class.

Fails closed: a detector that raises (or reports a data class the config does not define) stops
the request with ``ServiceUnavailable`` instead of letting unclassified data through, and so does
a classification that runs past its time budget. The budget is checked after each detector: it
bounds how late a request may be answered, but cannot pre-empt a detector that never returns
(built-ins are linear-time and custom patterns are vetted when loaded, so only plugin code could).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import Any, NamedTuple

from zonegate.errors import ServiceUnavailable, ZonegateError
from zonegate.guards.base import Detector, Finding
from zonegate.guards.detectors._scan import ScanText, has_digit
from zonegate.guards.normalize import OffsetMap, decode_json_strings, map_span, normalize
from zonegate.policy.classes import DataClasses

# Field names of the OpenAI request format: structure, not content, so their keys are not
# scanned (their values are). Any other key (metadata keys, tool parameter names, fields from
# newer API versions) is scanned like a value.
_FIELD_NAMES = frozenset(
    {
        "model", "messages", "role", "content", "type", "text", "name", "tool_calls",
        "tool_call_id", "id", "function", "arguments", "tools", "parameters", "properties",
        "description", "required", "strict", "items", "enum", "additionalProperties",
        "stream", "stream_options", "include_usage", "temperature", "top_p", "max_tokens",
        "max_completion_tokens", "n", "stop", "seed", "presence_penalty", "frequency_penalty",
        "logit_bias", "logprobs", "top_logprobs", "tool_choice", "parallel_tool_calls",
        "response_format", "json_schema", "schema", "metadata", "user", "image_url", "url",
        "detail", "input_audio", "data", "format", "refusal", "audio", "modalities",
        "reasoning_effort", "service_tier", "store", "prediction", "function_call", "functions",
    }
)  # fmt: skip


def collect_texts(body: Mapping[str, Any]) -> list[str]:
    """Every string in a request body, in document order, except the top-level ``model``.

    Covers all messages and content parts, tool-call arguments, tool definitions, metadata and
    unknown fields. Keys other than known field names are included, and integers as their
    decimal text (a card number sent as a JSON number is still a card number).
    """
    out: list[str] = []
    stack: list[Any] = []
    for key, value in reversed(list(body.items())):
        if key == "model":
            continue
        stack.append(value)
        if key not in _FIELD_NAMES:
            stack.append(key)
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, Mapping):
            for key, child in reversed(list(value.items())):
                stack.append(child)
                if key not in _FIELD_NAMES:
                    stack.append(key)
        elif isinstance(value, list | tuple):
            stack.extend(reversed(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            out.append(str(value))
    return out


@dataclass(frozen=True, slots=True)
class LocatedFinding:
    """A finding and the index of the text (in the classified sequence) it was found in."""

    text_index: int
    finding: Finding


@dataclass(frozen=True, slots=True)
class Classification:
    """What the detectors found: counts by type, the highest rank implied, and where."""

    counts: dict[str, int]
    max_rank: int | None
    findings: tuple[LocatedFinding, ...]
    ranks: frozenset[int] = frozenset()  # every rank a finding implies (transforms need each)


# Texts are joined with this separator so a joinable detector runs once per request, not once per
# text. No built-in pattern matches a NUL; the newlines end a line for line-anchored patterns.
SEPARATOR = "\n\x00\n"


class _Segment(NamedTuple):
    """One scanned string: an original text, or a decoded JSON literal inside one."""

    text_index: int
    text: str
    maps: tuple[OffsetMap, ...]  # derived -> original, innermost first; () for an original


class Classifier:
    """Runs a fixed set of detectors; built once per config, shared by all requests.

    Every text is normalised (``zonegate.guards.normalize``) and JSON texts are also scanned
    literal by literal, decoded; findings are mapped back to spans of the texts given, and the
    same finding seen through two views counts once. Detectors with ``joinable = True`` see all
    texts at once, joined by ``SEPARATOR``; those with ``needs_digits = True`` are skipped when
    there is no digit at all. Any other detector runs on each text in turn.

    ``budget`` (seconds) is the longest one ``classify`` call may take; ``None`` for no limit.
    """

    __slots__ = ("_budget", "_classes", "_detectors", "_digit", "_plain", "_ranks", "_single")

    def __init__(
        self, detectors: Iterable[Detector], classes: DataClasses, budget: float | None = None
    ) -> None:
        self._detectors = tuple(detectors)
        self._budget = budget
        self._classes = classes
        self._ranks = {name: classes.rank(name) for name in classes}
        joinable = [d for d in self._detectors if getattr(d, "joinable", False) is True]
        self._digit = tuple(d for d in joinable if getattr(d, "needs_digits", False) is True)
        self._plain = tuple(d for d in joinable if d not in self._digit)
        self._single = tuple(d for d in self._detectors if d not in joinable)

    @property
    def detectors(self) -> tuple[Detector, ...]:
        return self._detectors

    def classify(self, texts: Sequence[str]) -> Classification:
        """Run every detector on every text; ``ServiceUnavailable`` if any detector fails."""
        try:
            return self._classify(texts)
        except ZonegateError:
            raise
        except Exception as exc:  # normalisation or decoding: still never unclassified
            raise ServiceUnavailable(
                f"the request could not be classified ({type(exc).__name__}) and was not sent "
                "anywhere",
                code="detector_failed",
            ) from exc

    def _classify(self, texts: Sequence[str]) -> Classification:
        clock = _Clock(self._budget)
        segments = _segments(texts)
        found: dict[LocatedFinding, None] = {}
        if self._plain or self._digit:
            self._scan_joined(segments, found, clock)
        views = [normalize(segment.text) for segment in segments] if self._single else []
        for detector in self._single:
            for segment, (text, offsets) in zip(segments, views, strict=True):
                for finding in _run(detector, text):
                    start, end = _clip(finding, len(text))
                    if offsets is not None:
                        start, end = offsets.span(start, end)
                    _add(found, segment, finding, start, end)
            clock.check(detector)
        if not found:
            return Classification({}, None, ())
        return self._summarise(list(found))

    def _scan_joined(
        self, segments: list[_Segment], found: dict[LocatedFinding, None], clock: _Clock
    ) -> None:
        starts: list[int] = []
        size = 0
        for segment in segments:
            starts.append(size)
            size += len(segment.text) + len(SEPARATOR)
        joined = SEPARATOR.join([segment.text for segment in segments])
        normal, offsets = normalize(joined)
        text = ScanText(normal)  # detectors share the views they compute on it
        detectors = self._plain
        if self._digit and has_digit(text):
            detectors = self._plain + self._digit
        results: list[list[Finding]] = []
        detector = None
        try:
            for detector in detectors:
                result = detector.detect(text)
                if result:
                    results.append(result)
                clock.check(detector)
        except ZonegateError:
            raise
        except Exception as exc:
            raise _failure(detector, exc) from exc
        for result in results:
            for finding in result:
                start, end = _clip(finding, len(text))
                if offsets is not None:
                    start, end = offsets.span(start, end)
                k = bisect_right(starts, start) - 1
                if k < 0:
                    continue  # no texts at all
                if start - starts[k] >= len(segments[k].text):
                    # Began in a separator: it belongs to the next text, if any.
                    if k + 1 == len(segments):
                        continue
                    k += 1
                    start = starts[k]
                segment = segments[k]
                local_end = min(end - starts[k], len(segment.text))
                _add(found, segment, finding, start - starts[k], local_end)

    def _summarise(self, located: list[LocatedFinding]) -> Classification:
        counts: dict[str, int] = {}
        found_ranks: set[int] = set()
        ranks = self._ranks
        for item in located:
            finding = item.finding
            rank = ranks.get(finding.data_class)
            if rank is None:
                raise ServiceUnavailable(
                    f"detector {finding.type!r} reported data class {finding.data_class!r}, "
                    f"which is not configured (known: {', '.join(self._classes)}); the request "
                    "was not sent anywhere",
                    code="detector_failed",
                )
            found_ranks.add(rank)
            counts[finding.type] = counts.get(finding.type, 0) + 1
        located.sort(key=lambda x: (x.text_index, x.finding.start, x.finding.end))
        return Classification(counts, max(found_ranks), tuple(located), frozenset(found_ranks))


class _Clock:
    """The deadline of one ``classify`` call, and which detector crossed it."""

    __slots__ = ("_budget_ms", "_deadline", "_last")

    def __init__(self, budget: float | None) -> None:
        self._budget_ms = 0.0 if budget is None else budget * 1000
        self._last = perf_counter()
        self._deadline = None if budget is None else self._last + budget

    def check(self, detector: Detector) -> None:
        if self._deadline is None:
            return
        now = perf_counter()
        took, self._last = now - self._last, now
        if now > self._deadline:
            raise ServiceUnavailable(
                f"classifying the request took longer than its {self._budget_ms:g} ms budget "
                f"(detector {detector.type!r} ran {took * 1000:.1f} ms); the request was not "
                "sent anywhere. Raise server.detection_timeout_ms or disable the detector "
                f"(detectors.{detector.type}.enabled: false)",
                code="detector_timeout",
            )


def _segments(texts: Sequence[str]) -> list[_Segment]:
    segments = [_Segment(i, text, ()) for i, text in enumerate(texts)]
    for i, text in enumerate(texts):
        if "\\" in text:
            for value, maps in decode_json_strings(text):
                segments.append(_Segment(i, value, tuple(maps)))
    return segments


def _run(detector: Detector, text: str) -> list[Finding]:
    try:
        return detector.detect(text)
    except Exception as exc:
        raise _failure(detector, exc) from exc


def _failure(detector: Detector | None, exc: Exception) -> ServiceUnavailable:
    name = "?" if detector is None else detector.type
    return ServiceUnavailable(
        f"detector {name!r} failed ({type(exc).__name__}); the request "
        "was not classified and was not sent anywhere. Fix or disable the detector "
        f"(detectors.{name}.enabled: false)",
        code="detector_failed",
    )


def _clip(finding: Finding, size: int) -> tuple[int, int]:
    start = min(max(finding.start, 0), size)
    return start, min(max(finding.end, start), size)


def _add(
    found: dict[LocatedFinding, None], segment: _Segment, finding: Finding, start: int, end: int
) -> None:
    if segment.maps:
        start, end = map_span(segment.maps, start, end)
    if end <= start:
        return
    if start != finding.start or end != finding.end:
        finding = Finding(finding.type, start, end, finding.data_class, finding.confidence)
    found[LocatedFinding(segment.text_index, finding)] = None
