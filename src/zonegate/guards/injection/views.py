"""Text views for injection scoring: what an attacker hides is removed before matching.

Three views of one text, each for one consumer:

- ``clean``: invisible characters removed, Unicode NFKC (full-width letters become ASCII), case
  kept. Encoded payloads (base64 is case-sensitive) are searched here.
- ``folded``: ``clean`` casefolded, look-alikes and leetspeak mapped to letters, whitespace runs
  collapsed to one space; a token longer than ``MAX_TOKEN`` characters is split into its words
  and words still that long are dropped (base64 blobs, hashes and ids say nothing about intent,
  and the S-Labs data has none, so the model would guess); padded with one space each side.
  The classifier's input; the training script uses the same function, so training and
  inference see identical text.
- ``phrase``: ``clean`` casefolded, look-alikes and digit/symbol leetspeak mapped to letters,
  line breaks kept. The rules match here.

Changing any of these changes what the shipped classifier sees: bump ``FOLD_VERSION`` and
retrain (the model file records the version it was trained with and refuses to load otherwise).
"""

from __future__ import annotations

import re
import unicodedata
from types import MappingProxyType
from typing import Final

FOLD_VERSION: Final = "nfkc-casefold-confusables-leet-ws-maxword24/4"
MAX_TOKEN: Final = 24

# Zero-width and format characters that render as nothing, tag characters (U+E0000-E007F),
# variation selectors, bidirectional controls, and fillers that display as blanks.
_INVISIBLE: Final = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0"
    "\U000e0000-\U000e007f\U000e0100-\U000e01ef]+"
)

# Letters from other scripts that look like Latin ones (lower case: applied after casefold).
_CONFUSABLES: Final = MappingProxyType(
    str.maketrans(
        {
            "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
            "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i",
            "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ɡ": "g", "ɩ": "i", "ɑ": "a",
            "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
            "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
        }
    )
)  # fmt: skip

# Digits and symbols used as letters ("d1sregard 4ll rul3s"). Phrase view only.
_LEET: Final = MappingProxyType(
    str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
)

_WORD: Final = re.compile(r"[^\W_]+")
# Every ASCII character that is not a letter or digit becomes a space (a fast word split).
_ASCII_SEPARATORS: Final = MappingProxyType(
    str.maketrans({chr(i): " " for i in range(128) if not chr(i).isalnum()})
)


def strip_invisible(text: str) -> str:
    """``text`` without zero-width, tag, variation-selector and bidi-control characters."""
    return _INVISIBLE.sub("", text)


def clean(text: str) -> str:
    """Invisible characters removed, then NFKC; case is kept. ASCII text is returned as is."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", strip_invisible(text))


def _fold_case(cleaned: str) -> str:
    lowered = cleaned.casefold()
    if lowered.isascii():
        return lowered
    return lowered.translate(_CONFUSABLES)


def fold(text: str) -> str:
    """The classifier's view of ``text`` (see the module docstring)."""
    kept: list[str] = []
    for token in _fold_case(clean(text)).translate(_LEET).split():
        if len(token) <= MAX_TOKEN:
            kept.append(token)
        else:
            kept.extend(p for p in _WORD.findall(token) if len(p) <= MAX_TOKEN)
    return " " + " ".join(kept) + " "


def phrase_view(cleaned: str) -> str:
    """The rules' view of an already ``clean`` text: folded, leetspeak mapped, lines kept."""
    return _fold_case(cleaned).translate(_LEET)


def words(view: str) -> frozenset[str]:
    """The words of a phrase view, split exactly where the rules' ``[\\W_]+`` separators are."""
    if view.isascii():
        return frozenset(view.translate(_ASCII_SEPARATORS).split())
    return frozenset(_WORD.findall(view))
