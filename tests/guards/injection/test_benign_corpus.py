"""The standard-library docstring corpus used as extra benign text."""

from __future__ import annotations

from pathlib import Path

import pytest

from zonegate.guards.injection import benign_corpus as bc


def test_module_lists_are_disjoint() -> None:
    train, tune, held_out = set(bc.TRAIN_MODULES), set(bc.TUNE_MODULES), set(bc.EVAL_MODULES)
    assert train
    assert tune
    assert held_out
    assert not train & tune
    assert not train & held_out
    assert not tune & held_out


def test_paragraphs_are_deterministic_and_bounded() -> None:
    first = bc.paragraphs(bc.EVAL_MODULES[:3])
    assert first == bc.paragraphs(bc.EVAL_MODULES[:3])
    assert bc.digest(first) == bc.digest(list(first))
    assert len(first) == len(set(first)) > 10
    assert all(bc.MIN_CHARS <= len(p) <= bc.MAX_CHARS and "\n" not in p for p in first)


def test_reads_docstrings_without_importing(tmp_path: Path) -> None:
    (tmp_path / "fake.py").write_text(
        '"""Module docstring that is long enough to keep.\n\nShort."""\n'
        "raise SystemExit('imported!')\n"
        "def f():\n    '''A function docstring, also long enough to be kept here.'''\n"
    )
    assert bc.paragraphs(["fake"], stdlib=tmp_path) == [
        "Module docstring that is long enough to keep.",
        "A function docstring, also long enough to be kept here.",
    ]
    with pytest.raises(FileNotFoundError, match="nothere"):
        bc.paragraphs(["nothere"], stdlib=tmp_path)
