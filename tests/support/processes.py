"""Run real servers in child processes for integration tests.

    with start_upstream(tmp_path) as up:          # tests.support.upstream_server
        ... up.base_url ("http://127.0.0.1:P/v1"), up.received() -> list of request records

    with start_module("zonegate.cli.main", "serve", "--port", "{port}", log_dir=tmp_path,
                      ready_path="/healthz") as proc:
        ... proc.url, proc.stop(), proc.kill(), proc.output()

``start_module`` picks a free port and substitutes it for ``{port}`` in the arguments, waits until
``ready_path`` answers with a status below 500 (failing with the process's output if it exits or
the deadline passes), and on exit stops the process: SIGTERM, then SIGKILL to its process group.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningProcess:
    """A child process serving HTTP on ``url`` (``http://127.0.0.1:<port>``)."""

    popen: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self, limit: int = 4000) -> str:
        """The tail of the process's combined stdout and stderr."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-limit:]
        except OSError:
            return ""

    def stop(self, grace: float = 5.0) -> int:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL the process group; the exit code."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                return self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        return self.popen.returncode

    def kill(self) -> None:
        """SIGKILL the process and anything it started (its own process group), and reap it."""
        if self.popen.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()


def wait_until_ready(process: RunningProcess, path: str = "/", timeout: float = 30.0) -> None:
    """Poll ``process.url + path`` until it answers below HTTP 500; fail with the output."""
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    with httpx.Client(timeout=1.0, trust_env=False) as client:
        while True:
            code = process.popen.poll()
            if code is not None:
                raise RuntimeError(
                    f"{process.popen.args!r} exited with code {code} before it was ready; "
                    f"output:\n{process.output()}"
                )
            try:
                response = client.get(process.url + path)
                if response.status_code < 500:
                    return
                last_error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{process.url}{path} did not answer within {timeout:g} s ({last_error}); "
                    f"output:\n{process.output()}"
                )
            time.sleep(0.05)


@contextmanager
def start_module(
    module: str,
    *args: str,
    log_dir: Path,
    ready_path: str = "/",
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Iterator[RunningProcess]:
    """Run ``python -m module *args`` from the repository root; stop it when the block ends.

    ``{port}`` in ``args`` becomes a free port; ``env`` is added to the current environment.
    """
    port = free_port()
    argv = [sys.executable, "-m", module, *(a.replace("{port}", str(port)) for a in args)]
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{module.rsplit('.', 1)[-1]}-{port}.log"
    child_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with open(log_path, "wb") as log:
        popen = subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    process = RunningProcess(popen=popen, port=port, log_path=log_path)
    try:
        wait_until_ready(process, ready_path, timeout)
        yield process
    finally:
        process.stop()


@dataclass
class Upstream:
    """A running ``tests.support.upstream_server``; see that module for its behaviours."""

    process: RunningProcess
    record_path: Path

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, up to and including ``/v1``."""
        return f"{self.process.url}/v1"

    def records(self) -> list[dict[str, Any]]:
        """Everything recorded so far: requests and stream ends, in order."""
        try:
            text = self.record_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        lines = text.split("\n")[:-1]  # a last line without its newline is still being written
        return [json.loads(line) for line in lines if line]

    def received(self) -> list[dict[str, Any]]:
        """The requests received so far: ``{"method", "path", "headers", "body"}`` each."""
        return [r for r in self.records() if r["kind"] == "request"]

    def stream_ends(self) -> list[dict[str, Any]]:
        """One ``{"complete": bool, "tokens_sent": int}`` per stream that has ended."""
        return [r for r in self.records() if r["kind"] == "stream_end"]


@contextmanager
def start_upstream(
    directory: Path, *, reply: str | None = None, timeout: float = 30.0
) -> Iterator[Upstream]:
    """Start an upstream server recording into ``directory``; stop it when the block ends."""
    directory.mkdir(parents=True, exist_ok=True)
    record_path = directory / f"upstream-{time.monotonic_ns()}.jsonl"
    args = ["--port", "{port}", "--record", str(record_path)]
    if reply is not None:
        args += ["--reply", reply]
    with start_module(
        "tests.support.upstream_server",
        *args,
        log_dir=directory,
        ready_path="/health",
        timeout=timeout,
    ) as process:
        yield Upstream(process=process, record_path=record_path)
