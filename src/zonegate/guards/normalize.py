"""Text normalisation before matching, with a map back to the original offsets.

Detectors match ASCII patterns; a caller who wants to slip a value past them writes it with
full-width digits, zero-width or tag characters inside it, Cyrillic look-alike letters, or
Unicode dashes and spaces between its groups. ``normalize`` undoes those tricks and keeps an
``OffsetMap`` so every finding is still reported against the text the caller sent.

Plain ASCII text (most requests) is returned as it is, at the cost of one ``isascii`` check.
``decode_json_strings`` does the same for JSON string literals with escapes, so a value hidden
behind ``\\u0034`` or ``\\n`` inside a tool-call argument is scanned as the value it encodes.
"""

from __future__ import annotations

import json
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from types import MappingProxyType

# Invisible format characters: zero-width spaces and joiners, bidi controls, word joiner and
# invisible operators, BOM, interlinear annotation, Hangul fillers, variation selectors and the
# tag block. They are removed; the text around them joins up.
_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb"
    "\U0001d173-\U0001d17a\U000e0000-\U000e007f\U000e0100-\U000e01ef"
)
_STRIP = re.compile(f"[{_INVISIBLE}]")

# Combining marks commonly stacked on Latin letters and digits ("zalgo", keycaps, strike-through).
# They are dropped after an ASCII base character, kept after any other (they spell words there).
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"

# Dashes and minus signs NFKC leaves alone; all read as '-' between digit groups.
_DASHES = "\u058a\u05be\u1400\u1806\u2010-\u2015\u2212\u2e17\u2e1a\u2e3a\u2e3b\u2e40\u2e5d\u301c"

# Zero of every non-ASCII block of decimal digits (Unicode 14, category Nd); each block holds 0-9.
_DIGIT_ZEROS = (
    0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6,
    0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50,
    0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
)  # fmt: skip
_DIGITS = "".join(f"{chr(z)}-{chr(z + 9)}" for z in _DIGIT_ZEROS)

# Cyrillic and Greek letters that look like Latin ones. Folded only inside a word that also holds
# ASCII letters or digits (the sign of a spoof); a word written wholly in Cyrillic or Greek is
# left alone, so Russian or Greek text keeps its meaning for custom patterns.
HOMOGLYPHS = MappingProxyType({
    "А": "A", "В": "B", "Е": "E", "Ѕ": "S", "І": "I", "Ј": "J", "К": "K", "М": "M", "Н": "H",
    "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "У": "Y", "Ү": "Y", "Ԛ": "Q", "Ԝ": "W",
    "Ӏ": "I", "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s",
    "і": "i", "ј": "j", "ԁ": "d", "һ": "h", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ѵ": "v",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o", "ν": "v", "ρ": "p", "ι": "i",
    "α": "a", "ϲ": "c", "ϳ": "j", "Ϲ": "C",
})  # fmt: skip
_HOMOGLYPH_CHARS = "".join(HOMOGLYPHS)

