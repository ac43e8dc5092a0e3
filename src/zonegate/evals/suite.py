"""Load and find suites.

A suite is a directory holding ``suite.yaml`` and ``items.jsonl``, or a single YAML file whose
``items`` key is a JSONL path relative to it or an inline list of items, or a portable export
(``*.jsonl``, see ``zonegate.evals.portable``). ``suite.yaml`` holds ``name``, ``description``,
``route`` (the workload it stands for), ``tags``, ``parameters`` (request defaults such as
``temperature`` and ``max_tokens``), ``scorers`` (entry-point names with ``options``), an
optional ``system`` prompt given to every item without one, and ``items``. Each item has an
``id``, a ``prompt`` (one user message) or ``messages``, and optionally ``reference``,
``rubric``, ``tags`` and ``metadata``.

Loading checks everything before anything runs and reports every problem at once, each with its
file and line: schema errors, repeated item ids, unknown scorers, bad scorer options (each
scorer is built), and items a scorer could not score (a label outside the allowed ones). The
version is computed from the content (``zonegate.evals.suite_build``), never written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from zonegate.errors import ConfigError, ConfigProblem
from zonegate.evals.portable import export_suite, export_text, import_suite
from zonegate.evals.suite_build import (
    LocatedItem,
    Problems,
    canonical_content,
    check_items,
    check_scorers,
    make_suite,
    read_item_file,
    scorer_entries,
    short_version,
    suite_version,
    validate_item,
)
from zonegate.evals.suite_schema import SuiteModel, problems_from
from zonegate.evals.suite_source import KeyPath, YamlDoc, json_problem, read_text, read_yaml
from zonegate.evals.types import Suite

__all__ = [
    "EXAMPLES_DIR",
    "canonical_content",
    "default_roots",
    "export_suite",
    "export_text",
    "find_suites",
    "import_suite",
    "load_suite",
    "resolve_suite",
    "short_version",
    "suite_paths",
    "suite_version",
]

EXAMPLES_DIR = Path(__file__).resolve().with_name("examples")
SUITE_FILE = "suite.yaml"
USER_DIR = "suites"  # ./suites is searched by default when it exists
SUITE_SUFFIXES = (".suite.yaml", ".suite.yml", ".suite.jsonl")


# -- loading ------------------------------------------------------------------------------------


def load_suite(path: Path) -> Suite:
    """The suite at ``path`` (a directory, a suite YAML file or an export); ``ConfigError``
    listing every problem, each with its file and line."""
    if path.is_dir():
        file = path / SUITE_FILE
        if not file.is_file():
            raise ConfigError(
                [
                    ConfigProblem(
                        f"not a suite: the directory holds no {SUITE_FILE}",
                        source=str(path),
                    )
                ]
            )
        return _load_yaml_suite(file)
    if path.suffix == ".jsonl":
        return import_suite(path)
    return _load_yaml_suite(path)


def _load_yaml_suite(file: Path) -> Suite:
    source = str(file)
    doc = read_yaml(read_text(file, "suite file"), source)
    problems = Problems()
    if not isinstance(doc.data, dict):
        problems.add(
            ConfigProblem(
                "a suite file is a mapping with at least 'name', 'scorers' and 'items'",
                source=source,
                line=doc.line_of(()) or 1,
            )
        )
        problems.raise_if_any()
    data: dict[str, Any] = doc.data
    bad_json = json_problem(data)
    if bad_json is not None:
        where, message = bad_json
        problems.add(_at(doc, source, where, message))
        problems.raise_if_any()
    model: SuiteModel | None = None
    try:
        model = SuiteModel.model_validate(data)
    except ValidationError as exc:
        problems.extend(problems_from(exc, "suite", source=source, line_of=doc.line_of))
    entries = scorer_entries(data.get("scorers"))
    scorers = check_scorers(entries, problems, source=source, line_of=doc.line_of)
    system = data.get("system") if isinstance(data.get("system"), str) else None
    raw_items = data.get("items", "items.jsonl")
    located: list[LocatedItem] = []
    if isinstance(raw_items, str):
        located = read_item_file(file.parent / raw_items, problems, system=system)
    elif isinstance(raw_items, list):
        for i, raw in enumerate(raw_items):
            item = validate_item(
                raw,
                problems,
                source=source,
                line=doc.line_of(("items", i)),
                prefix=("items", i),
                line_of=doc.line_of,
                system=system,
            )
            if item is not None:
                located.append(item)
    check_items(located, scorers, problems, source=source, line=doc.line_of(("items",)))
    problems.raise_if_any()
    assert model is not None  # a model that failed validation left problems
    return make_suite(
        name=model.name,
        description=model.description,
        route=model.route,
        tags=model.tags,
        parameters=model.parameters.model_dump(exclude_none=True),
        scorers=model.scorers,
        items=[entry.item for entry in located],
    )


def _at(doc: YamlDoc, source: str, path: KeyPath, message: str) -> ConfigProblem:
    return ConfigProblem(
        message,
        source=source,
        line=doc.line_of(path),
        path=".".join(str(p) for p in path),
    )


# -- finding ------------------------------------------------------------------------------------


def default_roots(cwd: Path | None = None) -> list[Path]:
    """Where suites are looked for when no path is given: the shipped examples, then
    ``./suites`` when it exists."""
    roots = [EXAMPLES_DIR]
    user = (cwd if cwd is not None else Path.cwd()) / USER_DIR
    if user.is_dir():
        roots.append(user)
    return roots


def suite_paths(paths: Sequence[Path] = (), *, cwd: Path | None = None) -> list[Path]:
    """The suites under ``paths`` (default: ``default_roots``), in order, without repeats.

    A path is a suite itself (a directory with ``suite.yaml``, or a file), or a directory of
    suites: its subdirectories holding ``suite.yaml`` and its files named ``*.suite.yaml``,
    ``*.suite.yml`` or ``*.suite.jsonl``. A path given explicitly that is neither is kept, so
    loading it reports why.
    """
    explicit = bool(paths)
    found: list[Path] = []
    for root in paths or default_roots(cwd):
        if root.is_file() or (root / SUITE_FILE).is_file():
            found.append(root)
            continue
        inside = _suites_in(root) if root.is_dir() else []
        if inside:
            found.extend(inside)
        elif explicit:
            found.append(root)
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def _suites_in(directory: Path) -> list[Path]:
    return [
        child
        for child in sorted(directory.iterdir())
        if (child.is_dir() and (child / SUITE_FILE).is_file())
        or (child.is_file() and child.name.endswith(SUITE_SUFFIXES))
    ]


def find_suites(paths: Sequence[Path] = (), *, cwd: Path | None = None) -> list[Suite]:
    """Every suite under ``paths`` (default: the shipped examples and ``./suites``); a
    ``ConfigError`` lists the problems of every suite that does not load."""
    suites: list[Suite] = []
    problems: list[ConfigProblem] = []
    for path in suite_paths(paths, cwd=cwd):
        if not path.exists():
            problems.append(ConfigProblem("no such file or directory", source=str(path)))
            continue
        try:
            suites.append(load_suite(path))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return suites


def resolve_suite(ref: str | Path, paths: Sequence[Path] = (), *, cwd: Path | None = None) -> Suite:
    """The suite ``ref`` names: a path to one, else the name of a suite under ``paths``."""
    as_path = Path(ref)
    if as_path.exists():
        return load_suite(as_path)
    matches: list[tuple[Path, Suite]] = []
    names: list[str] = []
    broken: list[ConfigProblem] = []
    for path in suite_paths(paths, cwd=cwd):
        try:
            suite = load_suite(path)
        except ConfigError as exc:
            broken.extend(exc.problems)
            continue
        names.append(suite.name)
        if suite.name == str(ref):
            matches.append((path, suite))
    if len(matches) == 1:
        return matches[0][1]
    if matches:
        where = ", ".join(str(p) for p, _ in matches)
        message = f"{len(matches)} suites are named {str(ref)!r} ({where}): give a path instead"
    else:
        message = (
            f"no suite named {str(ref)!r} and no such path; suites found: "
            f"{', '.join(sorted(names)) or 'none'}"
        )
    raise ConfigError([ConfigProblem(message, source=str(ref)), *broken])
