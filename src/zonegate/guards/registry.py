"""Build the configured detectors from the ``zonegate.detectors`` entry points.

Built-in detectors are registered the same way a third-party package registers its own, so a
config names either kind by entry-point name and maps it to a data class.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from zonegate.config.schema import Config
from zonegate.errors import ConfigError, ConfigProblem
from zonegate.guards.base import Detector

GROUP = "zonegate.detectors"


def available_detectors() -> dict[str, EntryPoint]:
    """Every installed detector, by entry-point name."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def load_detectors(config: Config) -> tuple[Detector, ...]:
    """One detector per enabled ``detectors`` entry, in config order; ``ConfigError`` if any fail.

    Every problem is reported at once (unknown names, import failures, bad factories), each with
    its key path, so a config can be fixed in one pass.
    """
    installed = available_detectors()
    problems: list[ConfigProblem] = []
    built: list[Detector] = []
    for name, entry in config.detectors.items():
        if not entry.enabled:
            continue
        path = f"detectors.{name}"
        ep = installed.get(name)
        if ep is None:
            problems.append(
                ConfigProblem(
                    f"unknown detector {name!r}; installed detectors: "
                    f"{', '.join(sorted(installed)) or 'none'} (a plugin registers more under "
                    f"the {GROUP!r} entry-point group)",
                    path=path,
                )
            )
            continue
        try:
            detector = ep.load()(data_class=entry.data_class)
        except Exception as exc:
            problems.append(
                ConfigProblem(
                    f"detector {name!r} ({ep.value}) could not be built: "
                    f"{type(exc).__name__}: {exc}",
                    path=path,
                )
            )
            continue
        if not isinstance(detector, Detector):
            problems.append(
                ConfigProblem(
                    f"detector {name!r} ({ep.value}) does not implement the Detector protocol "
                    "(a 'type' attribute and a 'detect(text)' method)",
                    path=path,
                )
            )
            continue
        built.append(detector)
    if problems:
        raise ConfigError(problems)
    return tuple(built)
