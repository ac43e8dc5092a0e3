"""The shared views of a text: number runs, found once and looked up by size."""

from __future__ import annotations

from zonegate.guards.detectors._scan import ScanText, number_runs


def test_number_runs_keep_offsets_in_non_ascii_text() -> None:
    text = "né 12 34 — 5678 ٣ (415) 555-2671 ｘ 9.9"
    runs = number_runs(text)
    assert [text[r.start : r.end] for r in runs.all] == [
        "12 34", "5678", "415) 555-2671", "9.9",
    ]  # fmt: skip
    assert [r.digits for r in runs.all] == [4, 4, 10, 2]


def test_runs_by_size_keep_text_order_within_a_size() -> None:
    text = "7, 1234; 55, 9876; 123456789; 4321"
    runs = number_runs(text)
    assert [text[r.start : r.end] for r in runs.with_digits(4, 4)] == ["1234", "9876", "4321"]
    assert [r.digits for r in runs.with_digits(1, 9)] == [1, 2, 4, 4, 4, 9]
    assert [r.digits for r in runs.with_digits(9, 10_000)] == [9]
    assert list(runs.with_digits(5, 8)) == []


def test_a_scan_text_computes_its_runs_once() -> None:
    text = ScanText("call 0612345678")
    assert number_runs(text) is number_runs(text)
