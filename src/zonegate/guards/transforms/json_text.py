"""Replacing findings inside JSON text (tool-call arguments) without breaking the JSON.

Detectors run on the raw text, exactly as classification saw it, so a finding may cut through an
escape sequence (``\\"``, ``\\u0040``), straddle the quotes around a string, or be a bare number
(``{"card": 4111111111111111}``). Each finding is mapped onto the JSON tokens it touches:

- inside a string: the covered part of its contents, widened to whole escape sequences;
- a number: the whole number token, replaced by a quoted placeholder (the JSON stays valid; the
  field becomes a string);
- quotes, punctuation, whitespace, ``true``/``false``/``null``: left alone.

A placeholder contains no quote or backslash, so the result is valid JSON whenever the input was.
"""

from __future__ import annotations

import bisect
import json
import re
from typing import NamedTuple

from zonegate.guards.transforms.placeholders import REDACT
from zonegate.guards.transforms.spans import Span

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|.)", re.S)
_NUMBER = re.compile(r"-?[0-9][0-9.eE+-]*")


class Piece(NamedTuple):
    """A part of the raw JSON text to replace; ``number`` pieces are replaced quoted."""

    start: int
    end: int
    type: str
    action: str
    number: bool


def is_json_container(text: str) -> bool:
    """Whether ``text`` parses as a JSON object or array (only those are handled as JSON)."""
    stripped = text.lstrip()
    if not stripped or stripped[0] not in "{[":
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def decode(raw_contents: str) -> str:
    """The value of a piece of string contents (escape sequences resolved)."""
    value: str = json.loads('"' + raw_contents + '"')
    return value


def pieces(raw: str, spans: list[Span]) -> list[Piece]:
    """Map ``spans`` of valid JSON text ``raw`` onto replaceable pieces, in text order."""
    literals = [(m.start(), m.end()) for m in _STRING.finditer(raw)]
    ends = [end for _, end in literals]
    out: list[Piece] = []
    for span in spans:
        i = bisect.bisect_right(ends, span.start)
        gap_start = literals[i - 1][1] if i else 0
        while True:
            gap_end = literals[i][0] if i < len(literals) else len(raw)
            if gap_start < span.end and span.start < gap_end:
                out.extend(_numbers(raw, gap_start, gap_end, span))
            if i >= len(literals) or literals[i][0] >= span.end:
                break
            lo, hi = literals[i][0] + 1, literals[i][1] - 1
            start, end = max(span.start, lo), min(span.end, hi)
            if start < end:
                start, end = _whole_escapes(raw, lo, hi, start, end)
                out.append(Piece(start, end, span.type, span.action, False))
            gap_start = literals[i][1]
            i += 1
    return _merge(out)


def _numbers(raw: str, lo: int, hi: int, span: Span) -> list[Piece]:
    return [
        Piece(m.start(), m.end(), span.type, span.action, True)
        for m in _NUMBER.finditer(raw, lo, hi)
        if m.start() < span.end and span.start < m.end()
    ]


def _whole_escapes(raw: str, lo: int, hi: int, start: int, end: int) -> tuple[int, int]:
    if "\\" not in raw[lo:hi]:
        return start, end
    for m in _ESCAPE.finditer(raw, lo, hi):
        if m.start() >= end:
            break
        if m.start() < start < m.end():
            start = m.start()
        if m.start() < end < m.end():
            end = m.end()
    return start, end


def _merge(found: list[Piece]) -> list[Piece]:
    """Pieces from neighbouring findings can meet once widened; keep them disjoint."""
    if len(found) < 2:
        return found
    found.sort(key=lambda p: p.start)
    out = [found[0]]
    for piece in found[1:]:
        last = out[-1]
        if piece.start < last.end:
            action = REDACT if REDACT in (last.action, piece.action) else last.action
            out[-1] = last._replace(end=max(last.end, piece.end), action=action)
        else:
            out.append(piece)
    return out
