"""How fast is `tokenlane search`? (issue 15)

The first 1,000 configurations (enumeration order) of the built-in scenario's search space, judged with 1 and
with 2 local worker processes, side by side in one run: seconds, milliseconds per configuration, the share the
paper checks pruned, and the speed-up. Target on a 2-core machine: 1,000 configurations in <= 60 s.

With --bounds: the 30-person on-prem assistant (benchmarks/data/onprem-30-users.yaml, four models, the whole catalog)
searched exhaustively and by bounds (issue 29), side by side: seconds, configurations simulated, the speed-up, and
whether the pick and the Pareto front are the same. Target on a 2-core machine: <= 20 s by bounds, the same pick.

Run: python benchmarks/search_speed.py [--configs 1000] [--bounds]
"""

from __future__ import annotations

import argparse
from importlib.resources import as_file, files
from pathlib import Path

from tokenlane import builtin_catalog, load_scenario
from tokenlane.search import Bounds, run_search

TARGET_S = 60.0
BOUNDS_TARGET_S = 20.0
ON_PREM = Path(__file__).resolve().parent / "data" / "onprem-30-users.yaml"


def by_bounds(workers: int) -> None:
    """The on-prem search exhaustive and by bounds, side by side."""
    scenario, catalog = load_scenario(ON_PREM), builtin_catalog()
    bounds = Bounds(models=tuple(dict.fromkeys(o.model for o in scenario.options if o.kind != "api" and o.model)))
    found = {}
    print(f"{'search':>10} {'configs':>8} {'simulated':>9} {'seconds':>8} {'target s':>8}")
    for exhaustive in (True, False):
        found[exhaustive] = run_search(scenario, catalog, bounds, backend="pool", workers=workers, exhaustive=exhaustive)
        f = found[exhaustive]
        name = "exhaustive" if exhaustive else "by bounds"
        target = "" if exhaustive else f"{BOUNDS_TARGET_S:8.0f}"
        print(f"{name:>10} {f.configurations:8,} {f.simulated:9,} {f.seconds:8.1f} {target}")
    same = (found[True].cheapest, found[True].pareto) == (found[False].cheapest, found[False].pareto)
    front = len(found[False].pareto)
    print(f"speed-up {found[True].seconds / found[False].seconds:.2f}x; same pick and front: {same} ({front} on the front)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--bounds", action="store_true", help="the on-prem search exhaustive and by bounds instead")
    args = parser.parse_args()
    if args.bounds:
        by_bounds(workers=2)
        return
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
