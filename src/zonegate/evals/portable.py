"""A suite as one portable JSONL file: the way out to other tools, and back in.

Line 1 is a header: ``{"zonegate_suite": 1, "name", "description", "route", "tags",
"parameters", "scorers", "version", "items": <count>}``; every further line is one item as
``{"id", "messages", "reference", "rubric", "tags", "metadata"}`` (empty fields left out).
Messages are written out in full (a suite's ``system`` prompt is already in them), so any tool
that reads chat-formatted JSONL can use the items without knowing zonegate.

Importing recomputes the version from the content and refuses a file whose header names a
different one: an exported suite comes back with the same version, and an edited file is not
silently passed off as the suite it was. To accept edits as a new version, delete the header's
``version``; ``items`` (the count) is checked the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from zonegate.errors import ConfigProblem
from zonegate.evals.suite_build import (
    LocatedItem,
    Problems,
    check_items,
    check_scorers,
    make_suite,
    on_line,
    scorer_entries,
    short_version,
    validate_item,
)
from zonegate.evals.suite_schema import SUITE_FORMAT, ExportHeader, problems_from
from zonegate.evals.suite_source import read_jsonl, read_text
from zonegate.evals.types import Item, Suite


def export_text(suite: Suite) -> str:
    """The suite as portable JSONL text (see the module docstring); deterministic."""
    header: dict[str, Any] = {
        "zonegate_suite": SUITE_FORMAT,
        "name": suite.name,
        "description": suite.description,
        "route": suite.route,
        "tags": list(suite.tags),
        "parameters": dict(suite.parameters),
        "scorers": [{"name": s.name, "options": dict(s.options)} for s in suite.scorers],
        "version": suite.version,
        "items": len(suite.items),
    }
    if header["route"] is None:
        del header["route"]
    lines = [_dumps(header)]
    lines.extend(_dumps(_item_record(item)) for item in suite.items)
    return "\n".join(lines) + "\n"


def export_suite(suite: Suite, path: Path) -> None:
    """Write ``export_text(suite)`` to ``path`` (UTF-8)."""
    path.write_text(export_text(suite), encoding="utf-8")


def _item_record(item: Item) -> dict[str, Any]:
    record: dict[str, Any] = {"id": item.id, "messages": [dict(m) for m in item.messages]}
    if item.reference is not None:
        record["reference"] = item.reference
    if item.rubric is not None:
        record["rubric"] = item.rubric
    if item.tags:
        record["tags"] = list(item.tags)
    if item.metadata:
        record["metadata"] = dict(item.metadata)
    return record


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)


def import_suite(path: Path) -> Suite:
    """The suite in an exported JSONL file; ``ConfigError`` naming file and line of each
    problem, including a version or item count that does not match the content."""
    source = str(path)
    values, bad_lines = read_jsonl(read_text(path, "suite export"), source)
    problems = Problems()
    problems.extend(bad_lines)
    if not values or values[0][0] != 1 or not isinstance(values[0][1], dict):
        problems.add(
            ConfigProblem(
                "the first line of a suite export is its header, a JSON object with "
                "'zonegate_suite': 1",
                source=source,
                line=1,
            )
        )
        problems.raise_if_any()
    header_raw = values[0][1]
    header: ExportHeader | None = None
    try:
        header = ExportHeader.model_validate(header_raw)
    except ValidationError as exc:
        problems.extend(problems_from(exc, "header", source=source, line_of=on_line(1)))
    scorers = check_scorers(
        scorer_entries(header_raw.get("scorers")), problems, source=source, line_of=on_line(1)
    )
    located: list[LocatedItem] = []
    for number, raw in values[1:]:
        item = validate_item(
            raw,
            problems,
            source=source,
            line=number,
            prefix=(),
            line_of=on_line(number),
            system=None,
        )
        if item is not None:
            located.append(item)
    check_items(located, scorers, problems, source=source, line=1)
    problems.raise_if_any()
    assert header is not None  # a header that failed validation left problems
    suite = make_suite(
        name=header.name,
        description=header.description,
        route=header.route,
        tags=header.tags,
        parameters=header.parameters.model_dump(exclude_none=True),
        scorers=header.scorers,
        items=[entry.item for entry in located],
    )
    if header.items is not None and header.items != len(suite.items):
        problems.add(
            ConfigProblem(
                f"the header says {header.items} items but the file holds {len(suite.items)}: "
                "lines were added or lost (fix the file, or delete the header's 'items')",
                source=source,
                line=1,
                path="items",
            )
        )
    if header.version is not None and header.version != suite.version:
        problems.add(
            ConfigProblem(
                f"the content's version is {short_version(suite.version)}, not the header's "
                f"{short_version(header.version)}: the file was edited after export (delete the "
                "header's 'version' to accept the edits as a new version)",
                source=source,
                line=1,
                path="version",
            )
        )
    problems.raise_if_any()
    return suite
