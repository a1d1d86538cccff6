"""How fast is `tokenlane search`? (issue 15)

The first 1,000 configurations (enumeration order) of the built-in scenario's search space, judged with 1 and
with 2 local worker processes, side by side in one run: seconds, milliseconds per configuration, the share the
paper checks pruned, and the speed-up. Target on a 2-core machine: 1,000 configurations in <= 60 s.

Run: python benchmarks/search_speed.py [--configs 1000]
"""

from __future__ import annotations

import argparse
from importlib.resources import as_file, files

from tokenlane import builtin_catalog, load_scenario
from tokenlane.search import Bounds, run_search

TARGET_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=1000)
    args = parser.parse_args()
    with as_file(files("tokenlane.scenarios") / "team-assistant.yaml") as path:
        scenario = load_scenario(path)
    catalog = builtin_catalog()
    bounds = Bounds(models=tuple(dict.fromkeys(o.model for o in scenario.options if o.kind != "api" and o.model)))
    seconds = {}
    print(f"{'workers':>7} {'configs':>8} {'pruned':>7} {'simulated':>9} {'seconds':>8} {'ms/config':>9} {'target s':>8}")
    for workers in (1, 2):
        found = run_search(scenario, catalog, bounds, backend="pool", workers=workers, limit=args.configs)
        seconds[workers] = found.seconds
        pruned = found.outcomes.get("pruned", 0)
        print(
            f"{workers:7d} {found.configurations:8,} {pruned / found.configurations:7.0%} {found.simulated:9,} "
            f"{found.seconds:8.1f} {found.seconds / found.configurations * 1000:9.1f} {TARGET_S:8.0f}"
        )
    print(f"speed-up with 2 workers: {seconds[1] / seconds[2]:.2f}x")


if __name__ == "__main__":
    main()
