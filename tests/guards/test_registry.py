from __future__ import annotations

import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from zonegate.config.schema import DEFAULT_DETECTORS, Config
from zonegate.errors import ConfigError
from zonegate.guards import registry
from zonegate.guards.base import Finding
from zonegate.guards.registry import available_detectors, load_detectors

BUILTIN = list(DEFAULT_DETECTORS)
OPTIONAL = ("ner",)  # declared, but not in the default set
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def declared() -> list[EntryPoint]:
    """The detector entry points pyproject.toml declares (whether or not reinstalled since)."""
    table = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    points = table["project"]["entry-points"][registry.GROUP]
    return [EntryPoint(name, value, registry.GROUP) for name, value in points.items()]


def make_config(detectors: dict[str, dict[str, object]] | None = None) -> Config:
    raw: dict[str, object] = {
        "zones": {"local": {"ceiling": "restricted"}},
        "models": {"m": {"zone": "local", "provider": {"type": "llamacpp"}}},
    }
    if detectors is not None:
        raw["detectors"] = detectors
    return Config.model_validate(raw)


def test_every_default_detector_is_declared_and_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    points = [p for p in declared() if p.name not in OPTIONAL]
    assert [p.name for p in points] == BUILTIN
    monkeypatch.setattr(registry, "entry_points", lambda group: points)
    detectors = load_detectors(make_config())
    assert [d.type for d in detectors] == BUILTIN
    for detector in detectors:
        assert detector.data_class == DEFAULT_DETECTORS[detector.type].data_class  # type: ignore[attr-defined]
        assert detector.joinable is True  # type: ignore[attr-defined]


def test_every_builtin_is_registered_as_an_entry_point() -> None:
    assert set(BUILTIN) <= set(available_detectors())


def test_default_config_builds_every_builtin_with_its_class() -> None:
    detectors = load_detectors(make_config())
    assert [d.type for d in detectors] == BUILTIN
    for detector in detectors:
        assert detector.data_class == DEFAULT_DETECTORS[detector.type].data_class  # type: ignore[attr-defined]


def test_entries_change_the_builtins_field_by_field() -> None:
    detectors = load_detectors(
        make_config(
            {
                "api_key": {"data_class": "confidential"},
                "email": {"data_class": "internal"},
                "iban": {"enabled": False},
            }
        )
    )
    by_type = {d.type: d for d in detectors}
    assert [d.type for d in detectors] == [n for n in BUILTIN if n != "iban"]
    assert by_type["email"].detect("a@example.com") == [Finding("email", 0, 13, "internal")]
    assert by_type["api_key"].data_class == "confidential"  # type: ignore[attr-defined]
    assert by_type["payment_card"].data_class == "restricted"  # type: ignore[attr-defined]


def test_leaving_the_builtins_out_keeps_them_and_only_enabled_false_drops_them() -> None:
    assert [d.type for d in load_detectors(make_config({}))] == BUILTIN
    all_off = {name: {"enabled": False} for name in BUILTIN}
    assert load_detectors(make_config(all_off)) == ()


def test_builtins_left_on_a_missing_class_are_named_together() -> None:
    with pytest.raises(ValueError, match="built-in detectors imply data class 'confidential'"):
        Config.model_validate(
            {
                "data_classes": ["open", "restricted"],
                "zones": {"local": {"ceiling": "restricted"}},
                "models": {"m": {"zone": "local", "provider": {"type": "llamacpp"}}},
            }
        )


def test_custom_detectors_follow_the_built_ins() -> None:
    config = Config.model_validate(
        {
            "zones": {"local": {"ceiling": "restricted"}},
            "models": {"m": {"zone": "local", "provider": {"type": "llamacpp"}}},
            "detectors": {"email": {"data_class": "confidential"}},
            "custom_detectors": {
                "tickets": {"kind": "regex", "pattern": "ACME-[0-9]{6}", "data_class": "internal"},
                "off": {
                    "kind": "keywords",
                    "words": ["x"],
                    "data_class": "internal",
                    "enabled": False,
                },
                "names": {"kind": "keywords", "words": ["Orion"], "data_class": "confidential"},
            },
        }
    )
    detectors = load_detectors(config)
    assert [d.type for d in detectors] == [*BUILTIN, "tickets", "names"]
    assert detectors[-1].detect("Orion") == [Finding("names", 0, 5, "confidential")]


def test_unknown_detector_lists_the_installed_ones() -> None:
    with pytest.raises(ConfigError) as info:
        load_detectors(
            make_config(
                {"email": {"data_class": "internal"}, "codenames": {"data_class": "internal"}}
            )
        )
    (problem,) = info.value.problems
    assert problem.path == "detectors.codenames"
    assert "unknown detector 'codenames'" in problem.message
    assert "api_key, aws_access_key, azure_key" in problem.message


class NotADetector:
    def __init__(self, *, data_class: str) -> None:
        self.data_class = data_class


class Exploding:
    def __init__(self, *, data_class: str) -> None:
        raise RuntimeError("no model file")


def test_broken_plugins_are_reported_together(monkeypatch: pytest.MonkeyPatch) -> None:
    group = registry.GROUP
    fake = [
        EntryPoint("shapeless", f"{__name__}:NotADetector", group),
        EntryPoint("exploding", f"{__name__}:Exploding", group),
        EntryPoint("missing", "zonegate_no_such_module:Thing", group),
    ]
    monkeypatch.setattr(registry, "entry_points", lambda group: fake)
    with pytest.raises(ConfigError) as info:
        load_detectors(
            make_config(
                {name: {"data_class": "internal"} for name in ["shapeless", "exploding", "missing"]}
            )
        )
    problems = {p.path: p.message for p in info.value.problems}
    assert "does not implement the Detector protocol" in problems["detectors.shapeless"]
    assert "RuntimeError: no model file" in problems["detectors.exploding"]
    assert "ModuleNotFoundError" in problems["detectors.missing"]


def test_no_installed_detectors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "entry_points", lambda group: [])
    with pytest.raises(ConfigError, match="installed detectors: none"):
        load_detectors(make_config({"email": {"data_class": "internal"}}))
