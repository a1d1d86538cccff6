"""How fast are request logs read and fitted? The example traces, then a synthetic Mooncake-style file of N requests
(random lengths and 512-token block hashes), each in a fresh process: seconds to read, microseconds per request,
seconds to fit a workload section (`tokenlane workload fit`), peak memory.

Targets (issue 14): the shared one-hour traces in <= 2 s; 1,000,000 requests in <= 30 s with memory that grows with
the requests kept (a few arrays), not with the file (it is streamed).

Run: python benchmarks/trace_speed.py [--requests 1000000]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "data"

PROBE = """
import resource, sys, time
from tokenlane.trace_fit import fit_workload
from tokenlane.traces import read_trace
t = time.perf_counter()
trace = read_trace(sys.argv[1], sys.argv[2], max_requests=2_000_000)
s = time.perf_counter() - t
t = time.perf_counter()
fit_workload(trace, users=100, block_tokens=512).yaml("x")
f = time.perf_counter() - t
print(len(trace), s, f, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def synthetic(path: Path, requests: int) -> None:
    """A Mooncake-style JSONL file of `requests` requests (seeded)."""
    rng = random.Random(0)
    t_ms = 0
    with path.open("w") as f:
        for _ in range(requests):
            t_ms += rng.randint(0, 20)
            blocks = rng.randint(1, 12)
            ids = [rng.randint(0, 50_000) for _ in range(blocks)]
            f.write(
                json.dumps({"timestamp": t_ms, "input_length": blocks * 400, "output_length": rng.randint(1, 500), "hash_ids": ids}) + "\n"
            )


def measure(path: Path, fmt: str) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE, str(path), fmt], check=True, capture_output=True, text=True).stdout.split()
    n, seconds, fit_s, peak_mib = int(out[0]), float(out[1]), float(out[2]), float(out[3])
    size_mib = path.stat().st_size / 2**20
    print(
        f"{path.name:45} {n:>10,} read {seconds:7.3f} s {seconds / n * 1e6:6.2f} us/req  fit {fit_s:6.3f} s  "
        f"{size_mib:7.1f} MiB file {peak_mib:6.0f} MiB peak"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    args = parser.parse_args()
    measure(EXAMPLES / "azure-llm-inference-2023-conv.csv", "azure")
    measure(EXAMPLES / "mooncake-fast25-conversation-15min.jsonl", "mooncake")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"synthetic-{args.requests}.jsonl"
        synthetic(path, args.requests)
        measure(path, "mooncake")


if __name__ == "__main__":
    main()
