"""Run ``zonegate serve`` as a real process for integration tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ZONEGATE = str(Path(sys.executable).with_name("zonegate"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def zonegate(
    *args: str, env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a zonegate command; returns its completed process (stdout, stderr as text)."""
    return subprocess.run(
        [ZONEGATE, *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


@dataclass
class GatewayProcess:
    proc: subprocess.Popen[bytes]
    base_url: str
    key: str
    data_dir: Path
    log: Path
    args: list[str]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gateway did not become ready within {timeout} s:\n{log.read_text()}")


@contextmanager
def run_gateway(
    tmp_path: Path,
    *,
    config: Path | None = None,
    env: Mapping[str, str] | None = None,
    data_dir: Path | None = None,
    port: int | None = None,
) -> Iterator[GatewayProcess]:
    """Start a gateway on a free port with its own data dir and a fresh API key."""
    data_dir = data_dir or tmp_path / "data"
    common = ["--data-dir", str(data_dir)]
    if config is not None:
        common += ["--config", str(config)]
    key = zonegate("keys", "create", "--principal", "tester", *common, env=env).stdout.strip()
    port = port or free_port()
    log = tmp_path / f"gateway-{port}.log"
    args = [ZONEGATE, "serve", *common, "--port", str(port), "--log-level", "warning"]
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            args, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT
        )
    gw = GatewayProcess(proc, f"http://127.0.0.1:{port}", key, data_dir, log, args)
    try:
        _wait_ready(f"{gw.base_url}/readyz", proc, log)
        yield gw
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
