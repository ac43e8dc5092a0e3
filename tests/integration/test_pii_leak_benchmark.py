"""The external check: the ``pii-leak-benchmark`` package against a real gateway process.

The benchmark stands in as the vendor zone's upstream on loopback (its own capture server) and
judges what reaches it and what the caller gets back. The gateway runs
``examples/pseudonymise.yaml`` unchanged, with VENDOR_BASE_URL pointing the vendor zone at the
capture. Two runs, both streaming:

- ``selfcheck --duty restore --profile pii-secrets-v1``: no fixture value (email, SSN, card, AWS
  key, GitHub and Slack tokens) reaches the upstream, and the caller gets every value back;
- ``pii-leak-benchmark-v2 --exhaustive-splits``: the response path. Values the caller sent come
  back restored (FidelityRate 1), values the upstream injects that the caller never sent do not
  reach the caller, whole or cut at every internal split point (LeakRate 0), and nothing leaks
  on the request path.

Each assertion is the benchmark's own pass criterion, read from its exit code and JSON report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.integration.gateway_process import GatewayProcess, run_gateway, zonegate
from tests.support.processes import free_port

pytestmark = [pytest.mark.integration, pytest.mark.model]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pseudonymise.yaml"
SELFCHECK = Path(sys.executable).with_name("pii-leak-benchmark")
V2 = Path(sys.executable).with_name("pii-leak-benchmark-v2")
ROUTE = "assistant"
# The benchmark's pii-secrets-v1 profile: three personal-data types and three credentials.
PII_SECRETS_V1 = {
    "EMAIL",
    "SSN",
    "CREDIT_CARD",
    "AWS_ACCESS_KEY_ID",
    "GITHUB_TOKEN",
    "SLACK_TOKEN",
}
# Wall-clock ceilings per run; a healthy gateway needs a few seconds for the first and about
# half a minute for the second (252 streamed requests).
SELFCHECK_TIMEOUT_S = 70
V2_TIMEOUT_S = 80
# Variables the benchmark reads that must come from this test only.
BENCHMARK_ENV = (
    "CONFORMANCE_TARGET_API_KEY",
    "CONFORMANCE_TARGET_HEADERS",
    "CONFORMANCE_CAPTURE_TOKEN",
    "CONFORMANCE_CAPTURE_PUBLIC_URL",
    "V2_GATEWAY_TOKEN",
)


@pytest.fixture(scope="module")
def capture_port() -> int:
    """The loopback port each benchmark run binds its capture (fake upstream) on."""
    return free_port()


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, capture_port: int
) -> Iterator[GatewayProcess]:
    env = {
        "VENDOR_BASE_URL": f"http://127.0.0.1:{capture_port}/v1",
        "VENDOR_MODEL": "pii-leak-benchmark-capture",
        "VENDOR_API_KEY": "capture-accepts-any-key",
    }
    with run_gateway(tmp_path_factory.mktemp("pii-bench"), config=EXAMPLE, env=env) as gw:
        yield gw


def benchmark_env(gw: GatewayProcess) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in BENCHMARK_ENV}
    env["CONFORMANCE_TARGET_API_KEY"] = gw.key
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def run_benchmark(
    argv: list[str], *, env: Mapping[str, str], cwd: Path, timeout: float, gw: GatewayProcess
) -> subprocess.CompletedProcess[str]:
    if not Path(argv[0]).exists():
        pytest.fail(f"{argv[0]} is missing: install the dev extra (pip install -e '.[dev]')")
    try:
        return subprocess.run(
            argv, env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        output = _text(exc.stdout) + _text(exc.stderr)
        pytest.fail(
            f"{Path(argv[0]).name} did not finish within {timeout:g} s.\n"
            f"What the gateway served, newest last:\n{served_by(gw)}\n"
            f"Benchmark output so far:\n{output[-4000:]}"
        )


def _text(data: str | bytes | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


def served_by(gw: GatewayProcess, last: int = 5) -> str:
    """The newest audit records, one line each: which model answered and why (no content)."""
    common = ["--data-dir", str(gw.data_dir), "--config", str(EXAMPLE)]
    done = zonegate("audit", "tail", "--json", "-n", str(last), *common, check=False)
    lines = []
    for line in done.stdout.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        lines.append(
            f"  status {rec.get('status')} model {rec.get('model_id')} "
            f"fallback_chain {rec.get('fallback_chain')} reason {rec.get('reason_code')} "
            f"findings {rec.get('findings')}"
        )
    return "\n".join(lines) or f"  (no audit records: {done.stderr.strip()[-500:]})"


def test_no_value_leaks_and_every_value_is_restored_streaming(
    gateway: GatewayProcess, capture_port: int, tmp_path: Path
) -> None:
    """pii-secrets-v1 with --duty restore: exit 0 (CLEAN) is the benchmark's pass."""
    report_path = tmp_path / "selfcheck.json"
    argv = [
        str(SELFCHECK),
        "selfcheck",
        "--target-base-url",
        f"{gateway.base_url}/v1",
        "--target-model",
        ROUTE,
        "--capture-port",
        str(capture_port),
        "--duty",
        "restore",
        "--profile",
        "pii-secrets-v1",
        "--json-out",
        str(report_path),
    ]
    done = run_benchmark(
        argv, env=benchmark_env(gateway), cwd=tmp_path, timeout=SELFCHECK_TIMEOUT_S, gw=gateway
    )
    report: dict[str, Any] = (
        json.loads(report_path.read_text()) if report_path.exists() else {"checks": {}}
    )
    tested = set(report.get("fixture", {}).get("formats", {}))
    assert (done.returncode, tested) == (0, PII_SECRETS_V1), selfcheck_failure(
        done, report, gateway
    )


