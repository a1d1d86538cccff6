"""bench under trouble: resume runs exactly the missing requests, a summary survives an interruption, open-loop
levels are rates, a server without usage is said so, connect timeouts have their own class, the overhead benchmark
still runs."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.servers import misbehaving_app, serve_in_thread
from tokenlane.bench import BenchConfig, RequestRecord, ResultsFile, load_measured_curve, stream_one
from tokenlane.bench.client import make_client
from tokenlane.bench.run import run_bench
from tokenlane.bench.timing import RequestRecord as Record

ROOT = Path(__file__).resolve().parents[2]


def _bench(url: str, folder: Path, **kwargs: Any) -> dict[str, Any]:
    cfg = BenchConfig(base_url=url + "/v1", model=kwargs.pop("model", "ok"), output_tokens=5, request_timeout_s=5)

    async def go() -> dict[str, Any]:
        with ResultsFile(folder) as results:
            return await run_bench(cfg, results, prompt_tokens=8, **kwargs)

    return asyncio.run(go())


def test_resume_runs_exactly_the_missing_indices(tmp_path: Path) -> None:
    done = [Record(level=2, index=i, intended_ns=0, first_token_ns=1, end_ns=2, chunk_ns=[1]) for i in (0, 2)]
    (tmp_path / "requests.jsonl").write_text("".join(json.dumps(r.to_json()) + "\n" for r in done))
    with serve_in_thread(misbehaving_app()) as url:
        _bench(url, tmp_path, concurrencies=[2], requests_per_level=4, resume=True)
    indices = [json.loads(line)["index"] for line in (tmp_path / "requests.jsonl").read_text().splitlines()]
    assert sorted(indices) == [0, 1, 2, 3]


def test_a_summary_is_written_when_the_run_is_interrupted(tmp_path: Path) -> None:
    def stop(_: RequestRecord) -> None:
        raise KeyboardInterrupt

    with serve_in_thread(misbehaving_app()) as url, pytest.raises(KeyboardInterrupt):
        _bench(url, tmp_path, concurrencies=[1, 2], requests_per_level=3, on_record=stop)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["stopped"].startswith("interrupted (") and summary["levels"] == []


def test_open_loop_levels_are_rates_with_request_throughput(tmp_path: Path) -> None:
    with serve_in_thread(misbehaving_app()) as url:
        doc = _bench(url, tmp_path, concurrencies=[1], requests_per_level=4, rate_per_s=20.0)
    level = doc["levels"][0]
    assert level["concurrency"] is None and level["rate_per_s"] == 20.0 and level["requests_per_s"] > 0
    assert load_measured_curve(tmp_path / "summary.json") == []


def test_a_server_without_usage_is_said_so(tmp_path: Path) -> None:
    with serve_in_thread(misbehaving_app()) as url:
        doc = _bench(url, tmp_path, concurrencies=[1], requests_per_level=2, model="nousage")
    assert doc["prompt_sized_by"] == "default" and doc["server_reports_usage"] is False
    assert any("no prompt usage" in w for w in doc["warnings"]) and any("chunks that carried a token" in w for w in doc["warnings"])


def test_connect_timeouts_have_their_own_class() -> None:
    class Refusing:
        async def post(self, *args: Any, **kwargs: Any) -> Any:
            raise aiohttp.ConnectionTimeoutError("connect timed out")

    cfg = BenchConfig(base_url="http://127.0.0.1:1/v1", model="m")
    record = asyncio.run(stream_one(Refusing(), cfg, "hi", RequestRecord(level=1, index=0, intended_ns=0)))  # type: ignore[arg-type]
    assert record.error == "connect_timeout"


def test_overhead_benchmark_runs_at_a_small_size() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/bench_overhead.py", "--streams", "20", "--tokens", "5", "--interval-ms", "5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "completed 20, errors 0" in done.stdout


async def _close_mid_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, reset: bool) -> None:
    await reader.read(65536)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
    writer.write(b'data: {"choices":[{"delta":{"content":"a"}}]}\n\n')
    await writer.drain()
    await asyncio.sleep(0.05)
    if reset:
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
    else:
        writer.close()


@pytest.mark.parametrize(("reset", "error"), [(True, "reset"), (False, "no_done")])
def test_a_reset_mid_stream_is_told_from_a_close(reset: bool, error: str) -> None:
    """A body read to the end of the connection (no chunked encoding) ends quietly either way; a TCP reset is a reset."""

    async def go() -> RequestRecord:
        server = await asyncio.start_server(lambda r, w: _close_mid_stream(r, w, reset=reset), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        cfg = BenchConfig(base_url=f"http://127.0.0.1:{port}/v1", model="m", output_tokens=5, request_timeout_s=3)
        async with make_client(cfg, 1) as client:
            record = await stream_one(client, cfg, "hi", RequestRecord(level=1, index=0, intended_ns=0))
        server.close()
        await server.wait_closed()
        return record

    assert asyncio.run(go()).error == error
