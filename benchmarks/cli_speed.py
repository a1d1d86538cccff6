"""`tokenlane plan` on the built-in scenario and on every file in examples/ must finish in <= 5 s wall each on a
2-core machine; also CLI import time and the capacity command.

Run: python benchmarks/cli_speed.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml"))
PLAN_TARGET_S = 5.0


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


def main() -> None:
    print(f"{'capacity curve 1..256 users, compute only':45} {curve_compute_s() * 1e3:6.2f} ms")
    with tempfile.TemporaryDirectory() as out:
        rows = [
            ("python -c 'import tokenlane'", _wall([sys.executable, "-c", "import tokenlane"]), None),
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
