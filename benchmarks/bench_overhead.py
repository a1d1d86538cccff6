"""Is the bench client the bottleneck? 1,000 concurrent streams against a local server that streams at a known pace.

The server (a separate process) sends token k of each stream at exactly t0 + k x interval (absolute deadlines on the
shared monotonic clock) and puts t0 in the response id, so the client's receive time of every chunk can be compared
with when it was due. Reports: timing error (receive - due) p50/p99, the server's own lateness, delivered vs nominal
per-stream rate, client CPU per 1,000 tokens, event-loop lag. Target: p99 timing error < 1 ms, no drop in rate.

Run: python benchmarks/bench_overhead.py [--streams 1000] [--tokens 50] [--interval-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def serve(port: int, tokens: int, interval_ms: float, stats_path: str) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    lateness_us: list[float] = []
    interval_ns = int(interval_ms * 1e6)

    async def chat(request: Request) -> StreamingResponse:
        await request.body()
        t0 = time.perf_counter_ns() + interval_ns

        async def gen():
            for k in range(tokens):
                due = t0 + k * interval_ns
                delay = (due - time.perf_counter_ns()) / 1e9
                if delay > 0:
                    await asyncio.sleep(delay)
                lateness_us.append((time.perf_counter_ns() - due) / 1e3)
                yield (f'data: {{"id":"{t0}-{interval_ns}","choices":[{{"index":0,"delta":{{"content":" tok"}}}}]}}\n\n').encode()
            yield f'data: {{"id":"{t0}","choices":[],"usage":{{"prompt_tokens":8,"completion_tokens":{tokens}}}}}\n\n'.encode()
            yield b"data: [DONE]\n\n"

        return StreamingResponse(gen(), media_type="text/event-stream")

    def dump(*_: object) -> None:
        arr = np.asarray(lateness_us) if lateness_us else np.zeros(1)
        Path(stats_path).write_text(
            json.dumps({"sends": len(lateness_us), "p50_us": float(np.percentile(arr, 50)), "p99_us": float(np.percentile(arr, 99))})
        )
        os._exit(0)

    signal.signal(signal.SIGTERM, dump)
    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", backlog=4096, timeout_keep_alive=30)


async def client(port: int, streams: int, tokens: int) -> dict[str, float]:
    from tokenlane.bench.client import BenchConfig, LoopMonitor, run_closed_loop
    from tokenlane.bench.timing import RequestRecord

    cfg = BenchConfig(base_url=f"http://127.0.0.1:{port}/v1", model="paced", output_tokens=tokens, stall_timeout_s=60)
    monitor = LoopMonitor()
    monitor.start()
    done: list[RequestRecord] = []
    start = time.perf_counter()
    await run_closed_loop(
        cfg, concurrency=streams, indices=list(range(streams)), prompt_of=lambda i: "a b c d e f g h", on_done=done.append, seed=0
    )
    wall = time.perf_counter() - start
    cpu = await monitor.stop()
    errors_us: list[float] = []
    rates: list[float] = []
    for r in done:
        if not r.ok or not r.response_id:
            continue
        t0, interval = (int(x) for x in r.response_id.split("-"))
        errors_us.extend((ns - (t0 + k * interval)) / 1e3 for k, ns in enumerate(r.chunk_ns))
        if r.decode_tok_s:
            rates.append(r.decode_tok_s)
    err = np.asarray(errors_us)
    total_tokens = sum(r.output_tokens for r in done if r.ok)
    return {
        "ok": sum(r.ok for r in done),
        "errors": sum(not r.ok for r in done),
        "wall_s": wall,
        "timing_error_p50_ms": float(np.percentile(err, 50)) / 1e3 if err.size else float("nan"),
        "timing_error_p99_ms": float(np.percentile(err, 99)) / 1e3 if err.size else float("nan"),
        "per_stream_tok_s_median": float(np.median(rates)) if rates else 0.0,
        "client_cpu_s_per_1000_tokens": cpu * wall / total_tokens * 1000 if total_tokens else float("nan"),
        "client_cpu_fraction": cpu,
        "loop_lag_p99_ms": float(np.percentile(monitor.lags_ms, 99)) if monitor.lags_ms else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--interval-ms", type=float, default=20.0)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--stats", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.tokens, args.interval_ms, args.stats)
        return
    from tests.integration.servers import free_port

    port = free_port()
    stats = Path(tempfile.mkdtemp()) / "server.json"
    server = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            str(port),
            "--stats",
            str(stats),
            "--tokens",
            str(args.tokens),
            "--interval-ms",
            str(args.interval_ms),
        ]
    )
    time.sleep(2.0)
    try:
        from tokenlane.bench.run import event_loop_name

        if event_loop_name() == "uvloop":
            import uvloop

            result = uvloop.run(client(port, args.streams, args.tokens))
        else:
            result = asyncio.run(client(port, args.streams, args.tokens))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
    srv = json.loads(stats.read_text()) if stats.exists() else {}
    nominal = 1000.0 / args.interval_ms
    print(f"{args.streams} streams x {args.tokens} tokens at {nominal:.0f} tok/s each (interval {args.interval_ms:g} ms)")
    print(f"  completed {result['ok']}, errors {result['errors']}, wall {result['wall_s']:.1f} s")
    print(
        f"  timing error (receive - due): p50 {result['timing_error_p50_ms']:.2f} ms, p99 {result['timing_error_p99_ms']:.2f} ms "
        f"[target p99 < 1 ms]  — of which server lateness p50 {srv.get('p50_us', float('nan')) / 1e3:.2f} ms, "
        f"p99 {srv.get('p99_us', float('nan')) / 1e3:.2f} ms"
    )
    print(
        f"  delivered per-stream rate: median {result['per_stream_tok_s_median']:.1f} tok/s vs nominal {nominal:.1f} "
        f"({result['per_stream_tok_s_median'] / nominal - 1:+.1%})"
    )
    cpu_ms = result["client_cpu_s_per_1000_tokens"] * 1e3
    print(
        f"  client CPU {cpu_ms:.1f} ms per 1,000 tokens ({result['client_cpu_fraction']:.0%} of a core), "
        f"event-loop lag p99 {result['loop_lag_p99_ms']:.2f} ms"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
