"""The streaming hold-back window: split values are caught, the delay is bounded, and text is
scanned a bounded number of times."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NoReturn

import pytest

from zonegate.errors import UpstreamError
from zonegate.guards.classify import Classifier
from zonegate.guards.detectors.secrets import AwsAccessKeyDetector, PrivateKeyDetector
from zonegate.guards.output import HOLD, MAX_HOLD, OutputRules, TextWindow
from zonegate.guards.output.rules import BLOCK, REDACT, SECRET_TYPES, Hit
from zonegate.guards.output.scan import OutputScanner
from zonegate.policy.classes import DataClasses

SECRET = re.compile(r"SECRET\d{6}")
DOB = re.compile(r"(?<=born on )\d{4}-\d{2}-\d{2}")
AWS = "AKIAIOSFODNN7EXAMPLE"


class Recorder:
    """A find function that records how much text it was asked to scan."""

    def __init__(self, pattern: re.Pattern[str] = SECRET, action: str = REDACT) -> None:
        self.pattern = pattern
        self.action = action
        self.scanned = 0

    def __call__(self, text: str) -> list[Hit]:
        self.scanned += len(text)
        return [Hit(m.start(), m.end(), "secret", self.action) for m in self.pattern.finditer(text)]


def run(text: str, size: int, find: Recorder | None = None) -> tuple[str, dict[str, int], int]:
    """Stream ``text`` in pieces of ``size``; (output, counts, the most characters held)."""
    counts: dict[str, int] = {}
    window = TextWindow(find or Recorder(), counts)
    out: list[str] = []
    most = 0
    for i in range(0, len(text), size):
        out.append(window.feed(text[i : i + size]))
        most = max(most, window.held)
    out.append(window.flush())
    return "".join(out), counts, most


def test_a_short_answer_is_held_until_the_end_and_scanned_once() -> None:
    counts: dict[str, int] = {}
    find = Recorder()
    window = TextWindow(find, counts)
    assert window.feed("key SECRET1") == ""
    assert window.feed("23456 done") == ""
    assert window.flush() == "key [REDACTED_SECRET] done"
    assert counts == {"secret": 1}
    assert find.scanned == len("key SECRET123456 done")


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64, 300, 1000])
def test_values_split_anywhere_are_redacted(size: int) -> None:
    filler = "lorem ipsum dolor sit amet, "
    text = "".join(f"{filler * (i % 23)}SECRET{100000 + i} " for i in range(40))
    out, counts, _ = run(text, size)
    assert out == SECRET.sub("[REDACTED_SECRET]", text)
    assert counts == {"secret": 40}


def test_every_split_point_of_one_value() -> None:
    prefix = "x" * (2 * HOLD - 8)  # the value lands on the first release point
    for offset in range(0, 40):
        text = prefix[offset:] + " SECRET123456 tail"
        for cut in range(len(text)):
            counts: dict[str, int] = {}
            window = TextWindow(Recorder(), counts)
            out = window.feed(text[:cut]) + window.feed(text[cut:]) + window.flush()
            assert "SECRET123456" not in out
            assert out == text.replace("SECRET123456", "[REDACTED_SECRET]")


def test_delay_is_bounded_by_twice_the_hold() -> None:
    text = "plain words only. " * 400
    out, _, most = run(text, 5)
    assert out == text
    assert most <= 2 * HOLD - 1


def test_text_is_not_scanned_quadratically() -> None:
    text = "plain words only. " * 2000
    find = Recorder()
    run(text, 1, find)
    assert find.scanned <= 3 * len(text)


def test_a_value_crossing_the_release_point_is_held_whole() -> None:
    find = Recorder(re.compile(r"BEGIN[^E]*(END|$)"))  # recognised as soon as BEGIN is seen
    counts: dict[str, int] = {}
    window = TextWindow(find, counts)
    head = "a" * (2 * HOLD - 10)
    released = window.feed(head + "BEGIN")
    assert "BEGIN" not in released
    body = "b" * 3 * HOLD
    released += window.feed(body) + window.feed("END tail") + window.flush()
    assert released == head + "[REDACTED_SECRET] tail"


def test_a_value_longer_than_the_cap_blocks_the_answer() -> None:
    find = Recorder(re.compile(r"BEGIN\w*"))
    window = TextWindow(find, {})
    out = window.feed("BEGIN")
    for _ in range(MAX_HOLD // 100 - 1):
        out += window.feed("k" * 100)
    assert out == ""  # still holding the value whole
    with pytest.raises(UpstreamError) as info:
        window.feed("k" * 3 * HOLD)
    assert info.value.code == "output_blocked"


def test_left_context_is_kept_for_detectors_that_need_it() -> None:
    text = "a" * (3 * HOLD) + " she was born on 1990-01-02 ok"
    # Split so that "born on " is released before the date arrives.
    cut = text.index("1990")
    find = Recorder(DOB)
    counts: dict[str, int] = {}
    window = TextWindow(find, counts)
    out = window.feed(text[:cut]) + window.feed(text[cut:]) + window.flush()
    assert "1990-01-02" not in out
    assert counts == {"secret": 1}


def test_block_calls_the_blocker_and_releases_nothing() -> None:
    seen: list[Mapping[str, int]] = []

    def block(types: Mapping[str, int]) -> NoReturn:
        seen.append(types)
        raise UpstreamError("blocked", code="output_blocked")

    window = TextWindow(Recorder(action=BLOCK), {}, block=block)
    assert window.feed("SECRET123") == ""
    with pytest.raises(UpstreamError):
        window.feed("456" + " " * 2 * HOLD)
    assert seen == [{"secret": 1}]


def test_default_block_raises_output_blocked() -> None:
    window = TextWindow(Recorder(action=BLOCK), {})
    window.feed("SECRET123456")
    with pytest.raises(UpstreamError) as info:
        window.flush()
    assert info.value.code == "output_blocked"
    assert info.value.status == 502


def test_with_the_real_classifier_a_split_key_is_redacted_at_every_split() -> None:
    classes = DataClasses(["public", "internal", "confidential", "restricted"])
    classifier = Classifier(
        [
            AwsAccessKeyDetector(data_class="restricted"),
            PrivateKeyDetector(data_class="restricted"),
        ],
        classes,
    )
    rules = OutputRules(
        secrets=REDACT,
        pii="allow",
        secret_types=SECRET_TYPES,
        ranks={name: classes.rank(name) for name in classes},
        clearance_rank=classes.rank("restricted"),
    )
    scanner = OutputScanner(classifier, rules)
    text = "w" * (2 * HOLD - 30) + f" id {AWS} and x{AWS}y stays " + "z" * HOLD
    expected = text.replace(f" {AWS} ", " [REDACTED_AWS_ACCESS_KEY] ")
    for cut in range(len(text) - HOLD):
        window = TextWindow(lambda t: scanner.scan([t])[0], {})
        out = window.feed(text[:cut]) + window.feed(text[cut:]) + window.flush()
        assert out == expected, cut
