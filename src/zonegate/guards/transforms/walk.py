"""One pass over a request body: a deep copy, and every scanned text with where it goes back.

Two ways to decide which texts there are:

- aligned with classification: the texts are exactly ``collect_texts(body)``, the sequence the
  classifier scanned, matched to their places by identity while walking in the same document
  order. Findings of that classification (reused, or computed again) then index straight into
  the slots, so the transform replaces exactly what set the data class.
- on its own (``aligned=None``): every string value except the top-level ``model``, every object
  key not in ``clean_keys``, every integer as its decimal text; used if the two walks ever
  disagree (``Misaligned``).

Keys and numbers are collected too although they cannot be rewritten: a finding there refuses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from zonegate.guards.transforms.placeholders import PLACEHOLDER_SHAPE

# What a text is, which decides what may be done with it.
TEXT, ARGUMENTS, NAME, KEY, NUMBER = range(5)

# A path as a linked list, (parent, key or index), turned into text only for an error message.
Node = tuple[Any, str | int] | None

_SHORT = 16  # clean values are short; a longer text is never looked up


class Misaligned(Exception):
    """The body's texts are not, in order, the sequence given to align with."""


class Collected:
    """The copy (``body``) and, per text: the text, its kind, its container in the copy and
    key there (``None`` for keys and numbers), and its path."""

    __slots__ = ("body", "kinds", "literals", "nodes", "places", "texts")

    def __init__(self) -> None:
        self.body: dict[str, Any] = {}
        self.texts: list[str] = []
        self.kinds: list[int] = []
        self.places: list[tuple[Any, Any]] = []
        self.nodes: list[Node] = []
        self.literals: set[str] = set()  # text already shaped like a pseudonym


def collect(
    body: Mapping[str, Any],
    *,
    aligned: Sequence[str] | None = None,
    clean_keys: frozenset[str] = frozenset(),
    clean_values: frozenset[str] = frozenset(),
) -> Collected:
    """Copy ``body`` and collect its texts, aligned with ``aligned`` when it is given."""
    walker = _Walker(aligned, clean_keys, clean_values)
    walker.out.body = walker.mapping(body, None, top=True)
    if aligned is not None and len(walker.out.texts) != len(aligned):
        raise Misaligned
    return walker.out


def path_of(node: Node) -> list[str | int]:
    segments: list[str | int] = []
    while node is not None:
        node, segment = node
        segments.append(segment)
    segments.reverse()
    return segments


def is_name_field(node: Node) -> bool:
    """``messages[i].name``, ``functions[i].name`` or any ``function.name``: identifiers."""
    path = path_of(node)
    if len(path) >= 2 and path[-2] in ("function", "function_call"):
        return True
    return len(path) == 3 and path[0] in ("messages", "functions")


class _Walker:
    __slots__ = ("aligned", "clean_keys", "clean_values", "out")

    def __init__(
        self,
        aligned: Sequence[str] | None,
        clean_keys: frozenset[str],
        clean_values: frozenset[str],
    ) -> None:
        self.aligned = aligned
        self.clean_keys = clean_keys
        self.clean_values = clean_values
        self.out = Collected()

    def add(self, text: str, kind: int, container: Any, key: Any, node: Node) -> None:
        out = self.out
        if self.aligned is not None:
            expected = self.aligned
            at = len(out.texts)
            if at >= len(expected):
                raise Misaligned
            seen = expected[at]
            if seen is not text and (kind != NUMBER or seen != text):
                raise Misaligned
        if "<" in text:
            out.literals.update(PLACEHOLDER_SHAPE.findall(text))
        out.texts.append(text)
        out.kinds.append(kind)
        out.places.append((container, key))
        out.nodes.append(node)

    def key(self, key: str, value: Any, node: Node) -> None:
        aligned = self.aligned
        if aligned is None:
            if key not in self.clean_keys:
                self.add(key, KEY, None, None, node)
            return
        # Classification skips field-name keys. Matching by identity can only mistake such a key
        # for an identical string object next to it; every slot still holds the very text
        # classification scanned at its index, so no finding is lost. The common such case,
        # {"content": "content"}, is told apart by whether the text appears once or twice.
        at = len(self.out.texts)
        if at < len(aligned) and aligned[at] is key:
            if value is key and not (at + 1 < len(aligned) and aligned[at + 1] is key):
                return
            self.add(key, KEY, None, None, node)

    def value(self, text: str, kind: int, container: Any, key: Any, node: Node) -> None:
        if self.aligned is None and len(text) <= _SHORT and text in self.clean_values:
            return
        self.add(text, kind, container, key, node)

    def mapping(self, value: Mapping[Any, Any], node: Node, top: bool = False) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        aligned = self.aligned
        texts = self.out.texts
        for k, v in value.items():
            if top and k == "model":
                out[k] = v
                continue
            # In step with classification, only a key it scanned can be the next text.
            at = len(texts)
            if (aligned is None or (at < len(aligned) and aligned[at] is k)) and isinstance(k, str):
                self.key(k, v, node)
            child = (node, k)
            if isinstance(v, str):
                out[k] = v
                kind = TEXT
                if k == "arguments":
                    kind = ARGUMENTS
                elif k == "name" and is_name_field(child):
                    kind = NAME
                self.value(v, kind, out, k, child)
            else:
                out[k] = self.other(v, child)
        return out

    def sequence(self, value: Sequence[Any], node: Node) -> list[Any]:
        out: list[Any] = []
        for i, item in enumerate(value):
            if isinstance(item, str):
                out.append(item)
                self.value(item, TEXT, out, i, (node, i))
            else:
                out.append(self.other(item, (node, i)))
        return out

    def other(self, value: Any, node: Node) -> Any:
        kind = type(value)
        if kind is dict:
            return self.mapping(value, node)
        if kind is list:
            return self.sequence(value, node)
        if value is None or kind is bool or kind is float:
            return value
        if isinstance(value, Mapping):
            return self.mapping(value, node)
        if isinstance(value, list | tuple):
            return self.sequence(value, node)
        if isinstance(value, int) and not isinstance(value, bool):
            self.add(str(value), NUMBER, None, None, node)
        return value
