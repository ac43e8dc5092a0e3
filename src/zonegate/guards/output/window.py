"""A bounded hold-back window that scans streamed text before it reaches the caller.

A value split across chunks is only recognisable once its pieces are together, so the last
``HOLD`` characters of a stream stay un-emitted until more text arrives or the stream ends. Text
is scanned when ``2 * HOLD`` characters are pending; everything but the last ``HOLD`` is then
released, with its hits redacted. So at most ``2 * HOLD - 1`` characters (511 with the default,
i.e. 511 bytes of ASCII, at most 2,044 bytes of UTF-8) are held back at any time, and each
character is scanned about twice, never quadratically.

A hit that crosses the release point is held back whole, from its start, so it is redacted in
one piece; a value still growing past ``MAX_HOLD`` characters cannot be redacted whole within the
bound, so the answer is blocked instead (fail closed). The last ``CONTEXT`` released characters
are kept (not re-emitted) as left context, so detectors that need a preceding word ("born on
...") still see it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NoReturn

from zonegate.guards.output.rules import Hit
from zonegate.guards.output.scan import blocked_types, output_blocked, redact

HOLD = 256
CONTEXT = 64
MAX_HOLD = 16_384

Find = Callable[[str], list[Hit]]
Block = Callable[[Mapping[str, int]], NoReturn]


def _raise_blocked(types: Mapping[str, int]) -> NoReturn:
    raise output_blocked(dict(types))


class TextWindow:
    """Guards one stream of text fragments (one choice's content, for instance)."""

    __slots__ = ("_block", "_context", "_counts", "_find", "_next_scan", "_pending", "hold")

    def __init__(
        self,
        find: Find,
        counts: dict[str, int],
        *,
        block: Block = _raise_blocked,
        hold: int = HOLD,
    ) -> None:
        self._find = find
        self._block = block  # records and raises when a hit's action is "block"
        self._counts = counts  # redacted, by type; shared with the owner
        self._pending = ""
        self._context = ""
        self.hold = hold
        self._next_scan = 2 * hold

    def __repr__(self) -> str:
        return f"TextWindow(holding {len(self._pending)} chars)"

    @property
    def held(self) -> int:
        return len(self._pending)

    def feed(self, fragment: str) -> str:
        """What may be released now that ``fragment`` arrived (possibly ``""``)."""
        self._pending += fragment
        if len(self._pending) < self._next_scan:
            return ""
        return self._release(final=False)

    def flush(self) -> str:
        """At the end of the stream: everything still held, scanned and redacted."""
        if not self._pending:
            return ""
        return self._release(final=True)

    def _release(self, *, final: bool) -> str:
        text = self._context + self._pending
        off = len(self._context)
        hits = [h for h in self._find(text) if h.end > off]
        blocked = blocked_types(hits)
        if blocked:
            self._block(blocked)
        size = len(text)
        cut = size
        if not final:
            cut = self._cut(hits, size - self.hold, off)
            if size - cut > MAX_HOLD:  # a value that cannot be bounded: fail closed
                self._block({h.type: 1 for h in hits if h.start < size - self.hold < h.end})
        self._next_scan = max(2 * self.hold, size - cut + self.hold)
        if cut <= off:
            return ""
        shown = [
            Hit(max(h.start, off) - off, min(h.end, cut) - off, h.type, h.action)
            for h in hits
            if h.start < cut
        ]
        released = redact(text[off:cut], shown, self._counts)
        self._context = text[max(0, cut - CONTEXT) : cut]
        self._pending = text[cut:]
        return released

    @staticmethod
    def _cut(hits: list[Hit], cut: int, floor: int) -> int:
        """Move ``cut`` back before every hit that crosses it (hits may chain)."""
        moved = True
        while moved:
            moved = False
            for hit in hits:
                if hit.start < cut < hit.end and cut > floor:
                    cut = max(hit.start, floor)
                    moved = True
        return cut
