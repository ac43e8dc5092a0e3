"""Normalisation undoes evasion tricks and maps every span back to the original text."""

from __future__ import annotations

import json

import pytest

from zonegate.guards.normalize import OffsetMap, decode_json_strings, map_span, normalize


def test_ascii_is_returned_as_it_is() -> None:
    text = "plain ascii, 4111 1111 1111 1111"
    assert normalize(text) == (text, None)


def test_unchanged_non_ascii_text_has_no_map() -> None:
    for text in ["Grüße aus München", "Москва и Орион", "東京都 “quoted” café"]:
        assert normalize(text) == (text, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4111\u200b1111\u200c1111\u200d1111", "4111111111111111"),  # zero-width
        ("４１１１ １１１１", "4111 1111"),  # full-width digits
        ("card\U000e0041\U000e0042 4111", "card 4111"),  # tag characters
        ("\ufeff4111\u2060", "4111"),  # BOM and word joiner
        ("4111\u00a01111\u202f1111", "4111 1111 1111"),  # no-break spaces
        ("4111–1111—1111‑1111", "4111-1111-1111-1111"),  # Unicode dashes
        ("٤١١١ ४१११", "4111 4111"),  # Arabic-Indic and Devanagari digits
        ("𝟒𝟏𝟏𝟏 ①②", "4111 12"),  # styled and circled digits
        ("4\ufe0f\u20e3 1\u0336", "4 1"),  # keycap and strike-through marks on digits
        ("АKIАIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),  # Cyrillic А inside a Latin word
        ("Оrіоn", "Orion"),  # Cyrillic look-alikes mixed with Latin letters
        ("ｓｋ－ｐｒｏｊ", "sk-proj"),  # full-width letters and hyphen
    ],
)
def test_tricks_are_undone(text: str, expected: str) -> None:
    normal, offsets = normalize(text)
    assert normal == expected
    assert offsets is not None


def test_words_wholly_in_another_script_keep_their_letters() -> None:
    normal, _ = normalize("Орион x\u200b")  # a Russian word stays Russian
    assert normal.startswith("Орион")


def test_letters_are_never_turned_into_digits() -> None:
    assert normalize("4111 l111 O111\u200b")[0] == "4111 l111 O111"


def test_every_span_maps_inside_the_original() -> None:
    for text in ["a\u200bb４c\U000e0041d–e", "\u200b\u200b", "x\u0301y", "ﬁ①"]:
        normal, offsets = normalize(text)
        assert offsets is not None
        for start in range(len(normal)):
            for end in range(start + 1, len(normal) + 1):
                s, e = offsets.span(start, end)
                assert 0 <= s < e <= len(text)


def test_spans_cover_the_hidden_characters_inside_a_value() -> None:
    text = "card: 4111\u200b1111\u200b1111\u200b1111 ok"
    normal, offsets = normalize(text)
    assert offsets is not None
    start = normal.index("4111")
    assert offsets.span(start, start + 16) == (6, 25)
    assert text[6:25].replace("\u200b", "") == "4111111111111111"


def test_expansions_map_to_the_whole_source_character() -> None:
    normal, offsets = normalize("x ﬁle")  # the ligature becomes two letters
    assert normal == "x file"
    assert offsets is not None
    assert offsets.span(2, 3) == (2, 3)
    assert offsets.span(2, 6) == (2, 5)


def test_an_empty_map_is_the_identity() -> None:
    assert OffsetMap().span(3, 7) == (3, 7)


# --- JSON string literals ------------------------------------------------------------------------


def test_escaped_literals_are_decoded_with_maps_back_to_the_raw_text() -> None:
    raw = json.dumps({"card": "4111\u00201111 1111 1111", "note": "plain", "k": "line\nbreak"})
    assert "\\u0020" not in raw  # json.dumps leaves U+0020 alone; write it escaped by hand
    raw = raw.replace("4111 1111", "4111\\u00201111")
    decoded = {value: maps for value, maps in decode_json_strings(raw)}
    assert set(decoded) == {"4111 1111 1111 1111", "line\nbreak"}
    start, end = map_span(decoded["4111 1111 1111 1111"], 0, 19)
    assert raw[start:end] == "4111\\u00201111 1111 1111"


def test_surrogate_pairs_and_lone_surrogates() -> None:
    raw = '["\\ud83d\\ude00 x", "\\ud800 y"]'
    values = [value for value, _ in decode_json_strings(raw)]
    assert values == ["\U0001f600 x", "\ufffd y"]


def test_doubly_encoded_json_is_decoded_again() -> None:
    inner = '{"ssn": "536\\u002d22-8726"}'  # JSON text whose literal holds an escape
    raw = json.dumps({"args": inner})
    values = {value: maps for value, maps in decode_json_strings(raw)}
    assert "536-22-8726" in values
    start, end = map_span(values["536-22-8726"], 0, 11)
    assert "536" in raw[start:end]
    assert "8726" in raw[start:end]


@pytest.mark.parametrize(
    "text",
    ["not json \\n at all", '{"broken": "\\n"', '"a string \\n"', "{}", '{"a": "no escapes"}'],
)
def test_only_json_documents_with_escapes_are_decoded(text: str) -> None:
    assert decode_json_strings(text) == []
