"""What a text hides: invisible Unicode, and instructions wrapped in an encoding.

``unicode_signals`` names the invisible-character tricks present in the raw text (tag
characters outside emoji flags, zero-width runs, bidi controls, variation-selector runs, words
mixing Latin with Cyrillic or Greek letters). ``payloads`` decodes what may carry hidden
instructions (tag-character text, base64, hex runs and ``\\x`` escapes, rot13, reversed
text) so the phrase rules can run on it; an encoding counts only when its decoded text trips a
rule, so ordinary base64 data and hashes are not flagged. Every step is a linear scan; decoded
payloads of one kind are joined and matched once, so many small payloads cost no more than one
large one.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

# (direct, indirect) weight of each signal; see rules.Rule for what the two mean.
SIGNAL_WEIGHTS: Final = MappingProxyType(
    {
        "unicode.tag_characters": (0.9, 0.95),
        "unicode.zero_width_run": (0.5, 0.7),
        "unicode.zero_width_in_word": (0.4, 0.6),
        "unicode.bidi_control": (0.3, 0.5),
        "unicode.variation_selectors": (0.6, 0.7),
        "unicode.mixed_script": (0.35, 0.5),
        "encoding.base64": (0.9, 0.95),
        "encoding.hex": (0.9, 0.95),
        "encoding.rot13": (0.9, 0.95),
        "encoding.reversed": (0.85, 0.9),
    }
)

# An emoji subdivision flag (U+1F3F4, tag letters, CANCEL TAG) is the one legitimate use.
_FLAG: Final = re.compile("\U0001f3f4[\U000e0020-\U000e007e]{1,12}\U000e007f")
_TAG: Final = re.compile("[\U000e0000-\U000e007f]")
_TAG_TEXT: Final = re.compile("[\U000e0020-\U000e007e]+")
_ZW_RUN: Final = re.compile("[\u200b-\u200d\u2060\ufeff\u180e]{2,}")
_ZW_IN_WORD: Final = re.compile("[A-Za-z][\u200b-\u200d\u2060\ufeff\u180e]+[A-Za-z]")
_BIDI: Final = re.compile("[\u202a-\u202e\u2066-\u2069]")
_VS_RUN: Final = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]{3,}")
_MIXED: Final = re.compile(
    "[A-Za-z][\u0370-\u03ff\u0400-\u04ff]|[\u0370-\u03ff\u0400-\u04ff][A-Za-z]"
)

_B64: Final = re.compile(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX_RUN: Final = re.compile(r"[0-9A-Fa-f]{20,}")
_HEX_ESCAPES: Final = re.compile(r"(?:\\x[0-9A-Fa-f]{2}){8,}")
# Words of override phrases under rot13 and reversed; only then is the text decoded.
_ROT13_HINTS: Final = frozenset(
    {"vtaber", "qvfertneq", "sbetrg", "vafgehpgvba", "vafgehpgvbaf", "cerivbhf", "cebzcg"}
)
_REVERSED_HINTS: Final = frozenset({"snoitcurtsni", "erongi", "dragersid", "suoiverp", "tpmorp"})


@dataclass(frozen=True, slots=True)
class Payload:
    """Decoded text that was hidden in the input; ``kind`` is the signal id it reports as."""

    kind: str
    text: str


def unicode_signals(raw: str) -> list[str]:
    """Ids of the invisible-character tricks present in ``raw``."""
    if raw.isascii():
        return []
    found: list[str] = []
    if _TAG.search(_FLAG.sub("", raw)):
        found.append("unicode.tag_characters")
    if _ZW_RUN.search(raw):
        found.append("unicode.zero_width_run")
    if _ZW_IN_WORD.search(raw):
        found.append("unicode.zero_width_in_word")
    if _BIDI.search(raw):
        found.append("unicode.bidi_control")
    if _VS_RUN.search(raw):
        found.append("unicode.variation_selectors")
    if _MIXED.search(raw):
        found.append("unicode.mixed_script")
    return found


def _as_text(data: bytes) -> str | None:
    """``data`` as text if it is UTF-8 and mostly printable, with some letters."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < 8:
        return None
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\n\r\t")
    letters = sum(1 for ch in text if ch.isalpha())
    return text if printable >= 0.9 * len(text) and letters >= 4 else None


def _long_tokens(cleaned: str, size: int) -> list[str]:
    """Whitespace-separated tokens of at least ``size`` characters (payloads hold no spaces)."""
    return [token for token in cleaned.split() if len(token) >= size]


def _b64_texts(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for m in (m for token in tokens for m in _B64.finditer(token)):
        token = m.group().rstrip("=")
        if ("-" in token or "_" in token) and ("+" in token or "/" in token):
            continue
        token = token.replace("-", "+").replace("_", "/")
        token += "=" * (-len(token) % 4)
        try:
            data = base64.b64decode(token, validate=True)
        except (binascii.Error, ValueError):
            continue
        text = _as_text(data)
        if text is not None:
            out.append(text)
    return out


def _hex_texts(tokens: list[str]) -> list[str]:
    runs = [m.group() for token in tokens for m in _HEX_RUN.finditer(token)]
    runs += [
        m.group().replace("\\x", "")
        for token in tokens
        if "\\x" in token
        for m in _HEX_ESCAPES.finditer(token)
    ]
    out: list[str] = []
    for run in runs:
        text = _as_text(bytes.fromhex(run[: len(run) // 2 * 2]))
        if text is not None:
            out.append(text)
    return out


def payloads(
    raw: str, cleaned: str, view: str, words: frozenset[str], *, depth: int = 2
) -> list[Payload]:
    """Hidden texts to run the phrase rules on: one joined payload per kind found.

    ``raw`` is the original text, ``cleaned`` its ``views.clean`` form, ``view`` its phrase
    view and ``words`` the words of that view. Base64 and hex payloads are themselves searched
    for base64 and hex, ``depth`` levels deep.
    """
    found: list[Payload] = []
    if not raw.isascii():
        tags = _TAG_TEXT.findall(_FLAG.sub("", raw))
        if tags:
            hidden = "\n".join("".join(chr(ord(ch) - 0xE0000) for ch in run) for run in tags)
            found.append(Payload("unicode.tag_characters", hidden))
    tokens = _long_tokens(cleaned, 16)
    for kind, texts in (
        ("encoding.base64", _b64_texts(tokens)),
        ("encoding.hex", _hex_texts(tokens)),
    ):
        if not texts:
            continue
        found.append(Payload(kind, "\n".join(texts)))
        if depth > 1:
            for text in texts:
                for inner in payloads(text, text, "", frozenset(), depth=depth - 1):
                    found.append(Payload(kind, inner.text))
    if not _ROT13_HINTS.isdisjoint(words):
        found.append(Payload("encoding.rot13", codecs.decode(view, "rot13")))
    if not _REVERSED_HINTS.isdisjoint(words):
        found.append(Payload("encoding.reversed", view[::-1]))
    return found
