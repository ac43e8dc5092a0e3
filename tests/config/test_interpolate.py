"""``${NAME}`` / ``${NAME:-default}`` interpolation."""

from __future__ import annotations

import pytest

from zonegate.config.interpolate import InterpolationError, interpolate


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("plain", {}, "plain"),
        ("${A}", {"A": "x"}, "x"),
        ("http://${HOST}:${PORT}/v1", {"HOST": "h", "PORT": "80"}, "http://h:80/v1"),
        ("${A:-dflt}", {}, "dflt"),
        ("${A:-dflt}", {"A": ""}, "dflt"),
        ("${A:-dflt}", {"A": "set"}, "set"),
        ("${A:-}", {}, ""),
        ("${A:-https://api.openai.com/v1}", {}, "https://api.openai.com/v1"),
        ("${A}", {"A": ""}, ""),
        ("$${A}", {}, "${A}"),
        ("$${A} and ${A}", {"A": "v"}, "${A} and v"),
        ("cost $5", {}, "cost $5"),
        ("trailing $", {}, "trailing $"),
        ("${A}", {"A": "${B}"}, "${B}"),
    ],
)
def test_interpolate(text: str, env: dict[str, str], expected: str) -> None:
    assert interpolate(text, env) == expected


def test_unset_variable_names_it() -> None:
    with pytest.raises(InterpolationError) as info:
        interpolate("x ${VENDOR_MODEL} y", {})
    assert info.value.variable == "VENDOR_MODEL"
    assert "VENDOR_MODEL is not set" in str(info.value)
    assert "${VENDOR_MODEL:-default}" in str(info.value)


@pytest.mark.parametrize("text", ["${1A}", "${A-B}", "${}", "${A B}", "${A:=x}"])
def test_invalid_expression(text: str) -> None:
    with pytest.raises(InterpolationError, match="not a valid expression"):
        interpolate(text, {"A": "x"})


def test_unterminated() -> None:
    with pytest.raises(InterpolationError, match="unterminated"):
        interpolate("abc ${A", {"A": "x"})
