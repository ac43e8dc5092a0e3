"""Organisation-specific detectors: config validation, safe patterns, keyword lists."""

from __future__ import annotations

import pytest

from zonegate.config.load import load_config_text
from zonegate.errors import ConfigError
from zonegate.guards.classify import Classifier
from zonegate.guards.detectors.custom import (
    MAX_MATCH,
    WINDOW,
    KeywordDetector,
    RegexDetector,
    UnsafePattern,
    compile_pattern,
    keyword_pattern,
    windowed,
)
from zonegate.guards.registry import build_custom
from zonegate.policy.classes import DataClasses

BASE = """
zones: {local: {ceiling: restricted}}
models: {m: {zone: local, provider: {type: llamacpp}}}
detectors: {}
"""


def config_with(custom: str) -> str:
    return BASE + "custom_detectors:\n" + custom


def test_config_builds_both_kinds() -> None:
    loaded = load_config_text(
        config_with(
            "  codename_orion: {kind: keywords, words: [Orion, Vega], data_class: confidential}\n"
            "  ticket_ids: {kind: regex, pattern: 'ACME-[0-9]{6}', data_class: internal}\n"
        ),
        env={},
    )
    entries = loaded.config.custom_detectors
    assert entries["codename_orion"].case_sensitive is False
    assert entries["ticket_ids"].case_sensitive is True
    built = [build_custom(name, entry) for name, entry in entries.items()]
    text = "orion ships ACME-123456 and ACME-12345"
    assert [
        (f.type, text[f.start : f.end], f.data_class) for d in built for f in d.detect(text)
    ] == [
        ("codename_orion", "orion", "confidential"),
        ("ticket_ids", "ACME-123456", "internal"),
    ]


@pytest.mark.parametrize(
    ("entry", "path", "message"),
    [
        ("{kind: regex, pattern: 'ACME-[0-9', data_class: internal}", "pattern", "not a valid"),
        ("{kind: regex, pattern: '(a+)+b', data_class: internal}", "pattern", "exponential"),
        ("{kind: regex, pattern: '[0-9]*', data_class: internal}", "pattern", "empty text"),
        ("{kind: keywords, words: [], data_class: internal}", "words", "at least 1"),
        ("{kind: keywords, words: [Orion, '  '], data_class: internal}", "words", "blank"),
        ("{kind: regex, pattern: 'x+', data_class: secret}", "data_class", "unknown data class"),
        ("{kind: magic, pattern: 'x', data_class: internal}", "", "'regex', 'keywords'"),
    ],
)
def test_bad_entries_are_config_errors_with_their_path(entry: str, path: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text(config_with(f"  bad_one: {entry}\n"), env={})
    (problem,) = info.value.problems
    assert problem.path.startswith("custom_detectors.bad_one")
    assert problem.path.endswith(path)
    assert message in problem.message
    assert problem.line is not None


def test_a_custom_detector_may_not_take_a_built_in_name() -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text(
            config_with("  email: {kind: keywords, words: [x], data_class: internal}\n"), env={}
        )
    (problem,) = info.value.problems
    assert problem.path == "custom_detectors.email"


@pytest.mark.parametrize(
    "pattern",
    ["(a+)+b", r"(\w+\s?)*x", "(x+x+)+y", "(a|ab)*c", "(a|aa)+$", "(?:a*b)+"],
)
def test_exponential_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(UnsafePattern, match="exponential"):
        compile_pattern(pattern)


@pytest.mark.parametrize(
    "pattern",
    ["ACME-[0-9]{6}", "(?:foo|bar)+", r"(?:[0-9]{3}-){2}[0-9]{4}", r"(\d+)?\d", "(?:ab){1,3}"],
)
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    compile_pattern(pattern)


def test_case_and_line_anchors() -> None:
    detector = RegexDetector("t", "^acme$", data_class="internal", case_sensitive=False)
    assert [(f.start, f.end) for f in detector.detect("x\nACME\ny")] == [(2, 6)]


def test_long_texts_are_searched_in_windows_without_misses_or_repeats() -> None:
    pattern = compile_pattern("ACME-[0-9]{6}")
    text = "".join(f"{'x' * (97 + i % 13)} ACME-{i:06d} " for i in range(400))
    assert len(text) > 10 * WINDOW
    spans = windowed(pattern, text)
    assert [text[s:e] for s, e in spans] == [f"ACME-{i:06d}" for i in range(400)]


def test_a_match_longer_than_the_cap_is_cut_at_the_window() -> None:
    pattern = compile_pattern("B[a-z]+")
    text = "B" + "a" * (3 * WINDOW)
    spans = windowed(pattern, text)
    assert spans[0][0] == 0
    assert spans[0][1] - spans[0][0] <= WINDOW
    assert MAX_MATCH < WINDOW


@pytest.mark.parametrize("pattern", ["a.*a.*b", r"\w+@\w+", "x+y*"])
def test_polynomial_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(UnsafePattern, match="more than one unbounded repeat"):
        compile_pattern(pattern)


def test_bounded_repeats_do_not_count_as_unbounded() -> None:
    compile_pattern(r"\w{1,64}@\w+\.acme\.internal")


# --- keywords ------------------------------------------------------------------------------------


def test_keywords_match_whole_words_longest_first() -> None:
    detector = KeywordDetector(
        "codename",
        ["Orion", "Orionis", "Vega", "C++", "Acme Corp."],
        data_class="c",
        case_sensitive=False,
    )
    text = "orion and VEGA, Orionis; xOrion; Vegas; use C++ at ACME CORP. now"
    assert [text[f.start : f.end] for f in detector.detect(text)] == [
        "orion", "VEGA", "Orionis", "C++", "ACME CORP.",
    ]  # fmt: skip


def test_case_sensitive_keywords() -> None:
    detector = KeywordDetector("c", ["Orion"], data_class="c", case_sensitive=True)
    assert [f.start for f in detector.detect("orion Orion")] == [6]


def test_keywords_in_other_scripts_and_with_tricks() -> None:
    detector = KeywordDetector("c", ["Орион", "Zürich"], data_class="c", case_sensitive=False)
    classifier = Classifier([detector], DataClasses(["public", "c"]))
    text = "Проект Орион в ZÜRICH и Z\u200bürich"
    result = classifier.classify([text])
    assert [text[x.finding.start : x.finding.end] for x in result.findings] == [
        "Орион", "ZÜRICH", "Z\u200bürich",
    ]  # fmt: skip


def test_many_keywords_compile_to_one_pattern() -> None:
    words = [f"Customer{i:05d}" for i in range(5000)]
    pattern = keyword_pattern(words, case_sensitive=True)
    assert pattern.fullmatch("Customer04999")
    assert pattern.fullmatch("Customer05000") is None


def test_a_keyword_list_needs_a_word() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        keyword_pattern(["", "  "], case_sensitive=True)
