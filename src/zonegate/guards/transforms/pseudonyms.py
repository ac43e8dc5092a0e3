"""One request's pseudonym mapping, and restoring it in what the model sends back.

The mapping lives in this object only: the gateway keeps it in memory for the request and drops
it with the response. Nothing here logs it, and its repr shows how many values it holds, never
which.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from zonegate.guards.transforms.placeholders import PLACEHOLDER_SHAPE

if TYPE_CHECKING:
    from zonegate.guards.transforms.chunks import ChunkRestorer
    from zonegate.wire.openai_chat import ChatCompletion


class Pseudonyms:
    """Placeholder -> original value for one request."""

    __slots__ = ("_escaped", "_max_len", "_prefixes", "_values")

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self._escaped: dict[str, str] | None = None
        self._prefixes: frozenset[str] | None = None
        self._max_len = max((len(p) for p in self._values), default=0)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Pseudonyms({len(self._values)} values)"

    __str__ = __repr__

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The placeholders in use (safe to show: they carry no values)."""
        return tuple(self._values)

    @property
    def max_hold(self) -> int:
        """The most characters (ASCII, so also bytes) a stream restorer holds back."""
        return max(self._max_len - 1, 0)

    def restore(self, text: str, *, json_string: bool = False) -> str:
        """``text`` with every placeholder of this request replaced by its value.

        ``json_string``: the text is JSON (tool-call arguments, a JSON response format) and the
        placeholders sit inside JSON strings, so values are inserted JSON-escaped.
        """
        if "<" not in text or not self._values:
            return text
        values = self.lookup(json_string=json_string)
        return PLACEHOLDER_SHAPE.sub(lambda m: values.get(m[0], m[0]), text)

    def lookup(self, *, json_string: bool = False) -> Mapping[str, str]:
        """Placeholder -> the text that replaces it (JSON-escaped for ``json_string``)."""
        if not json_string:
            return self._values
        if self._escaped is None:
            self._escaped = {
                p: json.dumps(v, ensure_ascii=False)[1:-1] for p, v in self._values.items()
            }
        return self._escaped

    def prefixes(self) -> frozenset[str]:
        """Every proper prefix of every placeholder: what a stream may have to wait on."""
        if self._prefixes is None:
            self._prefixes = frozenset(p[:i] for p in self._values for i in range(1, len(p)))
        return self._prefixes

    def stream_restorer(self, *, json_string: bool = False) -> StreamRestorer:
        """A restorer for one stream of text fragments (one choice's content, one tool call)."""
        return StreamRestorer(self, json_string=json_string)

    def restore_completion(
        self, completion: ChatCompletion, *, json_content: bool = False
    ) -> ChatCompletion:
        """A copy of ``completion`` with every choice's text and tool-call arguments restored."""
        from zonegate.guards.transforms.chunks import restore_completion

        return restore_completion(self, completion, json_content=json_content)

    def chunk_restorer(self, *, json_content: bool = False) -> ChunkRestorer:
        """A restorer for one streamed response (all its choices and tool calls)."""
        from zonegate.guards.transforms.chunks import ChunkRestorer

        return ChunkRestorer(self, json_content=json_content)


class StreamRestorer:
    """Restores placeholders in text that arrives in fragments.

    ``feed`` releases everything that can no longer become part of a placeholder and holds back
    only a suffix that is a proper prefix of one of this request's placeholders: at most
    ``Pseudonyms.max_hold`` characters (62 at the very worst, 8 for ``<EMAIL_1>``). Text that
    looked like the start of a placeholder but turns out not to be one is released unchanged as
    soon as that is certain.
    """

    __slots__ = ("_held", "_longest", "_prefixes", "_values")

    def __init__(self, pseudonyms: Pseudonyms, *, json_string: bool = False) -> None:
        self._values = pseudonyms.lookup(json_string=json_string)
        self._prefixes = pseudonyms.prefixes()
        self._longest = pseudonyms.max_hold + 1
        self._held = ""

    def __repr__(self) -> str:
        return f"StreamRestorer(holding {len(self._held)} chars)"

    @property
    def held(self) -> int:
        """How many characters are held back now."""
        return len(self._held)

    def feed(self, text: str) -> str:
        """The restored text that can be released now."""
        text = self._held + text if self._held else text
        if "<" not in text or not self._values:
            self._held = ""
            return text
        values = self._values
        out: list[str] = []
        pos = 0
        for m in PLACEHOLDER_SHAPE.finditer(text):
            value = values.get(m[0])
            if value is not None:
                out.append(text[pos : m.start()])
                out.append(value)
                pos = m.end()
        cut = text.rfind("<", pos)
        if cut != -1 and len(text) - cut < self._longest and text[cut:] in self._prefixes:
            self._held = text[cut:]
            out.append(text[pos:cut])
        else:
            self._held = ""
            out.append(text[pos:])
        return "".join(out)

    def flush(self) -> str:
        """What is still held back, at the end of the stream (it was not a placeholder)."""
        held, self._held = self._held, ""
        return held
