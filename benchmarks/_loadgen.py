"""A small closed-loop HTTP/1.1 load generator (keep-alive, fixed request) on raw asyncio sockets.

Each of C connections sends its next request when the previous reply has arrived, like wrk.
Latency is measured per request with perf_counter_ns.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    latencies_ns: list[int] = field(default_factory=list)
    errors: int = 0
    elapsed_s: float = 0.0

    def pct(self, q: float) -> float:
        """Latency percentile in milliseconds."""
        data = sorted(self.latencies_ns)
        if not data:
            return float("nan")
        idx = min(len(data) - 1, round(q / 100 * (len(data) - 1)))
        return data[idx] / 1e6

    @property
    def rps(self) -> float:
        return len(self.latencies_ns) / self.elapsed_s if self.elapsed_s else 0.0


def build_request(host: str, port: int, path: str, body: bytes, key: str | None) -> bytes:
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    if key:
        head.append(f"Authorization: Bearer {key}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    idx = lower.find(b"content-length:")
    if idx < 0:
        raise RuntimeError("response without content-length")
    end = lower.find(b"\r\n", idx)
    await reader.readexactly(int(lower[idx + 15 : end]))
    return status


async def _worker(
    host: str, port: int, request: bytes, result: LoadResult, stop: asyncio.Event, budget: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while not stop.is_set():
            if budget[0] == 0:
                stop.set()
                break
            budget[0] -= 1
            t0 = time.perf_counter_ns()
            writer.write(request)
            status = await _read_response(reader)
            t1 = time.perf_counter_ns()
            if status == 200:
                result.latencies_ns.append(t1 - t0)
            else:
                result.errors += 1
    finally:
        writer.close()


async def run_load(
    host: str,
    port: int,
    request: bytes,
    *,
    concurrency: int,
    requests: int | None = None,
    duration_s: float | None = None,
) -> LoadResult:
    """Run until ``requests`` replies (when given) or for ``duration_s`` seconds."""
    result = LoadResult()
    stop = asyncio.Event()
    budget = [requests if requests is not None else -1]
    t0 = time.perf_counter()
    tasks = [
        asyncio.create_task(_worker(host, port, request, result, stop, budget))
        for _ in range(concurrency)
    ]
    if duration_s is not None:
        await asyncio.sleep(duration_s)
        stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    result.elapsed_s = time.perf_counter() - t0
    return result
