"""Build the configured detectors from the ``zonegate.detectors`` entry points.

Built-in detectors are registered the same way a third-party package registers its own, so a
config names either kind by entry-point name and maps it to a data class.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from zonegate.config.schema import Config, KeywordsDetectorConfig, RegexDetectorConfig
from zonegate.errors import ConfigError, ConfigProblem
from zonegate.guards.base import Detector
from zonegate.guards.detectors.custom import KeywordDetector, RegexDetector

GROUP = "zonegate.detectors"


def available_detectors() -> dict[str, EntryPoint]:
    """Every installed detector, by entry-point name."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def load_detectors(config: Config) -> tuple[Detector, ...]:
    """One detector per enabled ``detectors`` entry, in config order, then one per enabled
    ``custom_detectors`` entry; ``ConfigError`` if any fail.

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
            detector = ep.load()(data_class=entry.data_class, **entry.options)
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
    for name, custom in config.custom_detectors.items():
        if custom.enabled:
            try:
                built.append(build_custom(name, custom))
            except ValueError as exc:
                problems.append(ConfigProblem(str(exc), path=f"custom_detectors.{name}"))
    if problems:
        raise ConfigError(problems)
    return tuple(built)


def build_custom(name: str, entry: RegexDetectorConfig | KeywordsDetectorConfig) -> Detector:
    """The detector a ``custom_detectors`` entry describes (its pattern was checked at load)."""
    if isinstance(entry, RegexDetectorConfig):
        return RegexDetector(
            name, entry.pattern, data_class=entry.data_class, case_sensitive=entry.case_sensitive
        )
    return KeywordDetector(
        name, entry.words, data_class=entry.data_class, case_sensitive=entry.case_sensitive
    )
