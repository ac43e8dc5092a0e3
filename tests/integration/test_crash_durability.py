"""SIGKILL under load loses no audit record of any response a client received."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.gateway_process import GatewayProcess, run_gateway, zonegate
from tests.support.processes import start_upstream

pytestmark = pytest.mark.integration

CONFIG = """
zones:
  vendor: {{operator: acme, ceiling: internal}}
models:
  vendor-chat:
    zone: vendor
    provider: {{type: openai_compat, base_url: "{base_url}", model: m, api_key: env:UP_KEY}}
routes:
  assistant: {{candidates: [vendor-chat]}}
teams:
  default: {{routes: ["*"]}}
"""


def hammer(gw: GatewayProcess, received: list[str], stop: threading.Event) -> None:
    body = {"model": "assistant", "messages": [{"role": "user", "content": "hello"}]}
    with httpx.Client(base_url=gw.base_url, timeout=10) as http:
        while not stop.is_set():
            try:
                r = http.post(
                    "/v1/chat/completions",
                    json=body,
                    headers={"Authorization": f"Bearer {gw.key}"},
                )
            except httpx.HTTPError:
                return  # the gateway is gone
            if r.status_code == 200 and r.json()["choices"]:
                received.append(r.headers["x-zonegate-request-id"])


def audited_ids(data_dir: Path, config: Path) -> set[str]:
    out = zonegate(
        "audit",
        "export",
        "--since",
        "1d",
        "--format",
        "jsonl",
        "--data-dir",
        str(data_dir),
        "--config",
        str(config),
    ).stdout
    return {json.loads(line)["request_id"] for line in out.splitlines() if line.strip()}


def test_sigkill_under_load_loses_no_received_response(tmp_path: Path) -> None:
    with start_upstream(tmp_path / "up") as upstream:
        config = tmp_path / "zonegate.yaml"
        config.write_text(CONFIG.format(base_url=upstream.base_url))
        env = {"UP_KEY": "k"}
        received: list[str] = []
        stop = threading.Event()
        with run_gateway(tmp_path, config=config, env=env) as gw:
            threads = [
                threading.Thread(target=hammer, args=(gw, received, stop)) for _ in range(16)
            ]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 60
            while len(received) < 300 and time.monotonic() < deadline:
                time.sleep(0.05)
            gw.kill()  # SIGKILL while 16 clients have requests in flight
            stop.set()
            for t in threads:
                t.join(30)
        assert len(received) >= 300
        audited = audited_ids(gw.data_dir, config)
        missing = set(received) - audited
        assert not missing, f"{len(missing)} responses were received without an audit record"

        # The restarted gateway continues one valid chain.
        with run_gateway(tmp_path, config=config, env=env, data_dir=gw.data_dir) as again:
            r = httpx.post(
                f"{again.base_url}/v1/chat/completions",
                json={"model": "assistant", "messages": [{"role": "user", "content": "hi"}]},
                headers={"Authorization": f"Bearer {again.key}"},
            )
            assert r.status_code == 200
        verify = zonegate(
            "audit", "verify", "--data-dir", str(gw.data_dir), "--config", str(config), check=False
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
