"""How fast does the planner page answer a change? (issue 16)

In one process, against the app `tokenlane serve` runs (FastAPI's TestClient, no network): the capacity preview
(/api/check: validation and paper capacity) and the full verdict (/api/plan: the simulated day, cost, verdict,
charts) for the built-in scenario, each time with a different number of users so nothing is served from the cache.
Targets on a 2-core machine: preview <= 200 ms, full verdict <= 3 s.

Run: python benchmarks/serve_speed.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from importlib.resources import files
from pathlib import Path

import yaml
from fastapi.testclient import TestClient

from tokenlane import builtin_catalog
from tokenlane.serve import create_app

TARGETS_S = {"preview": 0.2, "verdict": 3.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    text = (files("tokenlane.scenarios") / "team-assistant.yaml").read_text()
    client = TestClient(create_app(builtin_catalog(), text, Path.cwd()))
    raw = yaml.safe_load(text)
    client.get("/")
    times: dict[str, list[float]] = {"preview": [], "verdict": []}
    for i in range(args.repeat):
        raw["workload"]["users"] = 50 + 10 * (i + 1)
        for name, route in (("preview", "/api/check"), ("verdict", "/api/plan")):
            start = time.perf_counter()
            r = client.post(route, json={"scenario": raw})
            times[name].append(time.perf_counter() - start)
            assert r.status_code == 200, r.text
    print(f"{'answer':10} {'median s':>9} {'max s':>8} {'target s':>9} {'ratio':>6}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:10} {median:9.3f} {max(values):8.3f} {TARGETS_S[name]:9.2f} {median / TARGETS_S[name]:6.2f}")


if __name__ == "__main__":
    main()
