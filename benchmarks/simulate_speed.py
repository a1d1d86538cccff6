"""Simulator speed: a 9-hour day of 500 users (~27,000 requests) must take <= 5 s, 5,000 users <= 60 s (2 cores).

Run: python benchmarks/simulate_speed.py   Prints requests and decode steps simulated per second.
"""

from __future__ import annotations

import time

from tokenlane import build_deployment, builtin_catalog, simulate_day
from tokenlane.scenario import Workload

TARGETS_S = {500: 5.0, 5000: 60.0}


def main() -> None:
    catalog = builtin_catalog()
    cases = [
        (500, build_deployment(catalog, hardware="h100-sxm", model="llama-3.1-8b", quant="bf16", engine="vllm"), 1),
        (5000, build_deployment(catalog, hardware="h100-sxm", model="llama-3.1-70b", quant="fp8", engine="vllm", gpus=2), 4),
    ]
    print(
        f"{'users':>6} {'replicas':>8} {'requests':>9} {'tokens (M)':>10} {'steps':>10} {'wall s':>7} {'req/s':>8} {'steps/s':>10} target"
    )
    for users, dep, replicas in cases:
        workload = Workload(users=users, active_hours=9, requests_per_user_hour=6)
        start = time.perf_counter()
        r = simulate_day(dep, workload, replicas=replicas, seed=1)
        wall = time.perf_counter() - start
        tokens_m = (r.prompt_tokens + r.output_tokens) / 1e6
        verdict = "OK" if wall <= TARGETS_S[users] else "MISSED"
        print(
            f"{users:6d} {replicas:8d} {r.requests:9d} {tokens_m:10.1f} {r.decode_steps:10d} {wall:7.2f} {r.requests / wall:8.0f} "
            f"{r.decode_steps / wall:10.0f} <= {TARGETS_S[users]:g} s {verdict}"
        )


if __name__ == "__main__":
    main()
