"""The built-in config: one local zone, the bundled SmolLM2 model, a default route and team."""

from __future__ import annotations

from zonegate.config.builtin import BUILTIN_MODEL_ID, builtin_config
from zonegate.config.schema import (
    BUILTIN_MODEL_REF,
    BUILTIN_MODEL_SHA256,
    Config,
    LlamaCppProviderConfig,
)


def test_builtin_is_valid_and_round_trips() -> None:
    config = builtin_config()
    assert Config.model_validate(config.model_dump()) == config


def test_builtin_shape() -> None:
    config = builtin_config()
    assert config.data_classes == ["public", "internal", "confidential", "restricted"]
    assert list(config.zones) == ["local"]
    zone = config.zones["local"]
    assert (zone.operator, zone.ceiling, zone.region) == ("self", "restricted", None)
    assert list(config.models) == [BUILTIN_MODEL_ID] == ["smollm2-135m"]
    model = config.models[BUILTIN_MODEL_ID]
    assert model.zone == "local"
    assert isinstance(model.provider, LlamaCppProviderConfig)
    assert model.provider.model_path == BUILTIN_MODEL_REF
    assert model.provider.sha256 == BUILTIN_MODEL_SHA256
    assert (model.provider.n_ctx, model.provider.max_concurrency) == (2048, 1)
    assert model.version == "SmolLM2-135M-Instruct Q4_1"
    assert config.routes["default"].candidates == [BUILTIN_MODEL_ID]
    team = config.teams["default"]
    assert (team.routes, team.models) == (["*"], ["*"])
    assert config.detectors["payment_card"].data_class == "restricted"


def test_builtin_retention_keeps_only_hashes_of_sensitive_content() -> None:
    config = builtin_config()
    assert config.retention_for("public").content == "full"
    assert config.retention_for("internal").content == "full"
    assert config.retention_for("confidential").content == "hash"
    assert config.retention_for("restricted").content == "hash"


def test_builtin_has_no_vendor_zone() -> None:
    assert all(z.operator == "self" for z in builtin_config().zones.values())
