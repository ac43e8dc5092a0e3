from __future__ import annotations

import itertools
import json

from hypothesis import given, settings, strategies as st

from zonegate.guards.transforms import MAX_PLACEHOLDER, Pseudonyms, StreamRestorer

A = "alice@example.com"
CARD = "4111 1111 1111 1111"
TRICKY = 'pa"ss\\word <EMAIL_1>'  # a value with JSON specials and placeholder-shaped text

PSEUDONYMS = Pseudonyms({"<EMAIL_1>": A, "<PAYMENT_CARD_1>": CARD, "<SECRET_1>": TRICKY})
TEXT = "To <EMAIL_1>: card <PAYMENT_CARD_1>."
RESTORED = f"To {A}: card {CARD}."


def stream(pieces: list[str], restorer: StreamRestorer | None = None) -> str:
    """Feed ``pieces`` through a restorer, checking the bound after every fragment."""
    restorer = restorer or PSEUDONYMS.stream_restorer()
    out = []
    for piece in pieces:
        out.append(restorer.feed(piece))
        assert restorer.held <= PSEUDONYMS.max_hold
    out.append(restorer.flush())
    assert restorer.held == 0
    return "".join(out)


def split(text: str, points: tuple[int, ...]) -> list[str]:
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


# --- whole text -------------------------------------------------------------------------------


def test_restore_replaces_known_placeholders_only() -> None:
    text = "<EMAIL_1> <EMAIL_2> <email_1> <PAYMENT_CARD_1><EMAIL_1>"
    assert PSEUDONYMS.restore(text) == f"{A} <EMAIL_2> <email_1> {CARD}{A}"
    assert PSEUDONYMS.restore("no placeholders") == "no placeholders"


def test_restored_values_are_not_restored_again() -> None:
    assert PSEUDONYMS.restore("<SECRET_1>") == TRICKY


def test_json_string_restore_escapes_values() -> None:
    restored = PSEUDONYMS.restore('{"p": "<SECRET_1>"}', json_string=True)
    assert json.loads(restored) == {"p": TRICKY}


def test_an_empty_mapping_restores_nothing() -> None:
    empty = Pseudonyms({})
    assert empty.restore("<EMAIL_1>") == "<EMAIL_1>"
    assert stream(["<EMA", "IL_1>"], empty.stream_restorer()) == "<EMAIL_1>"


def test_the_bound_is_the_longest_placeholder_less_one() -> None:
    assert PSEUDONYMS.max_hold == len("<PAYMENT_CARD_1>") - 1
    assert PSEUDONYMS.max_hold < MAX_PLACEHOLDER <= 64


# --- streaming: exhaustive splits -------------------------------------------------------------


def test_every_single_split_point_restores() -> None:
    for i in range(len(TEXT) + 1):
        assert stream(split(TEXT, (i,))) == RESTORED, i


def test_every_pair_of_split_points_restores() -> None:
    for i, j in itertools.combinations_with_replacement(range(len(TEXT) + 1), 2):
        assert stream(split(TEXT, (i, j))) == RESTORED, (i, j)


def test_one_character_at_a_time_restores() -> None:
    assert stream(list(TEXT)) == RESTORED


def test_every_split_of_json_arguments_restores_escaped_values() -> None:
    text = '{"a": "<SECRET_1>", "b": "<EMAIL_1>"}'
    expected = json.dumps({"a": TRICKY, "b": A}, ensure_ascii=False, separators=(", ", ": "))
    for i, j in itertools.combinations_with_replacement(range(len(text) + 1), 2):
        restorer = PSEUDONYMS.stream_restorer(json_string=True)
        assert stream(split(text, (i, j)), restorer) == expected, (i, j)


# --- streaming: release as soon as it is certain ----------------------------------------------


def test_text_without_a_possible_placeholder_is_released_at_once() -> None:
    restorer = PSEUDONYMS.stream_restorer()
    assert restorer.feed("plain text, a < b, <html> ") == "plain text, a < b, <html> "
    assert restorer.held == 0


def test_a_false_start_is_held_only_until_it_cannot_be_a_placeholder() -> None:
    restorer = PSEUDONYMS.stream_restorer()
    assert restorer.feed("hi <EM") == "hi "
    assert restorer.held == 3
    assert restorer.feed("AIL") == ""
    assert restorer.feed("x>") == "<EMAILx>"
    assert restorer.held == 0


def test_a_wrong_number_is_released_unchanged() -> None:
    restorer = PSEUDONYMS.stream_restorer()
    assert restorer.feed("<EMAIL_1") == ""
    assert restorer.feed("2> and <EMAIL_1>") == f"<EMAIL_12> and {A}"


def test_a_new_start_inside_a_false_start_is_still_restored() -> None:
    assert stream(["<EMAIL_<", "EMAIL_1>"]) == f"<EMAIL_{A}"
    assert stream(["<<<", "EMAIL_1><"]) == f"<<{A}<"


def test_a_false_start_at_the_end_comes_out_on_flush() -> None:
    restorer = PSEUDONYMS.stream_restorer()
    assert restorer.feed("the end <PAYMENT_") == "the end "
    assert restorer.flush() == "<PAYMENT_"
    assert restorer.flush() == ""


def test_holding_back_never_exceeds_the_bound_on_adversarial_input() -> None:
    restorer = PSEUDONYMS.stream_restorer()
    for piece in ["<", "<P", "AYMENT_CARD_", "<PAYMENT_CARD_", "<PAYMENT_CARD_1", "<" * 100]:
        restorer.feed(piece)
        assert restorer.held <= PSEUDONYMS.max_hold


# --- streaming: random chunking ---------------------------------------------------------------

_FRAGMENTS = st.sampled_from(
    [
        "<EMAIL_1>",
        "<PAYMENT_CARD_1>",
        "<SECRET_1>",
        "<EMAIL_2>",
        "<EMAIL_",
        "<PAYMENT_CARD_",
        "<",
        ">",
        "_1>",
        "EMAIL",
        " ",
        "text",
        "é",
        "\n",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.one_of(_FRAGMENTS, st.text(max_size=6)), max_size=20),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
)
def test_random_chunking_matches_whole_text_restore(parts: list[str], cuts: list[int]) -> None:
    text = "".join(parts)
    points = tuple(sorted(c for c in cuts if c <= len(text)))
    assert stream(split(text, points)) == PSEUDONYMS.restore(text)
