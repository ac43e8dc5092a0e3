from __future__ import annotations

import pytest

from zonegate.policy.classes import DataClasses, UnknownDataClass

CLASSES = DataClasses(["public", "internal", "confidential", "restricted"])


def test_rank_and_name_round_trip() -> None:
    for i, name in enumerate(["public", "internal", "confidential", "restricted"]):
        assert CLASSES.rank(name) == i
        assert CLASSES.name(i) == name


def test_unknown_class_is_a_key_error_with_a_clear_message() -> None:
    with pytest.raises(UnknownDataClass) as info:
        CLASSES.rank("secret")
    assert isinstance(info.value, KeyError)
    assert info.value.name == "secret"
    assert info.value.known == ("public", "internal", "confidential", "restricted")
    message = str(info.value)
    assert "'secret'" in message
    assert "public, internal, confidential, restricted" in message


@pytest.mark.parametrize("rank", [-1, 4, 100])
def test_name_of_a_rank_outside_the_levels(rank: int) -> None:
    with pytest.raises(IndexError, match=r"outside 0\.\.3"):
        CLASSES.name(rank)


def test_ends_and_sizes() -> None:
    assert CLASSES.lowest == "public"
    assert CLASSES.highest == "restricted"
    assert CLASSES.highest_rank == 3
    assert len(CLASSES) == 4
    assert list(CLASSES) == list(CLASSES.names)


def test_max_rank_ignores_none_and_defaults_to_lowest() -> None:
    assert CLASSES.max_rank() == 0
    assert CLASSES.max_rank(None, None) == 0
    assert CLASSES.max_rank(1, None, 3, 2) == 3
    assert CLASSES.max_rank(2) == 2


def test_contains() -> None:
    assert "internal" in CLASSES
    assert "secret" not in CLASSES
    assert 1 not in CLASSES


def test_value_semantics() -> None:
    same = DataClasses(("public", "internal", "confidential", "restricted"))
    assert same == CLASSES
    assert hash(same) == hash(CLASSES)
    assert DataClasses(["a", "b"]) != CLASSES
    assert CLASSES != ["public", "internal", "confidential", "restricted"]
    assert repr(DataClasses(["a", "b"])) == "DataClasses(['a', 'b'])"


def test_single_level_is_both_ends() -> None:
    only = DataClasses(["all"])
    assert only.lowest == only.highest == "all"
    assert only.highest_rank == 0


@pytest.mark.parametrize(
    ("names", "message"), [([], "at least one"), (["a", "b", "a"], "appear once")]
)
def test_invalid_level_lists_are_refused(names: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DataClasses(names)
