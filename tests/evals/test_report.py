"""Reports over stored runs (Markdown with PNG files, self-contained HTML) and runs as portable
JSONL: the numbers shown follow from the outcomes stored, content is escaped, plots are PNGs,
and a run survives export and import unchanged."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tests.evals.report_support import RunSpec, paired_outcomes, store_run
from zonegate.cli import eval_report
from zonegate.errors import ConfigError, InvalidRequest
from zonegate.evals.document import run_document
from zonegate.evals.report import build_report, make_plots, render_html, write_report
from zonegate.evals.report.reading import read_tests
from zonegate.evals.report.text import truncate
from zonegate.evals.run_portable import export_text, import_run, read_export
from zonegate.evals.stats import clustered_pass_rate, compare_runs, wilson_interval
from zonegate.store.db import Database

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SCRIPT = "<script>alert('x')</script> | a pipe\nand a second line"
LONG = "y" * 5000


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'report.db'}")
    database.migrate()
    try:
        yield database
    finally:
        database.dispose()


def two_runs(db: Database) -> tuple[str, str]:
    """Candidate 17/20, incumbent 15/20 on one suite version: both pass 14, candidate-only
    fail 1 (q15), incumbent-only fail 3 (q16-q18), both fail 2 (q19, q20)."""
    candidate, incumbent = paired_outcomes(14, 1, 3, 2)
    tags = {item: ["geo"] if n < 10 else ["math"] for n, item in enumerate(candidate)}
    cand = store_run(
        db,
        RunSpec(
            "cand<b>model</b>",
            candidate,
            tags=tags,
            outputs={"q15": SCRIPT, "q19": LONG},
            cost=Decimal("0.0015"),
        ),
    )
    inc = store_run(db, RunSpec("incumbent", incumbent, tags=tags, errors=["q20"]))
    return cand, inc


def report_of(db: Database, *run_ids: str, **options: Any) -> Any:
    return build_report([run_document(db, r) for r in run_ids], **options)


def pct_interval(passes: int, n: int) -> str:
    low, high = wilson_interval(passes, n, 0.95)
    return f"[{100 * low:.1f}%, {100 * high:.1f}%]"


# -- the report model -----------------------------------------------------------------------------


def test_the_model_holds_the_rates_the_table_and_the_verdict(db: Database) -> None:
    cand, inc = two_runs(db)
    report = report_of(db, cand, inc, min_items=10)
    candidate, incumbent = report.runs
    assert (candidate.role, incumbent.role) == ("candidate", "incumbent")
    assert (candidate.rate.passed, candidate.rate.total) == (17, 20)
    assert (incumbent.rate.passed, incumbent.rate.total) == (15, 20)
    assert (candidate.rate.low, candidate.rate.high) == wilson_interval(17, 20, 0.95)
    assert candidate.rate.method == "wilson"
    assert incumbent.errors == 1
    [comparison] = report.comparisons
    assert comparison.gate is not None
    table = comparison.gate.comparison.table
    assert (table.both_pass, table.candidate_only_fail) == (14, 1)
    assert (table.incumbent_only_fail, table.both_fail) == (3, 2)
    # m = 4 discordant, min(b, c) = 1: p = 2 * (1 + 4) / 16, mid-p = 2 * (5/16 - 4/32).
    assert comparison.gate.comparison.mcnemar.p_value == pytest.approx(0.625)
    assert comparison.gate.comparison.mcnemar.mid_p_value == pytest.approx(0.375)
    assert not comparison.gate.passed
    assert [c.name for c in comparison.gate.failures] == ["non_inferiority"]
    assert comparison.reading is not None
    assert comparison.reading.label == "inconclusive"
    assert [d.item_id for d in comparison.discordant] == ["q15", "q16", "q17", "q18"]
    assert comparison.discordant[0].candidate_output == SCRIPT
    # Tags: q01-q10 geo (candidate passes all 10), q11-q20 math (7 of 10).
    assert (candidate.tags["geo"].passed, candidate.tags["geo"].total) == (10, 10)
    assert (candidate.tags["math"].passed, candidate.tags["math"].total) == (7, 10)
    # Cost per 1k requests: 0.0015 per answered attempt -> 1.5; the incumbent is unpriced.
    assert candidate.cost_per_1k == Decimal("1.5")
    assert incumbent.cost_per_1k is None
    assert candidate.latency_p50 is not None
    assert len(candidate.latencies) == 20
    assert len(incumbent.latencies) == 19  # the errored attempt has no latency


def test_the_gate_minimum_of_items_decides_too(db: Database) -> None:
    cand, inc = two_runs(db)
    [comparison] = report_of(db, cand, inc).comparisons  # the gate's default: 100 items
    assert comparison.gate is not None
    assert {c.name for c in comparison.gate.failures} == {"min_items", "non_inferiority"}


@pytest.mark.parametrize(
    ("cells", "label"),
    [
        ((180, 0, 12, 8), "better"),
        ((190, 2, 3, 5), "non_inferior"),
        ((14, 1, 3, 2), "inconclusive"),
        ((180, 12, 0, 8), "worse"),
    ],
)
def test_the_tests_are_read_in_one_word(cells: tuple[int, int, int, int], label: str) -> None:
    candidate, incumbent = paired_outcomes(*cells)
    comparison = compare_runs(candidate, incumbent, 0.02, 0.05)
    reading = read_tests(comparison)
    assert reading.label == label
    assert reading.non_inferior == comparison.noninferiority.non_inferior


def test_repeats_give_a_clustered_interval(db: Database) -> None:
    outcomes = {"a": [True, True], "b": [True, False], "c": [False, False], "d": [True, True]}
    run = store_run(db, RunSpec("m", outcomes))
    [only] = report_of(db, run).runs
    expected = clustered_pass_rate(outcomes.values(), 0.95)
    assert only.rate.method == "cluster_robust"
    assert (only.rate.low, only.rate.high) == (expected.low, expected.high)
    assert (only.rate.passed, only.rate.total) == (5, 8)


def test_runs_of_another_suite_version_are_shown_not_compared(db: Database) -> None:
    cand, _ = two_runs(db)
    other = store_run(db, RunSpec("other", {"q01": [True]}, version="sha256:" + "cd" * 32))
    report = report_of(db, cand, other)
    assert report.comparisons == ()
    assert [r.role for r in report.runs] == [None, None]
    assert any("not compared" in note for note in report.notes)


def test_runs_missing_items_are_not_compared(db: Database) -> None:
    full = store_run(db, RunSpec("a", {"q01": [True], "q02": [False]}))
    partial = store_run(db, RunSpec("b", {"q01": [True]}))
    [comparison] = report_of(db, full, partial).comparisons
    assert comparison.gate is None
    assert comparison.problem is not None
    assert "q02" in comparison.problem


def test_bad_settings_are_refused(db: Database) -> None:
    cand, inc = two_runs(db)
    documents = [run_document(db, cand), run_document(db, inc)]
    with pytest.raises(ValueError, match="margin"):
        build_report(documents, margin=0)
    with pytest.raises(ValueError, match="alpha"):
        build_report(documents, alpha=0.7)
    with pytest.raises(ValueError, match="more than once"):
        build_report([documents[0], documents[0]])
    with pytest.raises(ValueError, match="at least one run"):
        build_report([])


# -- rendering ------------------------------------------------------------------------------------


def test_markdown_shows_the_numbers_and_links_its_plots(db: Database, tmp_path: Path) -> None:
    cand, inc = two_runs(db)
    report = report_of(db, cand, inc, min_items=10)
    path = tmp_path / "out" / "weekly report.md"
    path.parent.mkdir()
    written = write_report(report, path, "md")
    assert written[0] == path
    text = path.read_text(encoding="utf-8")
    assert "| 85.0% | " + pct_interval(17, 20).replace("[", "\\[").replace("]", "\\]") in text
    assert "| 75.0% | " + pct_interval(15, 20).replace("[", "\\[").replace("]", "\\]") in text
    assert "| candidate passes | 14 | 3 | 17 |" in text
    assert "| candidate fails | 1 | 2 | 3 |" in text
    assert "| total | 15 | 5 | 20 |" in text
    assert "| McNemar exact p (two-sided) | 0.6250 |" in text
    assert "Verdict: FAIL (tests read: INCONCLUSIVE)" in text
    # Latencies 100, 110, ... 290 ms: nearest-rank p50 is the 10th, p95 the 19th; 20 attempts
    # of 20 + 5 tokens at 0.0015 each; the incumbent's errored attempt is neither timed nor
    # counted for tokens, and it has no pricing.
    assert "| 190 | 280 | 20 | 400 | 100 | 25.0 | 0.0300 USD | 1.5000 USD |" in text
    assert "| 190 | 280 | 19 | 380 | 95 | 23.8 | unpriced | unpriced |" in text
    plots = written[1:]
    assert [p.name for p in plots] == [
        "weekly report.pass-rates.png",
        "weekly report.tags.png",
        "weekly report.latency.png",
        "weekly report.cost.png",
    ]
    for plot in plots:
        assert plot.parent == path.parent
        assert plot.read_bytes().startswith(PNG_SIGNATURE)
        assert f"](weekly%20report.{plot.name.split('.')[1]}.png)" in text


def test_markdown_escapes_what_models_wrote(db: Database, tmp_path: Path) -> None:
    cand, inc = two_runs(db)
    path = tmp_path / "r.md"
    write_report(report_of(db, cand, inc), path, "md")
    text = path.read_text(encoding="utf-8")
    assert "<script>" not in text
    assert "<b>" not in text
    assert "&lt;script&gt;alert('x')&lt;/script&gt; \\| a pipe ↵ and a second line" in text
    assert "cand&lt;b&gt;model&lt;/b&gt;" in text
    # Every table row keeps its header's column count: the pipe inside the output is escaped.
    columns: int | None = None
    rows = 0
    for line in text.splitlines():
        if not line.startswith("|"):
            columns = None
            continue
        count = len(re.findall(r"(?<!\\)\|", line))
        columns = columns or count
        assert count == columns, line
        rows += 1
    assert rows > 40


def test_html_is_self_contained_with_png_plots(db: Database, tmp_path: Path) -> None:
    cand, inc = two_runs(db)
    report = report_of(db, cand, inc, min_items=10)
    path = tmp_path / "r.html"
    assert write_report(report, path, "html") == [path]
    page = path.read_text(encoding="utf-8")
    images = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    assert len(images) == len(make_plots(report)) == 4
    for encoded in images:
        assert base64.b64decode(encoded, validate=True).startswith(PNG_SIGNATURE)
    assert "<link" not in page
    assert "http://" not in page
    assert "https://" not in page
    assert "<script" not in page
    assert "85.0%" in page
    assert '<td>candidate passes</td><td class="num">14</td><td class="num">3</td>' in page
    assert "Verdict: FAIL (tests read: INCONCLUSIVE)" in page


def test_html_escapes_what_models_wrote(db: Database) -> None:
    cand, inc = two_runs(db)
    report = report_of(db, cand, inc)
    page = render_html(report, make_plots(report))
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; | a pipe\nand a second line" in page
    assert "cand&lt;b&gt;model&lt;/b&gt;" in page
    assert "<b>model" not in page
    # The page's policy lets no script run at all.
    assert "default-src 'none'" in page
    assert "script-src" not in page


def test_long_outputs_are_cut_and_failures_explained(db: Database) -> None:
    cand, inc = two_runs(db)
    report = report_of(db, cand, inc)
    page = render_html(report, make_plots(report))
    assert LONG not in page
    assert truncate(LONG) in page
    assert "[4700 more characters]" in page
    # Failures list the scorer's explanation, and errors their code and message.
    assert "exact: expected answer q16, got &#x27;wrong q16&#x27;" in page
    assert "upstream_error: the upstream answered 502" in page


def test_a_single_run_renders_without_a_comparison(db: Database, tmp_path: Path) -> None:
    run = store_run(db, RunSpec("solo", {"a": [True], "b": [False]}))
    report = report_of(db, run)
    page = render_html(report, make_plots(report))
    assert "Verdict" not in page
    assert "50.0%" in page
    # No tags in the suite: no tag plot.
    assert [p.name for p in make_plots(report)] == ["pass-rates", "latency", "cost"]


# -- portable JSONL -------------------------------------------------------------------------------


def export_to(db: Database, run_id: str, path: Path) -> Path:
    path.write_text(export_text(run_document(db, run_id)), encoding="utf-8")
    return path


def test_export_and_import_keep_the_run_document(db: Database, tmp_path: Path) -> None:
    cand, _ = two_runs(db)
    path = export_to(db, cand, tmp_path / "run.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert (header["zonegate_run"], header["results"], header["run_id"]) == (1, 20, cand)
    assert "results" not in json.loads(lines[1])
    assert len(lines) == 21

    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    other.migrate()
    try:
        imported = import_run(other, path)
        assert imported.run_id == cand
        assert run_document(other, cand) == run_document(db, cand)
        passed = [r["passed"] for r in run_document(other, cand)["results"]]
        assert passed.count(True) == 17
        with pytest.raises(InvalidRequest, match="already in this database") as refused:
            import_run(other, path)
        assert refused.value.code == "run_exists"
    finally:
        other.dispose()


def test_an_import_refuses_an_edited_or_cut_file(db: Database, tmp_path: Path) -> None:
    cand, _ = two_runs(db)
    path = export_to(db, cand, tmp_path / "run.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()

    [index] = [n for n, line in enumerate(lines) if '"item_id": "q15"' in line]
    flipped = json.loads(lines[index])  # a failure
    assert flipped["passed"] is False
    flipped["passed"] = True
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join([*lines[:index], json.dumps(flipped), *lines[index + 1 :]]) + "\n")
    with pytest.raises(ConfigError) as err:
        read_export(edited)
    assert any(p.line == index + 1 and "'passed' is true" in p.message for p in err.value.problems)

    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(ConfigError) as err:
        read_export(cut)
    assert any("says 20 results but the file holds 19" in p.message for p in err.value.problems)

    extra = json.loads(lines[1])
    extra["surprise"] = 1
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text("\n".join([lines[0], json.dumps(extra), *lines[2:]]) + "\n")
    with pytest.raises(ConfigError) as err:
        read_export(unknown)
    assert any(p.line == 2 and p.path == "surprise" for p in err.value.problems)

    suite_file = tmp_path / "suite.jsonl"
    suite_file.write_text(json.dumps({"zonegate_suite": 1, "name": "s"}) + "\n")
    with pytest.raises(ConfigError, match="suite export, not a run"):
        read_export(suite_file)


# -- the commands ---------------------------------------------------------------------------------


def cli_app() -> typer.Typer:
    app = typer.Typer()
    app.command("report")(eval_report.report)
    app.command("export")(eval_report.export)
    app.command("import")(eval_report.import_)
    return app


def test_the_commands_report_export_and_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    stored = Database(f"sqlite:///{data / 'zonegate.db'}")
    stored.migrate()
    try:
        cand, inc = two_runs(stored)
    finally:
        stored.dispose()
    runner = CliRunner()
    flags = ["--data-dir", str(data)]

    # --latest: the two newest runs of the newest run's suite, newest (the incumbent) first.
    latest = runner.invoke(cli_app(), ["report", "--latest", "--min-items", "10", *flags])
    assert latest.exit_code == 0, latest.output
    assert "gate FAIL (non_inferiority)" in latest.output
    [html_file] = tmp_path.glob("eval-report-*.html")
    assert html_file.name.startswith(f"eval-report-{inc[:8]}")
    assert html_file.read_text(encoding="utf-8").count("data:image/png;base64,") == 4

    named = runner.invoke(
        cli_app(), ["report", cand, inc[:-4], "-o", str(tmp_path / "r.md"), *flags]
    )
    assert named.exit_code == 0, named.output
    assert (tmp_path / "r.pass-rates.png").read_bytes().startswith(PNG_SIGNATURE)
    assert "Verdict: FAIL" in (tmp_path / "r.md").read_text(encoding="utf-8")

    one = runner.invoke(cli_app(), ["report", "--latest", "1", "-f", "md", *flags])
    assert one.exit_code == 0, one.output
    assert "vs" not in one.output

    bad = runner.invoke(cli_app(), ["report", cand, "--latest", *flags])
    assert bad.exit_code == 2
    assert "not both" in bad.output
    bad_format = runner.invoke(cli_app(), ["report", cand, "-f", "pdf", *flags])
    assert bad_format.exit_code == 2
    assert "is not one of md, html" in bad_format.output
    unknown = runner.invoke(cli_app(), ["report", "0123456789", *flags])
    assert unknown.exit_code == 2
    assert "no evaluation run" in unknown.output

    exported = runner.invoke(cli_app(), ["export", cand, "-o", str(tmp_path / "c.jsonl"), *flags])
    assert exported.exit_code == 0, exported.output
    to_stdout = runner.invoke(cli_app(), ["export", cand, *flags])
    assert to_stdout.stdout == (tmp_path / "c.jsonl").read_text(encoding="utf-8")

    elsewhere = ["--data-dir", str(tmp_path / "elsewhere")]
    imported = runner.invoke(cli_app(), ["import", str(tmp_path / "c.jsonl"), *elsewhere])
    assert imported.exit_code == 0, imported.output
    assert f"imported run {cand}" in imported.output
    again = runner.invoke(cli_app(), ["import", str(tmp_path / "c.jsonl"), *elsewhere])
    assert again.exit_code == 2
    assert "already in this database" in " ".join(again.output.split())
