"""`tokenlane plan` on the built-in scenario, on every file in examples/ and on a 5M-request nightly batch with fleet
sizing (benchmarks/data/nightly-5m-batch.yaml) must finish in <= 5 s wall each on a 2-core machine; also CLI start-up
(`tokenlane --help`, target 0.3 s), the capacity command, and the check behind fleet sizing's batch floor: a short
probe's saturated rate against the rate of a run 12x as long (`simulate.steady.RATE_MARGIN`).

Run: python benchmarks/cli_speed.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = [*sorted((ROOT / "examples").glob("*.yaml")), ROOT / "benchmarks" / "data" / "nightly-5m-batch.yaml"]
PLAN_TARGET_S = 5.0
HELP_TARGET_S = 0.3
PROBES = [
    ("h100-sxm", "qwen3-30b-a3b", "fp8", "vllm", 1200, 80),
    ("rtx-pro-6000", "qwen3-30b-a3b", "fp8", "vllm", 1200, 80),
    ("dgx-spark", "qwen3-30b-a3b", "q8_0", "llama.cpp", 800, 20),
    ("h100-sxm", "qwen3-30b-a3b", "fp8", "vllm", 8000, 2000),
]


def _wall(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - start


def curve_compute_s() -> float:
    """In-process time of the default 1..256-user concurrency curve (compute only, no import or printing)."""
    from tokenlane import build_deployment, builtin_catalog, concurrency_curve

    dep = build_deployment(
        builtin_catalog(), hardware="ryzen-ai-max-395-128gb", model="qwen3-235b-a22b", quant="ud-q3_k_xl", engine="llama.cpp"
    )
    start = time.perf_counter()
    concurrency_curve(dep, [1, 2, 4, 8, 16, 32, 64, 128, 256], context_tokens=4096, prompt_tokens=1024)
    return time.perf_counter() - start


def probe_check() -> None:
    """The probe's rate against a run of 200 generations of the same job on one replica (the margin must cover it)."""
    from tokenlane import build_deployment, builtin_catalog, simulate_day
    from tokenlane.scenario import BatchJob, Workload
    from tokenlane.simulate import saturated_rate_rps
    from tokenlane.simulate.schedulers import scheduler_for
    from tokenlane.simulate.steady import RATE_MARGIN

    catalog = builtin_catalog()
    print(f"batch floor probe vs 200 generations (margin {RATE_MARGIN:.0%}):")
    for hardware, model, quant, engine, prompt, output in PROBES:
        dep = build_deployment(catalog, hardware=hardware, model=model, quant=quant, engine=engine)
        requests = 200 * scheduler_for(dep, None).running_cap()
        job = BatchJob(name="long", requests=requests, prompt_tokens=prompt, output_tokens=output, window_hours=24, start_hour=0)
        start = time.perf_counter()
        probe = saturated_rate_rps(dep, job)
        probe_s = time.perf_counter() - start
        day = simulate_day(dep, Workload(users=1, requests_per_user_hour=0, active_hours=1, batch_jobs=[job]))
        long_rate = requests / (day.batch_jobs[0].completion_hours * 3600)
        verdict = "OK" if probe * (1 + RATE_MARGIN) >= long_rate else "MISSED"
        print(
            f"  {hardware} {engine} {prompt}+{output}: probe {probe:8.3f} req/s in {probe_s:5.2f} s, long run {long_rate:8.3f} req/s "
            f"({probe / long_rate - 1:+.1%}) {verdict}"
        )


def main() -> None:
    print(f"{'capacity curve 1..256 users, compute only':45} {curve_compute_s() * 1e3:6.2f} ms")
    probe_check()
    with tempfile.TemporaryDirectory() as out:
        rows = [
            ("python -c 'import tokenlane'", _wall([sys.executable, "-c", "import tokenlane"]), None),
            ("tokenlane --help", _wall([sys.executable, "-m", "tokenlane", "--help"]), HELP_TARGET_S),
            ("tokenlane capacity (1..256 users)", _wall([sys.executable, "-m", "tokenlane", "capacity", "--json"]), 1.0),
            ("tokenlane plan (built-in, writes report)", _wall([sys.executable, "-m", "tokenlane", "plan", "--out", out]), PLAN_TARGET_S),
        ]
        for path in EXAMPLES:
            wall = _wall([sys.executable, "-m", "tokenlane", "plan", str(path), "--out", out])
            rows.append((f"tokenlane plan {path.name}", wall, PLAN_TARGET_S))
    for name, wall, target in rows:
        verdict = "" if target is None else ("OK" if wall <= target else "MISSED")
        print(f"{name:45} {wall:6.2f} s  {'target <= ' + str(target) + ' s ' + verdict if target else ''}")


if __name__ == "__main__":
    main()