# Any character that makes a non-ASCII run worth rewriting (NFKC changes are checked apart).
_TRICK = re.compile(f"[{_INVISIBLE}{_MARKS}{_DASHES}{_DIGITS}{_HOMOGLYPH_CHARS}\u1680]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_MARK = re.compile(f"[{_MARKS}]")
_DASH = re.compile(f"[{_DASHES}]")
# Characters that cling to the one before them: marks and invisibles.
_CLINGY = re.compile(f"[{_MARKS}{_INVISIBLE}]")

# JSON string literals (unrolled loop: linear), and the escapes inside one.
_JSON_STRING = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"', re.DOTALL)
_JSON_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|(.))", re.DOTALL)
_SIMPLE_ESCAPES = MappingProxyType(
    {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
)
_JSON_DEPTH = 3


class OffsetMap:
    """Maps a span of a derived text back to the span of the text it was derived from.

    Built from pieces in derived order: an *identity* piece copies a stretch unchanged; any
    other piece is the rewrite of one cluster of source characters, and a span touching it
    covers the whole cluster. Lookups are a binary search over piece starts.
    """

    __slots__ = ("_identity", "_src_ends", "_src_starts", "_starts")

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._src_starts: list[int] = []
        self._src_ends: list[int] = []
        self._identity: list[bool] = []

    def add(self, start: int, src_start: int, src_end: int, *, identity: bool) -> None:
        """Append a piece starting at ``start`` in the derived text (pieces come in order)."""
        self._starts.append(start)
        self._src_starts.append(src_start)
        self._src_ends.append(src_end)
        self._identity.append(identity)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The source span of derived ``[start, end)``."""
        if not self._starts:
            return start, end
        k = max(bisect_right(self._starts, start) - 1, 0)
        if self._identity[k]:
            src_start = self._src_starts[k] + start - self._starts[k]
        else:
            src_start = self._src_starts[k]
        if end <= start:
            return src_start, src_start
        k = max(bisect_right(self._starts, end - 1) - 1, 0)
        if self._identity[k]:
            src_end = self._src_starts[k] + end - self._starts[k]
        else:
            src_end = self._src_ends[k]
        return src_start, max(src_end, src_start)


def normalize(text: str) -> tuple[str, OffsetMap | None]:
    """``text`` with evasion tricks undone, and its offset map (None when nothing changed).

    NFKC (full-width and styled digits and letters, compatibility spaces), invisible characters
    removed, Unicode dashes to '-', decimal digits of any script to ASCII, marks stacked on ASCII
    characters dropped, Cyrillic and Greek look-alikes folded to Latin inside mixed words.
    Letters are never turned into digits ('O' or 'l' in a number stay letters).
    """
    if text.isascii():
        return text, None
    if unicodedata.is_normalized("NFKC", text) and _TRICK.search(text) is None:
        return text, None
    out: list[str] = []
    offsets = OffsetMap()
    size = 0  # length of the derived text so far
    copied = 0  # source characters consumed so far
    changed = False
    for run in _NON_ASCII.finditer(text):
        start, end = run.start(), run.end()
        if start > copied and _CLINGY.match(text, start) and text[start - 1].isascii():
            start -= 1  # take the ASCII base the marks or invisibles cling to
        piece = text[start:end]
        if unicodedata.is_normalized("NFKC", piece) and _TRICK.search(piece) is None:
            continue
        if start > copied:
            offsets.add(size, copied, start, identity=True)
            out.append(text[copied:start])
            size += start - copied
        for src_start, src_end, value in _rewrite(text, start, end):
            if value == text[src_start:src_end]:
                offsets.add(size, src_start, src_end, identity=True)
            else:
                changed = True
                if value:
                    offsets.add(size, src_start, src_end, identity=False)
            out.append(value)
            size += len(value)
        copied = end
    if not changed:
        return text, None
    if copied < len(text):
        offsets.add(size, copied, len(text), identity=True)
        out.append(text[copied:])
    return "".join(out), offsets


def _rewrite(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """Clusters of ``text[start:end]`` (a base and what clings to it) and what each becomes."""
    result: list[tuple[int, int, str]] = []
    words = _Words(text)
    i = start
    while i < end:
        j = i + 1
        while j < end and (unicodedata.combining(text[j]) or _CLINGY.match(text, j)):
            j += 1
        result.append((i, j, _cluster(text, i, j, words)))
        i = j
    return result


def _cluster(text: str, start: int, end: int, words: _Words) -> str:
    value = unicodedata.normalize("NFKC", _STRIP.sub("", text[start:end]))
    chars: list[str] = []
    for ch in value:
        if ch.isascii():
            chars.append(ch)
        elif _STRIP.match(ch):
            continue
        elif unicodedata.combining(ch) or _MARK.match(ch):
            if not chars or not chars[-1].isascii():
                chars.append(ch)  # a mark on an ASCII character is dropped
        elif ch in HOMOGLYPHS and words.mixed(start):
            chars.append(HOMOGLYPHS[ch])
        elif (digit := unicodedata.decimal(ch, None)) is not None:
            chars.append(str(digit))
        elif _DASH.match(ch):
            chars.append("-")
        elif ch == "\u1680":
            chars.append(" ")
        else:
            chars.append(ch)
    return "".join(chars)


class _Words:
    """Whether the word around an index mixes in ASCII letters or digits; remembers the last word
    so a long word is walked once, not once per character."""

    __slots__ = ("_end", "_mixed", "_start", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._start = self._end = -1
        self._mixed = False

    def mixed(self, index: int) -> bool:
        if not self._start <= index < self._end:
            text = self._text
            i = index
            while i > 0 and _in_word(text, i - 1):
                i -= 1
            j = index + 1
            while j < len(text) and _in_word(text, j):
                j += 1
            self._start, self._end = i, j
            self._mixed = any(c.isascii() and c.isalnum() for c in text[i:j])
        return self._mixed


def _in_word(text: str, index: int) -> bool:
    return text[index].isalnum() or _CLINGY.match(text, index) is not None


def decode_json_strings(text: str, depth: int = _JSON_DEPTH) -> list[tuple[str, list[OffsetMap]]]:
    """The escaped string literals of ``text`` if it is JSON, decoded, with maps back to ``text``.

    Only literals with an escape are returned: one without is already scanned as part of
    ``text``. A literal that is itself JSON with escapes (a doubly encoded document) is decoded
    again, up to ``depth`` levels; its maps run innermost first.
    """
    head = text.lstrip()[:1]
    if head not in ("{", "[") or "\\" not in text or depth <= 0:
        return []
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return []  # not JSON (or nested too deep to decode): scanned as plain text only
    found: list[tuple[str, list[OffsetMap]]] = []
    for literal in _JSON_STRING.finditer(text):
        if "\\" not in literal.group(1):
            continue
        value, offsets = _unescape(text, literal.start(1), literal.end(1))
        found.append((value, [offsets]))
        for inner, maps in decode_json_strings(value, depth - 1):
            found.append((inner, [*maps, offsets]))
    return found


def _unescape(text: str, start: int, end: int) -> tuple[str, OffsetMap]:
    """Decode the JSON string body ``text[start:end]``; the map points into ``text``."""
    out: list[str] = []
    offsets = OffsetMap()
    size = 0
    pos = start
    escapes = list(_JSON_ESCAPE.finditer(text, start, end))
    k = 0
    while k < len(escapes):
        esc = escapes[k]
        if esc.start() > pos:
            offsets.add(size, pos, esc.start(), identity=True)
            out.append(text[pos : esc.start()])
            size += esc.start() - pos
        src_end = esc.end()
        if esc.group(1) is not None:
            code = int(esc.group(1), 16)
            if 0xD800 <= code < 0xDC00 and k + 1 < len(escapes):
                low = escapes[k + 1]
                low_code = int(low.group(1), 16) if low.group(1) is not None else 0
                if low.start() == esc.end() and 0xDC00 <= low_code < 0xE000:
                    code = 0x10000 + ((code - 0xD800) << 10) + (low_code - 0xDC00)
                    src_end = low.end()
                    k += 1
            char = "\ufffd" if 0xD800 <= code < 0xE000 else chr(code)
        else:
            char = _SIMPLE_ESCAPES.get(esc.group(2), esc.group(2))
        offsets.add(size, esc.start(), src_end, identity=False)
        out.append(char)
        size += 1
        pos = src_end
        k += 1
    if pos < end:
        offsets.add(size, pos, end, identity=True)
        out.append(text[pos:end])
    return "".join(out), offsets


def map_span(maps: Sequence[OffsetMap], start: int, end: int) -> tuple[int, int]:
    """Apply ``maps`` in order (innermost derived text first) to a span."""
    for offsets in maps:
        start, end = offsets.span(start, end)
    return start, end