def selfcheck_failure(
    done: subprocess.CompletedProcess[str], report: dict[str, Any], gw: GatewayProcess
) -> str:
    """The selfcheck's verdict in its own words, with the leaked types named first."""
    checks: dict[str, Any] = report["checks"]
    boundary = checks.get("configured_upstream_boundary", {})
    leaked = sorted(
        set(boundary.get("leaked_entity_types", []))
        | set(boundary.get("unattributed_leaked_entity_types", []))
    )
    failed = sorted(name for name, check in checks.items() if not check.get("passed", True))
    tested = sorted(report.get("fixture", {}).get("formats", {}))
    output = done.stdout + done.stderr
    return (
        f"pii-leak-benchmark selfcheck exited {done.returncode} "
        "(0 CLEAN, 1 LEAK or CHECK FAILED, 2 NOT MEASURED).\n"
        f"Types that reached the upstream unmasked (request path): {leaked or 'none'}\n"
        f"Checks that failed: {failed or 'none'}\n"
        f"Types tested: {tested} (pii-secrets-v1 is {sorted(PII_SECRETS_V1)})\n"
        f"What the gateway served, newest last:\n{served_by(gw)}\n"
        f"Benchmark output:\n{output[-6000:]}"
    )


def test_response_path_restores_echoes_and_contains_injected_values_at_every_split(
    gateway: GatewayProcess, capture_port: int, tmp_path: Path
) -> None:
    """The v2 profile with --exhaustive-splits: outcome ``pass`` with nothing left unmeasured."""
    out = tmp_path / "v2"
    summary_path = out / "summary.json"
    argv = [
        str(V2),
        "--validate",
        "--out",
        str(out),
        "--only",
        "zonegate",
        "--gateway-url",
        f"{gateway.base_url}/v1/chat/completions",
        "--upstream-port",
        str(capture_port),
        "--model",
        ROUTE,
        "--exhaustive-splits",
        "--json-out",
        str(summary_path),
    ]
    done = run_benchmark(
        argv, env=benchmark_env(gateway), cwd=tmp_path, timeout=V2_TIMEOUT_S, gw=gateway
    )
    output = done.stdout + done.stderr
    assert summary_path.exists(), f"the v2 run wrote no summary (exit {done.returncode}):\n{output}"
    summary = json.loads(summary_path.read_text())
    (row,) = summary["rows"]
    report = json.loads((out / row["report"]).read_text())
    containment = report["checks"]["response_injection_containment"]
    problems = [
        f"{name}: {detail}"
        for name, bad, detail in (
            ("schema", done.returncode != 0, f"exit {done.returncode}, {row['schema_errors']}"),
            ("outcome", row["outcome"] != "pass", row["outcome"]),
            (
                "request path: types that reached the upstream unmasked",
                bool(row["request_path_leak"]),
                row["request_path_leak"],
            ),
            (
                "response path: injected types that reached the caller",
                bool(containment["leaked_entity_types"]),
                f"{containment['leaked_entity_types']} "
                f"(LeakRate single_chunk {row['leak_single_chunk']}, "
                f"adversarial {row['leak_adversarial']})",
            ),
            (
                "response path: FidelityRate (caller's own values restored)",
                row["fidelity_rate"] != 1.0,
                row["fidelity_rate"],
            ),
            (
                "cases not measured",
                row["inconclusive"] != 0 or row["cases_applicable"] != row["cases_attempted"],
                f"{row['inconclusive']} inconclusive, "
                f"{row['cases_applicable']}/{row['cases_attempted']} applicable",
            ),
            ("oracle", summary["oracle"] != "exhaustive-2-part", summary["oracle"]),
        )
        if bad
    ]
    per_entity = {
        entity: {k: arm[k] for k in ("leaked", "applicable", "fidelity_rate")}
        for entity, arm in report["metrics"]["by_axis"]["entity"].items()
    }
    assert not problems, (
        "pii-leak-benchmark-v2 (--exhaustive-splits) did not pass:\n  "
        + "\n  ".join(problems)
        + f"\nPer entity: {per_entity}\n"
        + f"Leak evidence: {containment.get('leak_evidence')}\n"
        + f"What the gateway served, newest last:\n{served_by(gateway)}\n"
        + f"Benchmark output:\n{output[-3000:]}"
    )
