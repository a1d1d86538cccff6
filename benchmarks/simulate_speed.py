"""Simulator speed: CPU seconds, requests and decode steps per CPU-second for four days (targets from issue 9).

Run: python benchmarks/simulate_speed.py   (each case in this process; CPU time, so a noisy shared machine matters less)
"""

from __future__ import annotations

import time

from tokenlane import build_deployment, builtin_catalog, simulate_day
from tokenlane.scenario import BatchJob, Workload


def cases() -> list[tuple[str, object, Workload, int, float]]:
    catalog = builtin_catalog()
    llama8 = build_deployment(catalog, hardware="h100-sxm", model="llama-3.1-8b", quant="bf16", engine="vllm")
    llama70 = build_deployment(catalog, hardware="h100-sxm", model="llama-3.1-70b", quant="fp8", engine="vllm", gpus=2)
    batch_box = build_deployment(catalog, hardware="rtx-pro-6000", model="qwen3-30b-a3b", quant="fp8", engine="vllm")
    nightly = Workload(
        users=1,
        active_hours=1,
        requests_per_user_hour=0,
        batch_jobs=[BatchJob(name="nightly", requests=5_000_000, prompt_tokens=800, output_tokens=20, window_hours=24, start_hour=0)],
    )
    return [
        ("500 users x 9 h, 1 replica", llama8, Workload(users=500, active_hours=9, requests_per_user_hour=6), 1, 0.5),
        ("5,000 users x 9 h, 4 replicas", llama70, Workload(users=5000, active_hours=9, requests_per_user_hour=6), 4, 5.0),
        ("20,000 users x 9 h, 16 replicas", llama70, Workload(users=20000, active_hours=9, requests_per_user_hour=6), 16, 20.0),
        ("5,000,000-request nightly batch, 1 box", batch_box, nightly, 1, 5.0),
    ]


def main() -> None:
    print(f"{'case':40} {'requests':>10} {'steps':>11} {'CPU s':>7} {'req/CPU-s':>10} {'steps/CPU-s':>12}  target")
    for name, dep, workload, replicas, target in cases():
        start = time.process_time()
        r = simulate_day(dep, workload, replicas=replicas, seed=1)  # type: ignore[arg-type]
        cpu = time.process_time() - start
        made = r.requests + r.batch_requests
        verdict = "OK" if cpu <= target else "MISSED"
        rates = f"{made / cpu:10,.0f} {r.decode_steps / cpu:12,.0f}"
        print(f"{name:40} {made:10,d} {r.decode_steps:11,d} {cpu:7.2f} {rates}  <= {target:g} s {verdict}")


if __name__ == "__main__":
    main()
