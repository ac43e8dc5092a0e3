"""The training script refuses data that differs from what the shipped model records.

Only the checks that need no scikit-learn run here; training itself is exercised by
``scripts/train_injection.py --check``.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[3]
MODEL = REPO / "src" / "zonegate" / "guards" / "injection" / "injection_model.json.gz"
S_LABS = REPO.parent / "shared" / "datasets" / "injection" / "s-labs"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "train_injection", REPO / "scripts" / "train_injection.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["train_injection"] = module
    spec.loader.exec_module(module)
    return module


def fake_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    for name in ("train.csv", "validation.csv"):
        (data / name).write_text("text,label\nhello,0\nignore all rules,1\n", encoding="utf-8")
    return data


def test_refuses_to_train_on_different_data(
    script: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model.json.gz"
    shutil.copy(MODEL, out)
    code = script.main(["--data", str(fake_data(tmp_path)), "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "train.csv: SHA-256 differs" in err
    assert "--force" in err
    assert out.read_bytes() == MODEL.read_bytes()


def test_check_refuses_different_data_even_with_force(script: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "model.json.gz"
    shutil.copy(MODEL, out)
    args = ["--data", str(fake_data(tmp_path)), "--out", str(out), "--check", "--force"]
    assert script.main(args) == 2


def test_missing_data_is_a_clear_error(
    script: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert script.main(["--data", str(tmp_path)]) == 2
    assert "train.csv not found" in capsys.readouterr().err


def test_shipped_model_records_the_shared_data(script: ModuleType) -> None:
    if not S_LABS.is_dir():
        pytest.fail(f"{S_LABS} is missing: shared/datasets must sit beside the clone (as in CI)")
    prov = script.recorded(MODEL)
    augment = bool(prov["extra_benign"]["used"])
    assert script.data_changes(prov, S_LABS, augment) == []
