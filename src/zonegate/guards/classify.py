"""Classification: run every detector over every text of a request and take the highest class.

Fails closed: a detector that raises (or reports a data class the config does not define) stops
the request with ``ServiceUnavailable`` instead of letting unclassified data through.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zonegate.errors import ServiceUnavailable
from zonegate.guards.base import Detector, Finding
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


class Classifier:
    """Runs a fixed set of detectors; built once per config, shared by all requests."""

    __slots__ = ("_classes", "_detectors", "_ranks")

    def __init__(self, detectors: Iterable[Detector], classes: DataClasses) -> None:
        self._detectors = tuple(detectors)
        self._classes = classes
        self._ranks = {name: classes.rank(name) for name in classes}

    @property
    def detectors(self) -> tuple[Detector, ...]:
        return self._detectors

    def classify(self, texts: Sequence[str]) -> Classification:
        """Run every detector on every text; ``ServiceUnavailable`` if any detector fails."""
        located: list[LocatedFinding] = []
        for detector in self._detectors:
            try:
                for index, text in enumerate(texts):
                    for finding in detector.detect(text):
                        located.append(LocatedFinding(index, finding))
            except Exception as exc:
                raise ServiceUnavailable(
                    f"detector {detector.type!r} failed ({type(exc).__name__}); the request "
                    "was not classified and was not sent anywhere. Fix or disable the detector "
                    f"(detectors.{detector.type}.enabled: false)",
                    code="detector_failed",
                ) from exc
        if not located:
            return Classification({}, None, ())
        counts: dict[str, int] = {}
        best = 0
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
            best = max(best, rank)
            counts[finding.type] = counts.get(finding.type, 0) + 1
        located.sort(key=lambda x: (x.text_index, x.finding.start, x.finding.end))
        return Classification(counts, best, tuple(located))
