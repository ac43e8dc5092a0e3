"""YAML text -> plain Python values, remembering the line of every key and list item.

PyYAML's loaders forget positions and silently keep the last of two equal keys. Here the node
tree is composed with the safe loader and values are built by hand, so that every later error
can name its line and a duplicated key is an error instead of a silent override. String
values (never keys) get ``${NAME}`` interpolation on the way (see ``interpolate``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from zonegate.config.interpolate import InterpolationError, interpolate
from zonegate.errors import ConfigProblem

Path_ = tuple[str | int, ...]

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
MAX_VALUES = 100_000
_TYPED = frozenset(
    {
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
    }
)


@dataclass(frozen=True)
class SourceDoc:
    """A parsed document: its values, where each key path sits, and what went wrong on the way."""

    data: Any
    lines: Mapping[Path_, int]
    interpolated: frozenset[Path_]
    problems: tuple[ConfigProblem, ...]
    # Paths whose value could not be built (already reported): later checks skip them.
    unusable: frozenset[Path_] = frozenset()

    def line_of(self, path: Path_) -> int | None:
        """The line of ``path``, or of its nearest ancestor that is in the file."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def dotted(path: Path_) -> str:
    """``("models", "x", "provider")`` -> ``"models.x.provider"``."""
    return ".".join(str(p) for p in path)


def parse_yaml(text: str, *, source: str, env: Mapping[str, str]) -> SourceDoc:
    """Parse one YAML document; syntax errors come back as a single problem with its line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = exc.problem or "invalid YAML"
        if exc.context:
            detail = f"{detail} ({exc.context})"
        line = mark.line + 1 if mark is not None else None
        problem = ConfigProblem(
            f"invalid YAML: {detail}; fix the syntax near this line",
            source=source,
            line=line,
        )
        return SourceDoc(None, {}, frozenset(), (problem,))
    except yaml.YAMLError as exc:
        problem = ConfigProblem(f"invalid YAML: {exc}", source=source)
        return SourceDoc(None, {}, frozenset(), (problem,))
    if root is None:
        return SourceDoc(None, {}, frozenset(), ())
    builder = _Builder(source, env)
    builder.lines[()] = root.start_mark.line + 1
    data = builder.build(root, ())
    return SourceDoc(
        data,
        builder.lines,
        frozenset(builder.interpolated),
        tuple(builder.problems),
        frozenset(builder.unusable),
    )


class _Builder:
    """Builds values from composed nodes, recording positions and problems."""

    def __init__(self, source: str, env: Mapping[str, str]) -> None:
        self.source = source
        self.env = env
        self.lines: dict[Path_, int] = {}
        self.interpolated: set[Path_] = set()
        self.problems: list[ConfigProblem] = []
        self.unusable: set[Path_] = set()
        self._built = 0
        self._constructor = SafeConstructor()
        self._open: set[int] = set()

    def problem(self, message: str, path: Path_, node: Node, *, unusable: bool = True) -> None:
        if unusable:
            self.unusable.add(path)
        self.problems.append(
            ConfigProblem(
                message, path=dotted(path), source=self.source, line=node.start_mark.line + 1
            )
        )

    def build(self, node: Node, path: Path_) -> Any:
        self._built += 1
        if self._built > MAX_VALUES:
            if self._built == MAX_VALUES + 1:
                self.problem(
                    f"the document expands to more than {MAX_VALUES} values (aliases?); "
                    "write it out more plainly",
                    path,
                    node,
                )
            return None
        if id(node) in self._open:
            self.problem("an alias refers to a node that contains it; remove the cycle", path, node)
            return None
        self._open.add(id(node))
        try:
            if not isinstance(node, ScalarNode) and node.tag not in (_MAP, _SEQ):
                self.problem(
                    f"unsupported YAML tag {node.tag!r}: write a plain value instead", path, node
                )
                return None
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                items = []
                for i, item in enumerate(node.value):
                    self.lines[(*path, i)] = item.start_mark.line + 1
                    items.append(self.build(item, (*path, i)))
                return items
            assert isinstance(node, ScalarNode)
            return self._scalar(node, path)
        finally:
            self._open.discard(id(node))

    def _scalar(self, node: ScalarNode, path: Path_) -> Any:
        if node.tag == _STR:
            text = str(node.value)
            try:
                value = interpolate(text, self.env)
            except InterpolationError as exc:
                self.problem(str(exc), path, node)
                return text
            if value != text:
                self.interpolated.add(path)
            return value
        if node.tag in _TYPED:
            return self._constructor.construct_object(node, deep=True)
        if node.tag == _TIMESTAMP:
            # Dates stay text: a version like 2024-07-18 is a string in this schema.
            return str(node.value)
        self.problem(f"unsupported YAML tag {node.tag!r}: write a plain value instead", path, node)
        return None

    def _mapping(self, node: MappingNode, path: Path_) -> dict[str, Any]:
        entries: dict[str, tuple[Node, Node]] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                self.problem("a key must be a plain name, not a list or mapping", path, key_node)
                continue
            key = str(key_node.value)
            if key in entries:
                first = entries[key][0].start_mark.line + 1
                self.problem(
                    f"key {key!r} appears twice (lines {first} and "
                    f"{key_node.start_mark.line + 1}); keep only one",
                    (*path, key),
                    key_node,
                    unusable=False,
                )
                continue
            entries[key] = (key_node, value_node)
        for source_node in merges:
            for key, pair in self._merge_sources(source_node, path).items():
                entries.setdefault(key, pair)
        result: dict[str, Any] = {}
        for key, (key_node, value_node) in entries.items():
            self.lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, (*path, key))
        return result

    def _merge_sources(self, node: Node, path: Path_) -> dict[str, tuple[Node, Node]]:
        """The entries a ``<<:`` merge key brings in (earlier sources win, as in YAML)."""
        sources = node.value if isinstance(node, SequenceNode) else [node]
        merged: dict[str, tuple[Node, Node]] = {}
        for source_node in sources:
            if not isinstance(source_node, MappingNode):
                self.problem("'<<' must name a mapping (or a list of them)", path, source_node)
                continue
            for key_node, value_node in source_node.value:
                if isinstance(key_node, ScalarNode) and key_node.tag != _MERGE:
                    merged.setdefault(str(key_node.value), (key_node, value_node))
        return merged
