"""IP addresses, v4 and v6, validated by the standard ``ipaddress`` module.

Addresses that say nothing about anyone are left out: unspecified, loopback, broadcast, link-local
v6 and netmasks. A dotted quad written as a version (``v1.2.3.4``, ``version 1.2.3.4``) or inside a
longer dotted number (an OID, ``1.2.3.4.5``) is not an address.
"""

from __future__ import annotations

import ipaddress
import re

from zonegate.guards.base import Finding
from zonegate.guards.detectors._base import WORD_CHARS, BuiltinDetector
from zonegate.guards.detectors._scan import has_digit, number_runs

_IPV4 = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}")
# Hex groups and colons with at least two colons, optionally ending in a dotted quad.
_IPV6 = re.compile(r"[0-9A-Fa-f:]{2,39}")
_BROADCAST = 0xFFFFFFFF  # 255.255.255.255
_HEX_COLON = frozenset("0123456789ABCDEFabcdef:")
_HEX_COLON_RUN = re.compile(r"[0-9A-Fa-f:]+")
_COLON_PAIR = re.compile(r":[0-9A-Fa-f]{0,4}:")
_V4_TAIL = re.compile(r"(?:\.[0-9]{1,3}){3}")
_VERSION = re.compile(
    r"(?:^|[^A-Za-z])(?:version|ver\.?|v\.?|release|rel|build|firmware|fw)[ :=]*\Z", re.IGNORECASE
)


class IpAddressDetector(BuiltinDetector):
    """IPv4 and IPv6 addresses of hosts."""

    __slots__ = ()
    type = "ip_address"

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        v6: list[tuple[int, int]] = []
        if "::" in text or text.count(":") >= 7:
            for low, high in _colon_runs(text):
                for m6 in _IPV6.finditer(text, low, high):
                    if m6.group().count(":") < 2:
                        continue
                    end = m6.end()
                    tail = _V4_TAIL.match(text, end)
                    if tail is not None and text[end - 1].isdigit():
                        end = tail.end()  # an IPv4-mapped address, ::ffff:192.0.2.128
                    if _ipv6_kept(text, m6.start(), end):
                        v6.append((m6.start(), end))
        if "." in text and has_digit(text):
            for run in number_runs(text).with_digits(4, 12):
                m = _IPV4.match(text, run.start, run.end)
                if m is None:
                    continue
                start, end = m.start(), m.end()
                if any(s <= start and end <= e for s, e in v6):
                    continue
                if _ipv4_kept(text, start, end):
                    found.append(self._finding(start, end))
        if v6:
            found.extend(self._finding(s, e) for s, e in v6)
            found.sort(key=lambda f: f.start)
        return found


def _colon_runs(text: str) -> list[tuple[int, int]]:
    """The maximal runs of hex digits and colons that hold two colons at most four hex digits
    apart.

    Only these can hold an IPv6 address; prose has hex-letter runs ("face", "de") in almost
    every word, and matching each of them cost more than the rest of the detector.
    """
    runs: list[tuple[int, int]] = []
    covered = -1
    for pair in _COLON_PAIR.finditer(text):
        colon = pair.start()
        if colon < covered:
            continue
        start = colon
        while start > 0 and text[start - 1] in _HEX_COLON:
            start -= 1
        match = _HEX_COLON_RUN.match(text, colon)
        covered = colon + 1 if match is None else match.end()
        if text.count(":", start, covered) >= 2:
            runs.append((start, covered))
    return runs


def _ipv4_kept(text: str, start: int, end: int) -> bool:
    if start > 0:
        before = text[start - 1]
        if before in WORD_CHARS or (before == "." and start > 1 and text[start - 2].isalnum()):
            return False
    if end < len(text):
        after = text[end]
        if after in WORD_CHARS:
            return False
        if after == "." and end + 1 < len(text) and text[end + 1].isalnum():
            return False
    try:
        address = ipaddress.IPv4Address(text[start:end])
    except ValueError:
        return False
    if _VERSION.search(text, max(0, start - 12), start) is not None:
        return False
    return not (
        address.is_unspecified
        or address.is_loopback
        or int(address) == _BROADCAST
        or _is_netmask(int(address))
    )


def _is_netmask(value: int) -> bool:
    """255.255.255.0 and friends: ones, then zeros (starting with 255, so not a host)."""
    inverted = ~value & 0xFFFFFFFF
    return value >> 24 == 0xFF and inverted & (inverted + 1) == 0


def _ipv6_kept(text: str, start: int, end: int) -> bool:
    if start > 0 and (text[start - 1] in WORD_CHARS or text[start - 1] in ":."):
        return False
    if end < len(text) and (text[end] in WORD_CHARS or text[end] in ":."):
        return False
    value = text[start:end]
    try:
        address = ipaddress.IPv6Address(value)
    except ValueError:
        return False
    if "::" not in value and value.count(":") != 7:
        return False
    return not (address.is_unspecified or address.is_loopback or address.is_link_local)
