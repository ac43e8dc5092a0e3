"""Credentials without a vendor prefix: JWTs, passwords in URLs and connection strings, and
high-entropy values assigned to names such as ``password``, ``secret`` or ``api_key``.

Placeholders (``changeme``, ``<your-key>``, ``${TOKEN}``, ``****``) are not secrets and are
skipped, so documentation and config templates do not lift a request's class.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import Counter

from zonegate.guards.base import Finding
from zonegate.guards.detectors._base import BuiltinDetector, glued
from zonegate.guards.detectors._scan import lowered, positions

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_URL_PASSWORD = re.compile(r"://([^\s:/?#@\"'<>]*):([^\s/?#@\"'<>]+)@")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,20}\Z")
_CONN_PASSWORD = re.compile(
    r"(?:password|passwd|pwd)\s*=\s*"
    r"(?:\"([^\"\r\n]{1,256})\"|'([^'\r\n]{1,256})'|\{([^}\r\n]{1,256})\}|([^;\s\"'{][^;\s]{0,255}))",
    re.IGNORECASE,
)
# Matched against the lower-cased text.
_CONN_CONTEXT = re.compile(
    r"(?:server|data source|host|hostname|user id|uid|user|username|database|dbname|initial catalog"
    r"|port|dsn|driver|provider)\s*="
)
_CONN_WINDOW = 160

# A word that says the value is a secret; the name around it runs over name characters, then
# comes ':' or '=' (or the next text of a request, when a JSON key and its value were collected
# apart), then the value, quoted or bare.
_SECRET_WORD = re.compile(
    r"passw(?:or)?d|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
    r"|auth[_-]?key|credential|signing[_-]?key|encryption[_-]?key|master[_-]?key|session[_-]?key",
    re.IGNORECASE,
)
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_VALUE = re.compile(
    r"[\"']?(?:\s*[:=]>?\s*|\n\x00\n)"
    r"(?:\"([^\"\r\n]{1,512})\"|'([^'\r\n]{1,512})'|([^\s\"',;)(\]\[{}<>]{1,512}))"
)
_SECRET_HINTS = ("pass", "pwd", "secret", "token", "key", "credential")  # substrings of the words
_PLACEHOLDER = re.compile(
    r"(?:^[<\[{(].*[>\]})]$|^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$|^%[A-Za-z_]+%$|^\{\{.*\}\}$"
    r"|^(.)\1*$|^[*xX.#?_-]+$"
    r"|change[_-]?me|changeit|your[_-]|my[_-]?(?:password|secret|token|key)|example|placeholder"
    r"|dummy|redacted|sample|foobar|xxxx|\*\*\*|todo|fixme|replace[_-]?me|insert[_-]|enter[_-]"
    r"|^(?:none|null|nil|true|false|undefined|empty|secret|password|passwd|token|test|admin)$)",
    re.IGNORECASE,
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?:\(\))?")
MIN_SECRET_LENGTH = 8
MIN_ENTROPY_BITS = 3.0  # Shannon entropy per character


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s character distribution."""
    if not value:
        return 0.0
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in Counter(value).values())


def is_placeholder(value: str) -> bool:
    """Template text rather than a credential: ``<your-key>``, ``${TOKEN}``, ``changeme``..."""
    return _PLACEHOLDER.search(value) is not None


class JwtDetector(BuiltinDetector):
    """JSON Web Tokens: three base64url segments whose header decodes to JSON naming an ``alg``."""

    __slots__ = ()
    type = "jwt"

    def detect(self, text: str) -> list[Finding]:
        if "eyJ" not in text:
            return []
        return [
            self._finding(m.start(), m.end())
            for m in _JWT.finditer(text)
            if not glued(text, m.start(), m.end()) and _jwt_header_ok(m.group())
        ]


def _jwt_header_ok(token: str) -> bool:
    header = token.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (ValueError, binascii.Error):
        return False
    return isinstance(decoded, dict) and isinstance(decoded.get("alg"), str)


class UrlPasswordDetector(BuiltinDetector):
    """Passwords in URLs (``scheme://user:password@host``); the finding is the password."""

    __slots__ = ()
    type = "url_password"

    def detect(self, text: str) -> list[Finding]:
        if "://" not in text or "@" not in text:
            return []
        return [
            self._finding(m.start(2), m.end(2))
            for m in _URL_PASSWORD.finditer(text)
            if _SCHEME.search(text, max(0, m.start() - 21), m.start()) is not None
            and not is_placeholder(m.group(2))
        ]


class ConnectionStringPasswordDetector(BuiltinDetector):
    """``Password=...`` in database connection strings (ADO.NET, ODBC, JDBC, libpq key=value);
    counted only beside another connection key (``Server=``, ``host=``, ``User ID=``...)."""

    __slots__ = ()
    type = "connection_string_password"

    def detect(self, text: str) -> list[Finding]:
        low = lowered(text)
        if "pass" not in low and "pwd" not in low:
            return []
        found: list[Finding] = []
        starts = sorted({*positions(low, "pass"), *positions(low, "pwd")})
        for start in starts:
            m = _CONN_PASSWORD.match(text, start)
            if m is None:
                continue
            if m.start() > 0 and text[m.start() - 1] in _NAME_CHARS:
                continue  # DB_PASSWORD=..., left to the assignment detector
            group = next(g for g in (1, 2, 3, 4) if m.group(g) is not None)
            value = m.group(group)
            if is_placeholder(value):
                continue
            low_start, low_end = max(0, m.start() - _CONN_WINDOW), m.end() + _CONN_WINDOW
            if _CONN_CONTEXT.search(low, low_start, low_end) is None:
                continue
            found.append(self._finding(m.start(group), m.end(group)))
        return found


class SecretAssignmentDetector(BuiltinDetector):
    """High-entropy values assigned to names like ``password``, ``secret``, ``token``,
    ``api_key`` (``DB_PASSWORD=...``, ``"client_secret": "..."``, ``token: ...``)."""

    __slots__ = ()
    type = "secret_assignment"

    def detect(self, text: str) -> list[Finding]:
        low = lowered(text)
        hits = sorted({i for hint in _SECRET_HINTS for i in positions(low, hint)})
        found: list[Finding] = []
        name_end = -1
        for hit in hits:
            if hit < name_end:
                continue  # inside a name already looked at ("secret_token")
            name_start = hit
            while name_start > 0 and text[name_start - 1] in _NAME_CHARS:
                name_start -= 1
            name_end = hit
            while name_end < len(text) and text[name_end] in _NAME_CHARS:
                name_end += 1
            if name_start > 0 and text[name_start - 1] in _NAME_CHARS:
                continue
            if _SECRET_WORD.search(text, name_start, name_end) is None:
                continue
            m = _VALUE.match(text, name_end)
            if m is None:
                continue
            group = next(g for g in (1, 2, 3) if m.group(g) is not None)
            if _looks_secret(m.group(group), quoted=group != 3):
                found.append(self._finding(m.start(group), m.end(group)))
        return found


def _looks_secret(value: str, *, quoted: bool) -> bool:
    value = value.strip()
    if len(value) < MIN_SECRET_LENGTH or " " in value:
        return False
    if is_placeholder(value):
        return False
    if not quoted and _IDENTIFIER.fullmatch(value) and not any(c.isdigit() for c in value):
        return False  # code: ``token = get_token()``, ``password: settings.DB_PASSWORD``
    return shannon_entropy(value) >= MIN_ENTROPY_BITS
