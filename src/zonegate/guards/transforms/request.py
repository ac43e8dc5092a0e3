"""Transforming a chat request before it leaves for a zone: redact or pseudonymise what policy says.

Every string of the body is considered (all messages and content parts, tool definitions,
tool-call arguments, tool results, metadata, unknown fields) except the top-level ``model``; the
scanner (the gateway's classifier) finds values in them exactly as it did when it classified the
request, and a finding is replaced when ``actions`` names its data class. Where a value cannot be
replaced (an object key, a JSON number outside tool-call arguments, a name that must stay an
identifier) the transform refuses with ``UntransformableData`` rather than send the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zonegate.errors import ServiceUnavailable
from zonegate.guards.base import Detector, Finding
from zonegate.guards.classify import collect_texts
from zonegate.guards.transforms import json_text
from zonegate.guards.transforms.placeholders import ACTIONS, REDACT
from zonegate.guards.transforms.pseudonyms import Pseudonyms
from zonegate.guards.transforms.rewrite import Rewriter
from zonegate.guards.transforms.scanning import DetectorScanner, Scanned, Scanner
from zonegate.guards.transforms.spans import Span, merge
from zonegate.guards.transforms.walk import (
    ARGUMENTS,
    KEY,
    NAME,
    NUMBER,
    TEXT,
    Collected,
    Misaligned,
    Node,
    collect,
    path_of,
)

# Keys and enum values of the OpenAI format (and JSON Schema, for tool parameters). The ones in
# which the scanner finds nothing on their own are not scanned in requests: scanning is pure,
# so skipping them cannot miss a finding. Every other key and value is scanned.
_FIELD_NAMES = (
    "model", "messages", "role", "content", "type", "text", "name", "tool_calls", "tool_call_id",
    "id", "function", "arguments", "tools", "parameters", "properties", "description",
    "required", "strict", "items", "enum", "additionalProperties", "stream", "stream_options",
    "include_usage", "temperature", "top_p", "max_tokens", "max_completion_tokens", "n", "stop",
    "seed", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs",
    "tool_choice", "parallel_tool_calls", "response_format", "json_schema", "schema", "metadata",
    "user", "image_url", "url", "detail", "input_audio", "data", "format", "refusal", "audio",
    "modalities", "reasoning_effort", "service_tier", "store", "prediction", "function_call",
    "functions", "file", "file_id", "filename", "file_data", "default", "title", "anyOf",
    "oneOf", "allOf", "minimum", "maximum", "minLength", "maxLength", "pattern", "const",
)  # fmt: skip
_COMMON_VALUES = (
    "system", "developer", "user", "assistant", "tool", "function", "text", "image_url",
    "input_audio", "file", "auto", "none", "required", "object", "string", "integer", "number",
    "boolean", "array", "null", "json_object", "json_schema", "low", "high", "medium", "minimal",
    "default", "wav", "mp3",
)  # fmt: skip
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.-]{1,40}")

_KEY = "it is in a JSON object key, which cannot be replaced; send it as a value instead"
_NUMBER = "it is a JSON number, which cannot hold a placeholder; send it as a string instead"
_NAME = (
    "it is in a name field, which must stay a plain identifier (letters, digits, '_', '-') and "
    "cannot hold a placeholder; keep it out of message, tool and function names"
)


class UntransformableData(Exception):
    """Data that policy says must be transformed sits where it cannot be.

    Carries the JSON path (``messages[2].content``) and the finding type, never the value; the
    path shows only keys that are known field names or that nothing was found in.
    """

    def __init__(self, path: str, data_type: str, reason: str) -> None:
        self.path = path
        self.data_type = data_type
        self.reason = reason
        super().__init__(
            f"{data_type!r} data at {path} must be redacted or pseudonymised before this request "
            f"may go to the chosen zone, but {reason}"
        )


@dataclass(frozen=True, slots=True, repr=False)
class TransformResult:
    """The transformed body (a new object), replacements by finding type, and the pseudonyms
    to restore in the response (``None`` when nothing was pseudonymised)."""

    body: dict[str, Any]
    counts: dict[str, int]
    pseudonyms: Pseudonyms | None

    @property
    def replaced(self) -> int:
        return sum(self.counts.values())

    def __repr__(self) -> str:
        return (
            f"TransformResult(counts={self.counts!r}, pseudonyms={self.pseudonyms!r}, "
            f"body=<{len(self.body)} fields, not shown>)"
        )


class RequestTransformer:
    """Applies redaction and pseudonymisation to request bodies; built once per config.

    Give it the gateway's ``Classifier`` so it replaces exactly what classification found; a
    plain list of detectors runs each on each raw text instead.
    """

    __slots__ = ("_clean_keys", "_clean_values", "_labels", "_scanner")

    def __init__(self, scanner: Scanner | Sequence[Detector]) -> None:
        self._scanner: Scanner = (
            DetectorScanner(scanner) if isinstance(scanner, Sequence) else scanner
        )
        self._clean_keys = self._clean(_FIELD_NAMES)
        self._clean_values = self._clean(_COMMON_VALUES)
        self._labels: dict[str, str] = {}  # finding type -> placeholder label, filled as seen

    def __repr__(self) -> str:
        return f"RequestTransformer({self._scanner!r})"

    def transform(
        self,
        body: Mapping[str, Any],
        actions: Mapping[str, str],
        found: Scanned | None = None,
    ) -> TransformResult:
        """Replace every finding whose data class is in ``actions`` ('redact' | 'pseudonymise').

        ``found``: the classification of ``collect_texts(body)`` when the caller already has it
        (the pipeline does); it is reused instead of scanning again. Returns a new body; ``body``
        is not changed. Raises ``UntransformableData`` where a value cannot be replaced, and
        ``ServiceUnavailable`` when scanning fails (nothing may be sent then).
        """
        for data_class, action in actions.items():
            if action not in ACTIONS:
                raise ValueError(
                    f"unknown transform {action!r} for data class {data_class!r}; "
                    f"use one of {sorted(ACTIONS)}"
                )
        texts = collect_texts(body)
        try:
            walked = collect(body, aligned=texts)
        except Misaligned:  # classification reads the body differently: scan our own way
            walked = collect(body, clean_keys=self._clean_keys, clean_values=self._clean_values)
            found = None
        spans: dict[int, list[Span]] = {}
        if actions and walked.texts:
            if found is None:
                found = self._scanner.classify(walked.texts)
            spans = _spans(found, walked.texts, actions)
        if not spans:
            return TransformResult(walked.body, {}, None)
        self._refuse(walked, spans)
        rewriter = _apply(walked, spans, frozenset(), self._labels)
        if walked.literals and not walked.literals.isdisjoint(rewriter.values):
            # The request already holds text shaped like a pseudonym we chose: number again,
            # skipping those, so the caller's own text is never "restored".
            rewriter = _apply(walked, spans, frozenset(walked.literals), self._labels)
        pseudonyms = Pseudonyms(rewriter.values) if rewriter.values else None
        return TransformResult(walked.body, rewriter.counts, pseudonyms)

    def redact_text(self, text: str) -> str:
        """``text`` with every finding, whatever its class, redacted (for retained content)."""
        found = self._scanner.classify([text]).findings
        spans = merge((_checked(x.finding, text), REDACT) for x in found)
        return Rewriter(labels=self._labels).text(text, spans) if spans else text

    def _refuse(self, walked: Collected, spans: dict[int, list[Span]]) -> None:
        for index, found in spans.items():
            kind = walked.kinds[index]
            if kind in (TEXT, ARGUMENTS):
                continue
            where = self._where(walked.nodes[index])
            reason = {KEY: _KEY, NUMBER: _NUMBER, NAME: _NAME}[kind]
            if kind == KEY:
                where += " (an object key)"
            raise UntransformableData(where, found[0].type, reason)

    def _clean(self, words: tuple[str, ...]) -> frozenset[str]:
        try:
            found = self._scanner.classify(list(words)).findings
        except Exception:  # scanned at request time instead, where a failure denies
            return frozenset()
        dirty = {located.text_index for located in found}
        return frozenset(w for i, w in enumerate(words) if i not in dirty)

    def _where(self, node: Node) -> str:
        """A JSON path; keys that may hold data are shown as ``{key}``."""
        out: list[str] = []
        for segment in path_of(node):
            if isinstance(segment, int):
                out.append(f"[{segment}]")
                continue
            shown = segment if self._showable(segment) else "{key}"
            out.append(f".{shown}" if out else shown)
        return "".join(out) or "the request body"

    def _showable(self, key: str) -> bool:
        if key in self._clean_keys:
            return True
        if not _PLAIN_KEY.fullmatch(key):
            return False
        try:
            return not self._scanner.classify([key]).findings
        except Exception:
            return False


def _spans(found: Scanned, texts: list[str], actions: Mapping[str, str]) -> dict[int, list[Span]]:
    """Per text index (in document order), the merged spans to replace."""
    by_text: dict[int, list[tuple[Finding, str]]] = {}
    for located in found.findings:
        finding = located.finding
        action = actions.get(finding.data_class)
        if action is None:
            continue
        index = located.text_index
        if not 0 <= index < len(texts):
            raise _misfit(finding)
        item = (_checked(finding, texts[index]), action)
        if index in by_text:
            by_text[index].append(item)
        else:
            by_text[index] = [item]
    return {index: merge(by_text[index]) for index in sorted(by_text)}


def _apply(
    walked: Collected,
    spans: dict[int, list[Span]],
    reserved: frozenset[str],
    labels: dict[str, str],
) -> Rewriter:
    """Write the replacements into the copy; the rewriter holds the mapping it made."""
    rewriter = Rewriter(reserved, labels)
    texts, kinds, places = walked.texts, walked.kinds, walked.places
    for index, found in spans.items():
        text = texts[index]
        if kinds[index] == ARGUMENTS and json_text.is_json_container(text):
            new = rewriter.json(text, found)
        else:
            new = rewriter.text(text, found)
        container, key = places[index]
        container[key] = new
    return rewriter


def _checked(finding: Finding, text: str) -> Finding:
    if not 0 <= finding.start < finding.end <= len(text):
        raise _misfit(finding)
    return finding


def _misfit(finding: Finding) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"a {finding.type!r} finding does not fit the text it was reported in (the detector "
        "reported a span outside it, or the classification given was made for another body); "
        "the request was not sent anywhere",
        code="transform_failed",
    )
