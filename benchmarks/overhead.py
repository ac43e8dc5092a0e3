"""Gateway overhead: direct upstream vs through zonegate (policy, detection and audit on).

Starts a fixed-response upstream (far faster than the gateway) and a zonegate process whose one
route forwards to it, then measures, in one run and for both targets:
  - sequential latency at concurrency 1 (p50 / p99),
  - closed-loop throughput at concurrency 32 (requests/s, p50 / p99),
and prints the added latency (zonegate minus direct) and the gateway's CPU time per request.
On a machine with 2+ cores the gateway is pinned to CPU 0, upstream and load generator to CPU 1.

    python benchmarks/overhead.py [--seq-requests 2000] [--duration 10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _loadgen import LoadResult, build_request, run_load

HERE = Path(__file__).resolve().parent
BODY = json.dumps(
    {
        "model": "bench",
        "messages": [
            {"role": "system", "content": "You are a terse assistant."},
            {"role": "user", "content": "Say hello in one short sentence."},
        ],
        "max_tokens": 32,
        "temperature": 0,
    },
    separators=(",", ":"),
).encode()

CONFIG = """\
zones:
  bench: {{operator: bench, ceiling: restricted}}
models:
  bench-model:
    zone: bench
    provider:
      type: openai_compat
      base_url: http://127.0.0.1:{upstream_port}/v1
      model: gpt-4o-mini
      api_key: env:BENCH_UPSTREAM_KEY
routes:
  bench: {{candidates: [bench-model]}}
teams:
  default: {{routes: ["*"], models: ["*"]}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cpu: int, argv: list[str]) -> list[str]:
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", str(cpu), *argv]
    return argv


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback only
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(port: int, key: str | None, path: str, args: argparse.Namespace, pid: int | None):
    request = build_request("127.0.0.1", port, path, BODY, key)
    asyncio.run(run_load("127.0.0.1", port, request, concurrency=32, duration_s=args.warmup))
    seq = asyncio.run(
        run_load("127.0.0.1", port, request, concurrency=1, requests=args.seq_requests)
    )
    cpu0 = cpu_seconds(pid) if pid else 0.0
    load = asyncio.run(
        run_load("127.0.0.1", port, request, concurrency=args.concurrency, duration_s=args.duration)
    )
    cpu_us = (cpu_seconds(pid) - cpu0) / max(1, len(load.latencies_ns)) * 1e6 if pid else None
    return seq, load, cpu_us


def row(name: str, seq: LoadResult, load: LoadResult, cpu_us: float | None) -> dict[str, object]:
    return {
        "target": name,
        "c1_p50_ms": seq.pct(50),
        "c1_p99_ms": seq.pct(99),
        "rps": load.rps,
        "load_p50_ms": load.pct(50),
        "load_p99_ms": load.pct(99),
        "errors": seq.errors + load.errors,
        "cpu_us_per_req": cpu_us,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seq-requests", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    os.sched_setaffinity(0, {1}) if (os.cpu_count() or 1) >= 2 else None
    zonegate = str(Path(sys.executable).with_name("zonegate"))
    work = Path(tempfile.mkdtemp(prefix="zonegate-bench-"))
    up_port, gw_port = free_port(), free_port()
    (work / "zonegate.yaml").write_text(CONFIG.format(upstream_port=up_port))
    env = {**os.environ, "BENCH_UPSTREAM_KEY": "bench-upstream-key"}
    common = ["--config", str(work / "zonegate.yaml"), "--data-dir", str(work / "data")]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        upstream = subprocess.Popen(
            pinned(1, [sys.executable, str(HERE / "_upstream.py"), str(up_port)])
        )
        procs.append(upstream)
        key = subprocess.run(
            [zonegate, "keys", "create", "--principal", "bench", *common],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        log = open(work / "gateway.log", "wb")  # noqa: SIM115 - closed with the process
        gateway = subprocess.Popen(
            pinned(
                0, [zonegate, "serve", *common, "--port", str(gw_port), "--log-level", "warning"]
            ),
            env=env,
            stdout=log,
            stderr=log,
        )
        procs.append(gateway)
        wait_ready(f"http://127.0.0.1:{gw_port}/healthz", gateway)
        rows: list[list[dict[str, object]]] = []
        for r in range(args.rounds):
            seq_d, load_d, _ = measure(up_port, None, "/v1/chat/completions", args, None)
            seq_g, load_g, cpu = measure(gw_port, key, "/v1/chat/completions", args, gateway.pid)
            rows.append([row("direct", seq_d, load_d, None), row("zonegate", seq_g, load_g, cpu)])
            print_round(r + 1, rows[-1])
        audited = (
            sqlite3.connect(work / "data" / "zonegate.db")
            .execute("select count(*) from audit_records")
            .fetchone()[0]
        )
        print_summary(rows, audited)
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


def print_round(n: int, rows: list[dict[str, object]]) -> None:
    print(f"\nround {n}")
    print(
        f"{'target':<10} {'c=1 p50':>9} {'c=1 p99':>9} {'c=32 req/s':>11} {'c=32 p50':>9} "
        f"{'c=32 p99':>9} {'errors':>7} {'CPU us/req':>11}"
    )
    for r in rows:
        cpu = f"{r['cpu_us_per_req']:.0f}" if r["cpu_us_per_req"] is not None else "-"
        print(
            f"{r['target']:<10} {r['c1_p50_ms']:>8.3f}ms {r['c1_p99_ms']:>8.3f}ms "
            f"{r['rps']:>11.0f} {r['load_p50_ms']:>8.2f}ms {r['load_p99_ms']:>8.2f}ms "
            f"{r['errors']:>7} {cpu:>11}"
        )


def print_summary(rounds: list[list[dict[str, object]]], audited: int) -> None:
    def mean(key: str, target: int) -> float:
        return sum(float(r[target][key]) for r in rounds) / len(rounds)  # type: ignore[arg-type]

    added_p50 = mean("c1_p50_ms", 1) - mean("c1_p50_ms", 0)
    added_p99 = mean("c1_p99_ms", 1) - mean("c1_p99_ms", 0)
    print(f"\nsummary over {len(rounds)} round(s)")
    print(f"  added latency at c=1: p50 {added_p50:.3f} ms, p99 {added_p99:.3f} ms")
    print(
        f"  zonegate throughput at c=32: {mean('rps', 1):.0f} req/s "
        f"(direct upstream: {mean('rps', 0):.0f} req/s, {mean('rps', 0) / mean('rps', 1):.0f}x)"
    )
    print(f"  gateway CPU per request: {mean('cpu_us_per_req', 1):.0f} us")
    print(f"  audit records committed: {audited}")


if __name__ == "__main__":
    main()
