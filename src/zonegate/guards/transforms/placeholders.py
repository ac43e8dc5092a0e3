"""The placeholder formats that stand in for detected values.

Redaction writes ``[REDACTED_EMAIL]``: typed, so the model still knows what kind of thing was
there, and not restorable. Pseudonymisation writes ``<EMAIL_1>``, ``<EMAIL_2>``,
``<PAYMENT_CARD_1>``: one number per distinct value of a type within the request.

Why ``<TYPE_N>``:

- Models copy it faithfully. It is a handful of common tokens (``<``, an English word, ``_``, a
  small number, ``>``), the same shape as the entity tags that anonymisation tools and training
  data use, so models treat it as an opaque name and repeat it verbatim instead of rewording it.
- It does not occur in normal text by accident: ordinary prose, code and markup do not write an
  upper-case word with an underscore and a number between angle brackets (HTML tags are lower
  case and never end in ``_1``). A request that already contains such a token is handled anyway:
  its numbers are skipped when pseudonyms are assigned, so the caller's own literal text is never
  "restored" into a value.
- It is wire-safe: ASCII letters, digits, ``_``, ``<`` and ``>`` only, no quotes, backslashes or
  whitespace, so a placeholder inside a JSON string (tool-call arguments) keeps it valid JSON.
- It is bounded: the type label is at most 40 characters, so a placeholder is at most 63
  characters and a streaming restorer never holds back more than that.
"""

from __future__ import annotations

import re

REDACT = "redact"
PSEUDONYMISE = "pseudonymise"
ACTIONS = frozenset({REDACT, PSEUDONYMISE})

MAX_LABEL = 40
# "<" + label + "_" + up to 20 digits + ">": far more values than a request can hold.
MAX_PLACEHOLDER = 1 + MAX_LABEL + 1 + 20 + 1

# Anything shaped like a pseudonym; whether it is one is a dictionary lookup. Placeholders hold
# exactly one "<" and one ">", so matches never overlap and one pass finds them all.
PLACEHOLDER_SHAPE = re.compile(r"<[A-Z0-9_]+>")

_NOT_LABEL = re.compile(r"[^A-Z0-9]+")


def label(finding_type: str) -> str:
    """The placeholder label for a finding type: ``payment-card`` -> ``PAYMENT_CARD``."""
    text = _NOT_LABEL.sub("_", finding_type.upper()).strip("_")[:MAX_LABEL].rstrip("_")
    return text or "DATA"


def redacted(label_: str) -> str:
    return f"[REDACTED_{label_}]"


def pseudonym(label_: str, number: int) -> str:
    return f"<{label_}_{number}>"
