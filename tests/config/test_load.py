"""Loading: resolution, the example and built-in configs, and every error kind with line + path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from zonegate.config.builtin import builtin_config
from zonegate.config.load import (
    BUILTIN_SOURCE,
    LoadedConfig,
    check_config,
    load_config,
    load_config_text,
)
from zonegate.config.schema import LlamaCppProviderConfig, OpenAICompatProviderConfig
from zonegate.config.snapshot import config_hash
from zonegate.errors import ConfigError, ConfigProblem

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hybrid.yaml"

VALID = """\
zones:
  local:
    ceiling: restricted
  vendor:
    ceiling: internal
    operator: openai
    region: us
models:
  small:
    zone: local
    provider:
      type: llamacpp
  chat:
    zone: vendor
    provider:
      type: openai_compat
      base_url: https://api.example.com/v1
      model: chat-1
      api_key: env:VENDOR_API_KEY
routes:
  assistant:
    candidates: [chat, small]
teams:
  default:
    routes: ["*"]
"""


def line_no(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the ``nth`` line of ``text`` that contains ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[nth - 1]


def problems_of(text: str, env: dict[str, str] | None = None) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as info:
        load_config_text(textwrap.dedent(text), source="cfg.yaml", env=env or {})
    return info.value.problems


def only_problem(text: str, env: dict[str, str] | None = None) -> ConfigProblem:
    problems = problems_of(text, env)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_example_hybrid_loads_with_defaults() -> None:
    loaded = load_config(EXAMPLE, env={})
    config = loaded.config
    assert loaded.source == str(EXAMPLE)
    assert loaded.hash == config_hash(config)
    assert set(config.zones) == {"local", "vendor"}
    assert config.zones["vendor"].ceiling == "internal"
    assert config.zones["local"].ceiling == "restricted"
    vendor = config.models["vendor-chat"]
    assert vendor.zone == "vendor"
    assert isinstance(vendor.provider, OpenAICompatProviderConfig)
    assert vendor.provider.base_url == "https://api.openai.com/v1"
    assert vendor.provider.model == "gpt-4o-mini"
    assert vendor.provider.api_key == "env:VENDOR_API_KEY"
    local = config.models["smollm2-135m"]
    assert isinstance(local.provider, LlamaCppProviderConfig)
    assert local.zone == "local"
    assert config.routes["assistant"].candidates == ["vendor-chat", "smollm2-135m"]
    assert config.teams["default"].routes == ["*"]


def test_example_hybrid_takes_values_from_the_environment() -> None:
    env = {"VENDOR_BASE_URL": "http://127.0.0.1:9999/v1", "VENDOR_MODEL": "m-2024-07-18"}
    provider = load_config(EXAMPLE, env=env).config.models["vendor-chat"].provider
    assert isinstance(provider, OpenAICompatProviderConfig)
    assert provider.base_url == "http://127.0.0.1:9999/v1"
    assert provider.model == "m-2024-07-18"


def test_no_path_and_no_file_in_cwd_gives_the_builtin(tmp_path: Path) -> None:
    loaded = load_config(None, cwd=tmp_path)
    assert loaded == LoadedConfig(builtin_config(), BUILTIN_SOURCE, config_hash(builtin_config()))


def test_no_path_uses_zonegate_yaml_in_cwd(tmp_path: Path) -> None:
    (tmp_path / "zonegate.yaml").write_text(VALID)
    loaded = load_config(None, cwd=tmp_path, env={})
    assert loaded.source == str(tmp_path / "zonegate.yaml")
    assert set(loaded.config.models) == {"small", "chat"}


def test_check_config_is_empty_for_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(VALID)
    assert check_config(path, env={}) == []
    assert check_config(EXAMPLE, env={}) == []


def test_missing_file_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    problems = check_config(path)
    assert len(problems) == 1
    assert problems[0].source == str(path)
    assert "not found" in problems[0].message


def test_directory_is_one_problem(tmp_path: Path) -> None:
    (problem,) = check_config(tmp_path)
    assert "directory" in problem.message


def test_unknown_key_at_depth() -> None:
    text = VALID + "server:\n  port: 8000\n  hots: 0.0.0.0\n"
    problem = only_problem(text)
    assert problem.path == "server.hots"
    assert problem.line == line_no(text, "hots:") == 28
    assert problem.source == "cfg.yaml"
    assert "unknown key 'hots'" in problem.message
    assert "allowed here: host, port" in problem.message
    assert "did you mean 'host'" in problem.message


def test_unknown_key_inside_a_provider() -> None:
    text = VALID.replace("      model: chat-1\n", "      model: chat-1\n      temprature: 0.2\n")
    problem = only_problem(text)
    assert problem.path == "models.chat.provider.temprature"
    assert problem.line == 19
    assert "allowed here:" in problem.message
    assert "base_url" in problem.message


def test_wrong_type() -> None:
    problem = only_problem(VALID + "server:\n  port: eighty\n")
    assert problem.path == "server.port"
    assert problem.line == 27
    assert "integer" in problem.message


def test_literal_api_key_says_how_to_reference_it() -> None:
    text = VALID.replace("api_key: env:VENDOR_API_KEY", "api_key: sk-live-abc123")
    problem = only_problem(text)
    assert problem.path == "models.chat.provider.api_key"
    assert problem.line == 19
    assert "env:NAME" in problem.message
    assert "file:/" in problem.message
    assert "sk-live-abc123" not in str(problem)


def test_interpolated_literal_api_key_is_rejected_with_a_hint() -> None:
    text = VALID.replace("api_key: env:VENDOR_API_KEY", "api_key: ${KEY}")
    problem = only_problem(text, env={"KEY": "sk-live-abc123"})
    assert problem.path == "models.chat.provider.api_key"
    assert "interpolation" in problem.message
    assert "sk-live-abc123" not in str(problem)


def test_literal_credential_header() -> None:
    text = VALID.replace(
        "      model: chat-1\n", "      model: chat-1\n      headers: {X-Api-Key: abc}\n"
    )
    problem = only_problem(text)
    assert problem.path == "models.chat.provider.headers"
    assert problem.line == 19
    assert "'X-Api-Key'" in problem.message


def test_unknown_model_in_a_route_candidate() -> None:
    problem = only_problem(VALID.replace("candidates: [chat, small]", "candidates: [chat, tiny]"))
    assert problem.path == "routes.assistant.candidates.1"
    assert problem.line == 22
    assert "unknown model 'tiny'" in problem.message


def test_unknown_zone_reference() -> None:
    problem = only_problem(VALID.replace("zone: local", "zone: onprem"))
    assert problem.path == "models.small.zone"
    assert problem.line == 10
    assert "unknown zone 'onprem'" in problem.message


def test_reference_path_with_dotted_names() -> None:
    text = VALID.replace("  assistant:", "  team.a/b:").replace("[chat, small]", "[chat, x]")
    problem = only_problem(text)
    assert problem.path == "routes.team.a/b.candidates.1"
    assert problem.line == 22


def test_duplicate_key_names_both_lines() -> None:
    problem = only_problem(VALID + "server:\n  port: 1\n  host: h\n  port: 2\n")
    assert problem.path == "server.port"
    assert problem.line == 29
    assert problem.message.startswith("key 'port' appears twice (lines 27 and 29)")


def test_duplicate_top_level_key() -> None:
    problem = only_problem(VALID + "zones:\n  other: {ceiling: public}\n")
    assert problem.path == "zones"
    assert problem.line == 26
    assert "lines 1 and 26" in problem.message


def test_yaml_syntax_error_has_its_line() -> None:
    problem = only_problem("zones:\n  local:\n    ceiling: [restricted\nmodels: {}\n")
    assert problem.line == 4
    assert problem.message.startswith("invalid YAML:")


def test_tab_indentation_is_a_syntax_error() -> None:
    problem = only_problem("zones:\n\tlocal: {}\n")
    assert problem.line == 2
    assert "invalid YAML" in problem.message


def test_missing_env_var_in_interpolation() -> None:
    problem = only_problem(VALID.replace("model: chat-1", "model: ${CHAT_MODEL}"))
    assert problem.path == "models.chat.provider.model"
    assert problem.line == 18
    assert "CHAT_MODEL" in problem.message
    assert "${CHAT_MODEL:-default}" in problem.message


def test_interpolation_default_and_value() -> None:
    text = VALID.replace("model: chat-1", "model: ${CHAT_MODEL:-chat-2}") + (
        "server:\n  port: ${PORT:-8123}\n"
    )
    loaded = load_config_text(text, env={})
    assert loaded.config.server.port == 8123
    provider = loaded.config.models["chat"].provider
    assert isinstance(provider, OpenAICompatProviderConfig)
    assert provider.model == "chat-2"
    loaded = load_config_text(text, env={"CHAT_MODEL": "chat-3", "PORT": "9000"})
    assert loaded.config.server.port == 9000
    provider = loaded.config.models["chat"].provider
    assert isinstance(provider, OpenAICompatProviderConfig)
    assert provider.model == "chat-3"


def test_escaped_interpolation_is_literal() -> None:
    text = VALID.replace("  default:\n", "  default:\n    purposes: ['$${NOT_A_VAR}']\n")
    loaded = load_config_text(text, env={})
    assert loaded.config.teams["default"].purposes == ["${NOT_A_VAR}"]


def test_missing_required_key_points_at_its_parent() -> None:
    problem = only_problem(VALID.replace("    ceiling: internal\n", ""))
    assert problem.path == "zones.vendor.ceiling"
    assert problem.line == 4
    assert "missing required key 'ceiling'" in problem.message


def test_unknown_provider_type() -> None:
    problem = only_problem(VALID.replace("type: llamacpp", "type: gguf"))
    assert problem.path == "models.small.provider"
    assert problem.line == 11
    assert "'llamacpp', 'openai_compat'" in problem.message


def test_invalid_name() -> None:
    name, ref = problems_of(VALID.replace("  vendor:\n", "  'vendor zone':\n", 1))
    assert (name.path, name.line) == ("zones.vendor zone", 4)
    assert "invalid name 'vendor zone'" in name.message
    # The renamed zone no longer matches the model's reference: reported in the same run.
    assert (ref.path, ref.line) == ("models.chat.zone", 14)
    assert "unknown zone 'vendor'" in ref.message


def test_all_problems_are_reported_at_once() -> None:
    text = (
        VALID.replace("    region: us\n", "    regoin: us\n")
        .replace("candidates: [chat, small]", "candidates: [chat, nowhere]")
        .replace("default:\n", "default:\n    clearance: top-secret\n")
        + "server:\n  port: lots\n"
    )
    problems = problems_of(text)
    assert [(p.path, p.line) for p in problems] == [
        ("zones.vendor.regoin", line_no(text, "regoin")),
        ("routes.assistant.candidates.1", line_no(text, "nowhere")),
        ("teams.default.clearance", line_no(text, "top-secret")),
        ("server.port", line_no(text, "port: lots")),
    ]
    assert [p.line for p in problems] == [7, 22, 25, 28]
    assert all(p.source == "cfg.yaml" for p in problems)


def test_three_errors_give_three_problems() -> None:
    text = VALID.replace("model: chat-1", "model: ${UNSET_MODEL}").replace(
        "zone: local", "zone: elsewhere"
    ) + ("server:\n  max_body_bytes: 10\n")
    problems = problems_of(text)
    assert len(problems) == 3
    assert {p.path for p in problems} == {
        "models.small.zone",
        "models.chat.provider.model",
        "server.max_body_bytes",
    }


def test_reference_problems_inside_a_broken_entry_are_not_doubled() -> None:
    text = VALID.replace("    zone: local\n", "    zone: [local]\n")
    problem = only_problem(text)
    assert problem.path == "models.small.zone"
    assert "string" in problem.message


def test_empty_file() -> None:
    problem = only_problem("# nothing here\n")
    assert "empty" in problem.message


def test_top_level_must_be_a_mapping() -> None:
    problem = only_problem("- zones\n- models\n")
    assert "mapping" in problem.message
    assert problem.line == 1


def test_unsupported_tag() -> None:
    problem = only_problem(VALID.replace("region: us", "region: !!python/name:os.system us"))
    assert problem.path == "zones.vendor.region"
    assert "unsupported YAML tag" in problem.message


def test_dates_stay_strings() -> None:
    text = VALID.replace(
        "      type: llamacpp\n", "      type: llamacpp\n    version: 2024-07-18\n"
    )
    loaded = load_config_text(text, env={})
    assert loaded.config.models["small"].version == "2024-07-18"


def test_anchors_and_merge_keys() -> None:
    text = VALID.replace("  vendor:\n", "  vendor: &v\n").replace(
        "models:\n", "  vendor2:\n    <<: *v\n    region: eu\nmodels:\n"
    )
    loaded = load_config_text(text, env={})
    zone = loaded.config.zones["vendor2"]
    assert (zone.ceiling, zone.operator, zone.region) == ("internal", "openai", "eu")


def test_config_error_lists_every_problem_in_its_message() -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text(VALID + "server:\n  port: x\n  hots: y\n", source="f.yaml", env={})
    text = str(info.value)
    assert "f.yaml:27: server.port: " in text
    assert "f.yaml:28: server.hots: " in text


def test_provider_without_type() -> None:
    problem = only_problem(VALID.replace("      type: llamacpp\n", "      n_ctx: 4096\n"))
    assert problem.path == "models.small.provider"
    assert problem.line == 11
    assert problem.message.startswith("missing key 'type'")
    assert "'llamacpp', 'openai_compat'" in problem.message


def test_empty_section_says_no_value() -> None:
    problem = only_problem(VALID + "server:\n")
    assert problem.path == "server"
    assert problem.line == 26
    assert problem.message.startswith("no value given; expected a mapping")


def test_scalar_where_a_list_belongs() -> None:
    problem = only_problem(VALID.replace("[chat, small]", "chat"))
    assert problem.path == "routes.assistant.candidates"
    assert problem.line == 22
    assert "expected a list" in problem.message


def test_unset_variable_in_a_reference_is_reported_once() -> None:
    problem = only_problem(VALID.replace("zone: local", "zone: ${ZONE}"))
    assert problem.path == "models.small.zone"
    assert "ZONE is not set" in problem.message


def test_errors_inside_a_duplicated_entry_are_still_reported() -> None:
    text = VALID + "server:\n  port: x\nserver:\n  port: 1\n"
    problems = problems_of(text)
    assert [(p.path, p.line) for p in problems] == [("server.port", 27), ("server", 28)]


def test_recursive_alias() -> None:
    problem = only_problem(VALID.replace('routes: ["*"]', "routes: &r [assistant, *r]"))
    assert problem.path == "teams.default.routes.1"
    assert "cycle" in problem.message


def test_alias_expansion_is_bounded() -> None:
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdef"):
        prev = "abcdef"[i]
        bomb.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]")
    problems = problems_of("\n".join(bomb) + "\n")
    assert any("more than 100000 values" in p.message for p in problems)
