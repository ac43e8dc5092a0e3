"""Find and build scorers from the ``zonegate.scorers`` entry points.

Built-in scorers are registered the same way a third-party package registers its own, so a
suite names either kind by entry-point name. A scorer is built as ``Cls(**options)``; building
it is how its options are checked, so a suite with a bad option fails when it loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points

from zonegate.errors import ConfigError, ConfigProblem
from zonegate.evals.types import Item, Scorer, ScorerSpec, Suite

GROUP = "zonegate.scorers"


def available_scorers() -> dict[str, EntryPoint]:
    """Every installed scorer, by entry-point name."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def build_scorer(spec: ScorerSpec, installed: Mapping[str, EntryPoint] | None = None) -> Scorer:
    """The scorer ``spec`` names, built with its options; ``ValueError`` saying what is wrong."""
    points = available_scorers() if installed is None else installed
    ep = points.get(spec.name)
    if ep is None:
        raise ValueError(
            f"unknown scorer {spec.name!r}; installed scorers: "
            f"{', '.join(sorted(points)) or 'none'} (a plugin registers more under the "
            f"{GROUP!r} entry-point group)"
        )
    try:
        factory = ep.load()
    except Exception as exc:
        raise ValueError(
            f"scorer {spec.name!r} ({ep.value}) could not be imported: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        scorer = factory(**spec.options)
    except (ValueError, TypeError) as exc:
        text = str(exc)
        if repr(spec.name) not in text:
            text = f"bad options for scorer {spec.name!r}: {text}"
        raise ValueError(text) from exc
    except Exception as exc:
        raise ValueError(
            f"scorer {spec.name!r} ({ep.value}) could not be built: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(scorer, Scorer):
        raise ValueError(
            f"scorer {spec.name!r} ({ep.value}) does not implement the Scorer protocol ('name' "
            "and 'needs_judge' attributes and an async 'score(item, output, judge)' method)"
        )
    return scorer


def build_scorers(suite: Suite) -> list[Scorer]:
    """One scorer per ``suite.scorers`` entry, in order; ``ConfigError`` listing every failure."""
    installed = available_scorers()
    problems: list[ConfigProblem] = []
    built: list[Scorer] = []
    for i, spec in enumerate(suite.scorers):
        try:
            built.append(build_scorer(spec, installed))
        except ValueError as exc:
            problems.append(ConfigProblem(str(exc), source=suite.name, path=f"scorers.{i}"))
    if problems:
        raise ConfigError(problems)
    return built


def item_problem(scorer: Scorer, item: Item) -> str | None:
    """Why ``scorer`` cannot score ``item``, from its optional ``check_item`` hook, or ``None``."""
    check = getattr(scorer, "check_item", None)
    if check is None:
        return None
    problem = check(item)
    return problem if isinstance(problem, str) else None
