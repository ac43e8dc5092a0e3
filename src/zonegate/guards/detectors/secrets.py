"""Credential detectors: private key blocks, AWS access key ids, ``sk-`` API keys.

A secret is never allowed to leave with the request, whatever the route: these map to the
highest class in the default config. Patterns are compiled once, at import.
"""

from __future__ import annotations

import re

from zonegate.guards.base import Finding
from zonegate.guards.detectors._base import BuiltinDetector

# A PEM / OpenSSH / PGP private key block runs from its BEGIN line to the next END line. Without
# an END line (a truncated paste), it covers the header and the base64 lines that follow it.
_KEY_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_KEY_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_KEY_BODY = re.compile(
    r"(?:\r?\n(?:(?:Proc-Type|DEK-Info|Comment|Version): [^\r\n]*"
    r"|[A-Za-z0-9+/=]+(?=\r?\n|\Z)))*"
)

_AWS_ACCESS_KEY = re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])")

# OpenAI (sk-..., sk-proj-..., sk-svcacct-..., sk-admin-...) and Anthropic (sk-ant-...) keys.
_KEY_KINDS = r"(?:proj|svcacct|admin|ant)-"
_API_KEY = re.compile(
    rf"(?<![A-Za-z0-9_-])sk-(?:{_KEY_KINDS}|(?!{_KEY_KINDS}))([A-Za-z0-9_-]{{20,}})"
)
# A lower-case, hyphenated slug ("sk-learn-is-a-python-library") is prose, not a key.
_SLUG = re.compile(r"[a-z-]+")


class PrivateKeyDetector(BuiltinDetector):
    """``-----BEGIN ... PRIVATE KEY-----`` blocks (RSA, EC, DSA, OpenSSH, PKCS#8, PGP)."""

    __slots__ = ()
    type = "private_key"

    def detect(self, text: str) -> list[Finding]:
        if "PRIVATE KEY" not in text:
            return []
        found: list[Finding] = []
        pos = 0
        end_seen = True  # False once no END line is left: later blocks are all truncated
        while (begin := _KEY_BEGIN.search(text, pos)) is not None:
            end = _KEY_END.search(text, begin.end()) if end_seen else None
            if end is None:
                end_seen = False
                stop = _KEY_BODY.match(text, begin.end())
                pos = stop.end() if stop is not None else begin.end()
            else:
                pos = end.end()
            found.append(self._finding(begin.start(), pos))
        return found


class AwsAccessKeyDetector(BuiltinDetector):
    """AWS access key ids: ``AKIA`` (long-term) or ``ASIA`` (temporary) and 16 characters."""

    __slots__ = ()
    type = "aws_access_key"

    def detect(self, text: str) -> list[Finding]:
        if "AKIA" not in text and "ASIA" not in text:
            return []
        return [self._finding(m.start(), m.end()) for m in _AWS_ACCESS_KEY.finditer(text)]


class ApiKeyDetector(BuiltinDetector):
    """``sk-`` API keys (OpenAI, Anthropic) with at least 20 key characters after the prefix."""

    __slots__ = ()
    type = "api_key"

    def detect(self, text: str) -> list[Finding]:
        if "sk-" not in text:
            return []
        return [
            self._finding(m.start(), m.end())
            for m in _API_KEY.finditer(text)
            if _SLUG.fullmatch(m.group(1)) is None
        ]
