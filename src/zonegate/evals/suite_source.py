"""Suite files as plain values, remembering lines: ``suite.yaml`` and JSONL items.

Suites are data that is hashed into a version, so they are read more strictly than YAML and
JSON readers usually are: a repeated key is an error (not a silent override), values must be
plain JSON (no dates, sets or ``NaN``), and nothing is interpolated from the environment (the
same file must mean the same thing on every machine). Every problem names its file and line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from zonegate.errors import ConfigError, ConfigProblem

KeyPath = tuple[str | int, ...]
MAX_VALUES = 1_000_000  # values a document may expand to (aliases included)
_MERGE = "tag:yaml.org,2002:merge"
_TOO_DEEP = "the document is nested too deeply; flatten it"


class _SuiteLoader(yaml.SafeLoader):
    """The safe loader, with dates kept as the text they were written as."""


_SuiteLoader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    lambda loader, node: loader.construct_scalar(node),  # type: ignore[arg-type]
)


@dataclass(frozen=True)
class YamlDoc:
    """A parsed YAML document and the line of each key path in it."""

    data: Any
    lines: Mapping[KeyPath, int]

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor that is in the file."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of ``path``; ``ConfigError`` saying why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        message = f"{what} not found: check the path"
    except IsADirectoryError:
        message = f"{what} is a directory, not a file"
    except UnicodeDecodeError as exc:
        message = f"{what} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
    except OSError as exc:
        message = f"cannot read the {what}: {exc.strerror or exc}; check its permissions"
    raise ConfigError([ConfigProblem(message, source=str(path))])


def read_yaml(text: str, source: str) -> YamlDoc:
    """One YAML document with its lines; ``ConfigError`` for syntax errors and repeated keys."""
    loader = _SuiteLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            detail = exc.problem or "invalid YAML"
            line = mark.line + 1 if mark is not None else None
            raise ConfigError(
                [ConfigProblem(f"invalid YAML: {detail}", source=source, line=line)]
            ) from None
        except yaml.YAMLError as exc:
            raise ConfigError([ConfigProblem(f"invalid YAML: {exc}", source=source)]) from None
        except RecursionError:
            raise ConfigError([ConfigProblem(_TOO_DEEP, source=source)]) from None
        if node is None:
            return YamlDoc(None, {})
        walker = _LineWalker(source)
        try:
            walker.walk(node, ())
            data = None if walker.problems else loader.construct_document(node)
        except RecursionError:
            raise ConfigError([ConfigProblem(_TOO_DEEP, source=source)]) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            detail = getattr(exc, "problem", None) or str(exc)
            raise ConfigError(
                [ConfigProblem(f"unsupported YAML: {detail}", source=source, line=line)]
            ) from None
    finally:
        loader.dispose()
    if walker.problems:
        raise ConfigError(walker.problems)
    return YamlDoc(data, walker.lines)


class _LineWalker:
    """Records the line of every key path; reports repeated keys and runaway aliases."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[KeyPath, int] = {}
        self.problems: list[ConfigProblem] = []
        self._seen = 0

    def walk(self, node: Node, path: KeyPath) -> None:
        self._seen += 1
        if self._seen > MAX_VALUES:
            if self._seen == MAX_VALUES + 1:
                self._problem(f"the document expands to more than {MAX_VALUES} values", node)
            return
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, SequenceNode):
            for i, child in enumerate(node.value):
                self.walk(child, (*path, i))
        elif isinstance(node, MappingNode):
            first: dict[str, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE or not isinstance(key_node, ScalarNode):
                    continue
                key = str(key_node.value)
                line = key_node.start_mark.line + 1
                if key in first:
                    self._problem(
                        f"key {key!r} appears twice (lines {first[key]} and {line}); keep one",
                        key_node,
                    )
                    continue
                first[key] = line
                self.lines[(*path, key)] = line
                self.walk(value_node, (*path, key))

    def _problem(self, message: str, node: Node) -> None:
        self.problems.append(
            ConfigProblem(message, source=self.source, line=node.start_mark.line + 1)
        )


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} appears twice in one object; keep one")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_pairs, parse_constant=_no_constant)


def parse_json_line(text: str) -> Any:
    """One JSON value, strictly (no repeated keys, no ``NaN``); ``ValueError`` says why."""
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON at column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise ValueError("invalid JSON: nested too deeply") from None


def read_jsonl(text: str, source: str) -> tuple[list[tuple[int, Any]], list[ConfigProblem]]:
    """``(line number, value)`` for each non-blank line, and a problem for each bad one."""
    values: list[tuple[int, Any]] = []
    problems: list[ConfigProblem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values.append((number, parse_json_line(line)))
        except ValueError as exc:
            problems.append(ConfigProblem(str(exc), source=source, line=number))
    return values, problems


def json_problem(value: Any, path: KeyPath = ()) -> tuple[KeyPath, str] | None:
    """Where ``value`` stops being plain JSON (text keys; finite numbers) and why, or ``None``."""
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, f"{value} is not a JSON number")
    if isinstance(value, list):
        for i, child in enumerate(value):
            found = json_problem(child, (*path, i))
            if found is not None:
                return found
        return None
    if isinstance(value, dict):
        for key, child in value.items():
            if not isinstance(key, str):
                return (path, f"key {key!r} is not text: quote it")
            found = json_problem(child, (*path, key))
            if found is not None:
                return found
        return None
    return (path, f"a {type(value).__name__} is not a JSON value: write plain text or numbers")
