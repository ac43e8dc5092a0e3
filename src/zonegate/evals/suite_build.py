"""What every suite format shares: item and scorer checks, assembly, and the version.

The version is the SHA-256 of the canonical content: the validated suite (prompts already
turned into messages, a system prompt applied) as JSON with sorted keys and no spaces. So
formatting, comments and key order in the files never change it, and any edit to what is
measured does: an item, the order of items, a scorer option, a parameter, the name or the
description. ``SUITE_FORMAT`` is part of the content, so a change to its meaning shows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from zonegate.errors import ConfigError, ConfigProblem
from zonegate.evals.scorers.registry import available_scorers, build_scorer, item_problem
from zonegate.evals.suite_schema import (
    SUITE_FORMAT,
    ItemModel,
    ScorerEntry,
    bare_name,
    problems_from,
)
from zonegate.evals.suite_source import KeyPath, json_problem, read_jsonl, read_text
from zonegate.evals.types import Item, Scorer, ScorerSpec, Suite

MAX_PROBLEMS = 100

LineOf = Callable[[KeyPath], int | None]


def on_line(number: int | None) -> LineOf:
    """A ``LineOf`` placing every key path on one line (a JSONL record, an export header)."""
    return lambda _path: number


# -- versions -----------------------------------------------------------------------------------


def canonical_content(suite: Suite) -> bytes:
    """The suite's content (everything but its version) as sorted-key compact UTF-8 JSON."""
    content = {
        "format": SUITE_FORMAT,
        "name": suite.name,
        "description": suite.description,
        "route": suite.route,
        "tags": list(suite.tags),
        "parameters": suite.parameters,
        "scorers": [{"name": s.name, "options": s.options} for s in suite.scorers],
        "items": [
            {
                "id": item.id,
                "messages": item.messages,
                "reference": item.reference,
                "rubric": item.rubric,
                "tags": item.tags,
                "metadata": item.metadata,
            }
            for item in suite.items
        ],
    }
    return json.dumps(
        _plain(content), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def suite_version(suite: Suite) -> str:
    """``"sha256:<hex>"`` of ``canonical_content(suite)``."""
    return "sha256:" + hashlib.sha256(canonical_content(suite)).hexdigest()


def short_version(version: str) -> str:
    """The first 12 hex digits of a version, as listings show it."""
    return version.removeprefix("sha256:")[:12]


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass
class Problems:
    """Problems found so far; at most ``MAX_PROBLEMS`` are kept, the rest counted."""

    found: list[ConfigProblem] = field(default_factory=list)
    dropped: int = 0

    def add(self, problem: ConfigProblem) -> None:
        if len(self.found) < MAX_PROBLEMS:
            self.found.append(problem)
        else:
            self.dropped += 1

    def extend(self, problems: Iterable[ConfigProblem]) -> None:
        for problem in problems:
            self.add(problem)

    def raise_if_any(self) -> None:
        if not self.found:
            return
        order = {source: i for i, source in reversed(list(enumerate(p.source for p in self.found)))}
        found = sorted(self.found, key=lambda p: (order[p.source], p.line or 0))
        if self.dropped:
            found.append(ConfigProblem(f"... and {self.dropped} more problems"))
        raise ConfigError(found)


@dataclass(frozen=True)
class LocatedItem:
    """An item and where it was written, so later checks can name the line."""

    item: Item
    source: str
    line: int | None


def scorer_entries(raw: Any) -> list[tuple[int, ScorerEntry]]:
    """The well-formed entries of a raw ``scorers`` list with their positions (the malformed
    ones are reported by the schema), so scorers are checked even when other keys are bad."""
    if not isinstance(raw, list):
        return []
    entries = []
    for i, value in enumerate(raw):
        try:
            entries.append((i, ScorerEntry.model_validate(bare_name(value))))
        except ValidationError:
            continue
    return entries


def check_scorers(
    entries: Sequence[tuple[int, ScorerEntry]],
    problems: Problems,
    *,
    source: str,
    line_of: LineOf,
) -> list[Scorer]:
    """Build each scorer entry (which checks its options); the ones that could be built."""
    installed = available_scorers()
    scorers: list[Scorer] = []
    seen: set[str] = set()
    for i, entry in entries:
        path: KeyPath = ("scorers", i)
        message: str | None = None
        if entry.name in seen:
            message = (
                f"scorer {entry.name!r} is listed twice; a suite uses each scorer once "
                "(scores are reported by scorer name)"
            )
        else:
            seen.add(entry.name)
            try:
                scorers.append(build_scorer(ScorerSpec(entry.name, entry.options), installed))
            except ValueError as exc:
                message = str(exc)
        if message is not None:
            problems.add(
                ConfigProblem(message, source=source, line=line_of(path), path=f"scorers.{i}")
            )
    return scorers


def read_item_file(path: Path, problems: Problems, *, system: str | None) -> list[LocatedItem]:
    """The items of a JSONL file, one per non-blank line; problems name the line."""
    try:
        text = read_text(path, "items file")
    except ConfigError as exc:
        problems.extend(exc.problems)
        return []
    values, bad_lines = read_jsonl(text, str(path))
    problems.extend(bad_lines)
    located = []
    for number, raw in values:
        item = validate_item(
            raw,
            problems,
            source=str(path),
            line=number,
            prefix=(),
            line_of=on_line(number),
            system=system,
        )
        if item is not None:
            located.append(item)
    return located


def validate_item(
    raw: Any,
    problems: Problems,
    *,
    source: str,
    line: int | None,
    prefix: KeyPath,
    line_of: LineOf,
    system: str | None,
) -> LocatedItem | None:
    """``raw`` as an ``Item``, or ``None`` with its problems added."""
    bad_json = json_problem(raw)
    if bad_json is not None:
        where, message = bad_json
        path = (*prefix, *where)
        problems.add(
            ConfigProblem(message, source=source, line=line_of(path), path=".".join(map(str, path)))
        )
        return None
    try:
        model = ItemModel.model_validate(raw)
    except ValidationError as exc:
        problems.extend(problems_from(exc, "item", source=source, line_of=line_of, prefix=prefix))
        return None
    return LocatedItem(to_item(model, system=system), source, line)


def to_item(model: ItemModel, *, system: str | None = None) -> Item:
    """The ``Item`` an item entry describes: a prompt becomes one user message, and ``system``
    is put first unless the conversation starts with a system (or developer) message."""
    if model.messages is not None:
        messages = [m.model_dump(exclude_none=True) for m in model.messages]
    else:
        messages = [{"role": "user", "content": model.prompt}]
    if system is not None and messages[0]["role"] not in ("system", "developer"):
        messages.insert(0, {"role": "system", "content": system})
    return Item(
        id=model.id,
        messages=tuple(messages),
        reference=model.reference,
        rubric=model.rubric,
        tags=tuple(model.tags),
        metadata=dict(model.metadata),
    )


def check_items(
    located: Sequence[LocatedItem],
    scorers: Sequence[Scorer],
    problems: Problems,
    *,
    source: str,
    line: int | None,
) -> None:
    """Repeated ids, an empty suite, and items a scorer could not score."""
    first: dict[str, LocatedItem] = {}
    for entry in located:
        seen = first.get(entry.item.id)
        if seen is not None:
            at = (
                f"line {seen.line}" if seen.source == entry.source else f"{seen.source}:{seen.line}"
            )
            problems.add(
                ConfigProblem(
                    f"item id {entry.item.id!r} is already used ({at}); ids are unique in a suite",
                    source=entry.source,
                    line=entry.line,
                    path="id",
                )
            )
            continue
        first[entry.item.id] = entry
        for scorer in scorers:
            problem = item_problem(scorer, entry.item)
            if problem is not None:
                problems.add(
                    ConfigProblem(
                        f"item {entry.item.id!r}: {problem}", source=entry.source, line=entry.line
                    )
                )
    if not located and not problems.found:
        problems.add(ConfigProblem("the suite has no items", source=source, line=line))


def make_suite(
    *,
    name: str,
    description: str,
    route: str | None,
    tags: Sequence[str],
    parameters: Mapping[str, Any],
    scorers: Sequence[ScorerEntry],
    items: Sequence[Item],
) -> Suite:
    """A ``Suite`` with its version computed from its content."""
    suite = Suite(
        name=name,
        description=description,
        version="",
        scorers=tuple(ScorerSpec(s.name, dict(s.options)) for s in scorers),
        items=tuple(items),
        parameters=dict(parameters),
        route=route,
        tags=tuple(tags),
    )
    return replace(suite, version=suite_version(suite))
