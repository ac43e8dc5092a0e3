"""The canonical dump and config hash: stable across formatting, sensitive to every value."""

from __future__ import annotations

import json
import re

import pytest

from zonegate.config.builtin import builtin_config
from zonegate.config.load import load_config_text
from zonegate.config.snapshot import canonical_dump, config_hash

BASE = """\
zones:
  local: {ceiling: restricted}
  vendor: {ceiling: internal, operator: openai, region: us}
models:
  small:
    zone: local
    provider: {type: llamacpp}
  chat:
    zone: vendor
    provider:
      type: openai_compat
      base_url: https://api.example.com/v1
      model: chat-1
      api_key: env:VENDOR_API_KEY
    pricing: {input_per_mtok: 0.15, output_per_mtok: 0.60}
routes:
  assistant: {candidates: [chat, small]}
"""

# The same config: keys reordered, block vs flow style, comments, defaults spelled out.
REFORMATTED = """\
# a comment
routes:
  assistant:
    candidates:
      - chat      # vendor first
      - small
models:
  chat:
    pricing:
      output_per_mtok: "0.6"
      input_per_mtok: 0.150
      currency: USD
    provider:
      api_key: env:VENDOR_API_KEY
      model: chat-1
      base_url: https://api.example.com/v1
      type: openai_compat
    zone: vendor
  small: {provider: {type: llamacpp, n_ctx: 2048}, zone: local}
zones:
  vendor: {region: us, operator: openai, ceiling: internal}
  local: {ceiling: restricted, operator: self}
version: 1
"""


def hash_of(text: str) -> str:
    return load_config_text(text, env={}).hash


def test_hash_format() -> None:
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", hash_of(BASE))


def test_hash_is_stable_across_order_style_comments_and_defaults() -> None:
    assert hash_of(BASE) == hash_of(REFORMATTED)
    assert canonical_dump(load_config_text(BASE, env={}).config) == canonical_dump(
        load_config_text(REFORMATTED, env={}).config
    )


def test_hash_is_stable_across_calls() -> None:
    assert config_hash(builtin_config()) == config_hash(builtin_config())


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("ceiling: internal", "ceiling: confidential"),
        ("region: us", "region: eu"),
        ("model: chat-1", "model: chat-2"),
        ("input_per_mtok: 0.15", "input_per_mtok: 0.16"),
        ("env:VENDOR_API_KEY", "env:OTHER_KEY"),
        ("[chat, small]", "[small, chat]"),
        ("{type: llamacpp}", "{type: llamacpp, n_ctx: 4096}"),
    ],
)
def test_hash_changes_with_any_value(old: str, new: str) -> None:
    assert old in BASE
    assert hash_of(BASE) != hash_of(BASE.replace(old, new))


def test_hash_follows_interpolated_values() -> None:
    text = BASE.replace("model: chat-1", "model: ${M:-chat-1}")
    assert load_config_text(text, env={}).hash == hash_of(BASE)
    assert load_config_text(text, env={"M": "chat-9"}).hash != hash_of(BASE)


def test_canonical_dump_is_sorted_compact_json_with_references_only() -> None:
    dump = canonical_dump(load_config_text(BASE, env={"VENDOR_API_KEY": "sk-real"}).config)
    data = json.loads(dump)
    assert list(data) == sorted(data)
    assert dump == json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    assert data["models"]["chat"]["provider"]["api_key"] == "env:VENDOR_API_KEY"
    assert data["models"]["chat"]["pricing"]["input_per_mtok"] == "0.15"
    assert b"sk-real" not in dump
