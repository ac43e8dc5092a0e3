"""The README's evaluation walkthrough on the embedded model, command by command: two runs of a
shipped suite with different settings, the gate's comparison, an HTML report with plots, and a
promotion the evidence does not support being refused."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from tests.integration.gateway_process import zonegate

pytestmark = [pytest.mark.integration, pytest.mark.model]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "evaluation.yaml"


def test_run_twice_compare_report_and_gate(tmp_path: Path) -> None:
    common = ["--config", str(EXAMPLE), "--data-dir", str(tmp_path / "data")]
    greedy = zonegate("eval", "run", "capitals", "--model", "smollm2-greedy", "--json", *common)
    sampled = zonegate(
        "eval", "run", "capitals", "--model", "smollm2-sampled",
        "--param", "temperature=0.8", "--json", *common,
    )  # fmt: skip
    runs = [json.loads(greedy.stdout), json.loads(sampled.stdout)]
    summaries = [r[0] if isinstance(r, list) else r for r in runs]
    assert all(s["status"] == "complete" for s in summaries)

    compared = zonegate(
        "eval", "compare", "--route", "capitals", "--candidate", "smollm2-sampled",
        "--json", *common, check=False,
    )  # fmt: skip
    assert compared.returncode in (0, 1)  # a verdict either way, never "no comparison" (2)
    verdict = json.loads(compared.stdout)
    assert verdict["passed"] is (compared.returncode == 0)
    table = verdict["table"]
    assert table["n"] == 20  # every item of the suite, paired
    cells = ("both_pass", "candidate_only_fail", "incumbent_only_fail", "both_fail")
    assert sum(table[cell] for cell in cells) == 20
    assert verdict["settings"]["margin"] == 0.10  # from the route's gate
    assert 0 <= verdict["noninferiority_p"] <= 1

    report = tmp_path / "report.html"
    zonegate(
        "eval", "report", "--latest", "--format", "html", "--output", str(report),
        "--margin", "0.1", "--min-items", "20", *common,
    )  # fmt: skip
    html = report.read_text(encoding="utf-8")
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) >= 2
    assert all(base64.b64decode(image)[:8] == b"\x89PNG\r\n\x1a\n" for image in images)
    assert "smollm2-sampled" in html
    assert "smollm2-greedy" in html

    promoted = zonegate("promote", "capitals", "smollm2-sampled", *common, check=False)
    if not verdict["passed"]:
        assert promoted.returncode == 1  # refused: the stored evidence does not pass the gate
        assert "smollm2-greedy" in zonegate("routes", *common).stdout
