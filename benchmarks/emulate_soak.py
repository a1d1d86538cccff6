"""Does the emulator's memory stay flat? Three rounds of 1,000 concurrent streams against `tokenlane emulate`, its
resident memory (VmRSS) read from /proc before and after each round (Linux).

Run: python benchmarks/emulate_soak.py [--streams 1000] [--rounds 3] [--tokens 20]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

import httpx


def rss_mib(pid: int) -> float:
    """Resident memory of process `pid`, MiB (VmRSS from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def round_of(url: str, streams: int, tokens: int) -> int:
    from tokenlane.bench.client import BenchConfig, run_closed_loop
    from tokenlane.bench.timing import RequestRecord

    cfg = BenchConfig(base_url=url + "/v1", model="qwen3-8b", output_tokens=tokens, stall_timeout_s=120, request_timeout_s=600)
    done: list[RequestRecord] = []
    await run_closed_loop(
        cfg, concurrency=streams, indices=list(range(streams)), prompt_of=lambda i: "hello there", on_done=done.append, seed=0
    )
    return sum(1 for r in done if r.ok)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=20)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.integration.servers import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "tokenlane", "emulate", "--hardware", "h100-sxm", "--model", "qwen3-8b", "--quant", "bf16"]
    server = subprocess.Popen([*cmd, "--engine", "vllm", "--port", str(port), "--max-streams", str(args.streams + 100)])
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        print(f"{'round':>5} {'ok streams':>10} {'RSS before MiB':>15} {'RSS after MiB':>14} {'wall s':>7}")
        warm = None
        for k in range(1, args.rounds + 1):
            before = rss_mib(server.pid)
            start = time.perf_counter()
            ok = asyncio.run(round_of(url, args.streams, args.tokens))
            time.sleep(1.0)
            after = rss_mib(server.pid)
            print(f"{k:5d} {ok:10,d} {before:15.1f} {after:14.1f} {time.perf_counter() - start:7.1f}")
            warm = after if warm is None else warm
        if warm is not None and args.rounds > 1:
            print(
                f"after the first round (connections, buffers, allocator warm-up) RSS moved {rss_mib(server.pid) - warm:+.1f} MiB "
                f"over {args.rounds - 1} more rounds of {args.streams:,} streams"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
