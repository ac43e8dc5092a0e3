"""What an audit record keeps of a request's content, per the data class's retention rule.

``none`` keeps nothing; ``hash`` keeps SHA-256 digests (enough to prove later what was sent
without keeping it); ``redacted`` keeps a copy with every string, object key and integer passed
through the redaction function (the detectors scan all three); ``full`` keeps everything. When
``redacted`` is asked for but no redaction function is available, or it fails, hashes are kept
instead and the result says so: keeping less than asked is safe, keeping more is not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from zonegate.audit.chain import canonical_json

Redactor = Callable[[str], str]

CONTENT_MODES = ("none", "hash", "redacted", "full")


def retained_content(
    mode: str,
    request_body: Mapping[str, Any],
    response_text: str | None,
    *,
    redacted: Redactor | None = None,
) -> dict[str, Any] | None:
    """The ``content`` field of an audit record; ``mode`` is one of :data:`CONTENT_MODES`.

    The result's ``"mode"`` key says what was actually kept (``"hash"`` when ``redacted`` was
    asked for without a redaction function).
    """
    if mode == "none":
        return None
    if mode == "hash":
        return _hashes(request_body, response_text)
    if mode == "redacted":
        if redacted is None:
            return _hashes_instead(
                request_body, response_text, "no redaction function was available"
            )
        try:
            return {
                "mode": "redacted",
                "request": _redact_strings(request_body, redacted),
                "response": None if response_text is None else redacted(response_text),
            }
        except Exception as exc:  # a detector failed: keep less, never the raw text
            return _hashes_instead(
                request_body, response_text, f"redaction failed ({type(exc).__name__})"
            )
    if mode == "full":
        return {"mode": "full", "request": dict(request_body), "response": response_text}
    raise ValueError(f"unknown content retention mode {mode!r} (known: {', '.join(CONTENT_MODES)})")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hashes(request_body: Mapping[str, Any], response_text: str | None) -> dict[str, Any]:
    return {
        "mode": "hash",
        "request_sha256": _sha256(canonical_json(request_body)),
        "response_sha256": None if response_text is None else _sha256(response_text.encode()),
    }


def _hashes_instead(
    request_body: Mapping[str, Any], response_text: str | None, why: str
) -> dict[str, Any]:
    kept = _hashes(request_body, response_text)
    kept["requested_mode"] = "redacted"
    kept["note"] = f"{why}, so only hashes were kept"
    return kept


def _redact_strings(value: Any, redact: Redactor) -> Any:
    """Apply ``redact`` to every string, key and integer in a JSON-like structure.

    An integer whose digits hold a finding (a card number sent as a JSON number) becomes the
    redacted string; other integers stay numbers.
    """
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact(str(k)): _redact_strings(v, redact) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_strings(v, redact) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        digits = str(value)
        masked = redact(digits)
        return value if masked == digits else masked
    return value
