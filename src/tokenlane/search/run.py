"""A search: configurations enumerated, judged by a backend (by bounds, `search.bounds`, unless exhaustive), appended
to a JSONL results file as they come (a resumed search skips what the file holds), and summed up: the cheapest eligible
configuration, the best API beside it, the Pareto front of cost against per-user speed and first-token time, and why
the rest fell out."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from tokenlane.catalog import Catalog
from tokenlane.cost import cost_scenario
from tokenlane.errors import InputError
from tokenlane.plan.days import simulate_options
from tokenlane.plan.facts import residency_issue
from tokenlane.scenario import Option, Scenario
from tokenlane.search.backends import BACKENDS
from tokenlane.search.bounds import DOMINATED, axes, walk
from tokenlane.search.evaluate import ConfigResult, evaluate
from tokenlane.search.progress import SearchProgress
from tokenlane.search.recipe import Recipe, recipe
from tokenlane.search.space import Bounds, Config, enumerate_configs

FOUND = "search-best"
"""The option name the configuration a search found takes in a plan."""


class ApiPick(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    monthly_usd: float


class SearchReport(BaseModel):
    """What a search found."""

    model_config = ConfigDict(frozen=True)

    configurations: int
    simulated: int
    """Configurations that survived the paper checks and were simulated."""
    outcomes: dict[str, int]
    """How many configurations ended each way (pruned, fails_slo, ineligible, eligible)."""
    not_enumerated: int = 0
    """Combinations left out before judging: what does not run (`catalog.support`) and 2-bit quants nobody measured
    for the model; their reasons are counted in `reasons`."""
    reasons: dict[str, int]
    """Why configurations fell out or were not enumerated, counted (most common first)."""
    cheapest: ConfigResult | None
    """The cheapest configuration that meets the SLO and every constraint."""
    cheapest_meeting_slo: ConfigResult | None
    """The cheapest that meets the SLO, whatever its other issues (when it is not `cheapest`)."""
    pareto: list[ConfigResult]
    """Configurations meeting the SLO that no other beats on monthly cost, p95 tok/s, p95 TTFT and quality score at
    once, cheapest first."""
    best_api: ApiPick | None
    """The scenario's cheapest API option its residency rule allows, with its monthly cost."""
    recipe: Recipe | None
    """How to run `cheapest` (else `cheapest_meeting_slo`)."""
    backend: str
    workers: int
    seconds: float

    @property
    def pick(self) -> ConfigResult | None:
        """`cheapest`, else `cheapest_meeting_slo`: what the search proposes."""
        return self.cheapest or self.cheapest_meeting_slo

    def pick_option(self, name: str = FOUND) -> Option | None:
        """The proposed configuration as a scenario option running the fleet the search sized; None without one."""
        pick = self.pick
        if pick is None:
            return None
        return Config(**pick.config).option(name=name).model_copy(update={"count": pick.replicas or 1})  # type: ignore[arg-type]


def _reason(result: ConfigResult) -> str:
    """A result's reason as a countable category (numbers dropped from the simulated ones)."""
    if result.status == "fails_slo":
        return "cannot carry the load within max_units" if "max_units" in (result.reason or "") else "SLO out of reach at any fleet size"
    if result.status == "ineligible":
        return (result.reason or "").split(":")[0]
    if (result.reason or "").startswith("quality bar"):
        return f"below the quality bar: {result.config['model']}"
    return result.reason or ""


def _cheapest_first(r: ConfigResult) -> tuple[float, float, float, str]:
    """Cost, then the faster p95 stream, then the quicker p95 first token, then the key (a stable tie-break)."""
    return (r.monthly_usd or 0.0, -(r.tok_s_p95 or 0.0), r.ttft_p95_s or 0.0, r.key)


def pareto_front(results: list[ConfigResult]) -> list[ConfigResult]:
    """The configurations no other beats on cost (lower), p95 tok/s (higher), p95 TTFT (lower) and quality score
    (higher) at once."""

    def beats(a: ConfigResult, b: ConfigResult) -> bool:
        ka, kb = axes(a), axes(b)
        return all(x <= y for x, y in zip(ka, kb, strict=True)) and ka != kb

    front = [r for r in results if not any(beats(o, r) for o in results)]
    return sorted(front, key=_cheapest_first)


def load_results(path: Path) -> dict[str, ConfigResult]:
    """The results a file already holds, by key (a truncated last line, from an interrupted run, is ignored)."""
    found: dict[str, ConfigResult] = {}
    if not path.exists():
        return found
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            result = ConfigResult.model_validate_json(line)
        except ValueError as exc:
            if number == len(lines):
                continue
            raise InputError(f"line {number}: not a search result ({str(exc).splitlines()[0]})", path=str(path)) from exc
        found[result.key] = result
    return found


def _drop_cut_line(path: Path) -> None:
    """Remove a last line an interrupted run left without its newline, so appended results start on a line of
    their own."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


def best_api(scenario: Scenario, catalog: Catalog, *, seed: int) -> ApiPick | None:
    """The cheapest API option of the scenario that its residency rule allows, priced on the simulated day."""
    apis = [o for o in scenario.options if o.kind == "api" and residency_issue(o, scenario, catalog) is None]
    if not apis:
        return None
    only = scenario.model_copy(update={"options": apis})
    days = simulate_options(only, catalog, seed=seed, workers=1)
    costs = cost_scenario(only, catalog, days=days.priced, demand=days.demand).options
    pick = min((c for c in costs if c.monthly_usd is not None), key=lambda c: c.monthly_usd or 0.0, default=None)
    return ApiPick(name=pick.name, monthly_usd=pick.monthly_usd or 0.0) if pick else None


def run_search(
    scenario: Scenario,
    catalog: Catalog,
    bounds: Bounds,
    *,
    seed: int = 0,
    backend: str = "pool",
    workers: int = 1,
    address: str | None = None,
    results_path: Path | None = None,
    limit: int | None = None,
    exhaustive: bool = False,
    progress: SearchProgress | None = None,
) -> SearchReport:
    """Search (see the module docstring); `limit` keeps the first configurations in enumeration order; `exhaustive`
    simulates every configuration its paper checks pass instead of walking by bounds (`search.bounds`: the same front
    and pick); `progress` counts the results as they come (its `cancel` stops the search with `Cancelled`)."""
    start = time.perf_counter()
    skipped: Counter[str] = Counter()
    configs: list[Config] = list(enumerate_configs(catalog, bounds, skipped))[:limit]
    done = load_results(results_path) if results_path is not None else {}
    todo = [c for c in configs if c.key not in done or (exhaustive and (done[c.key].reason or "").startswith(DOMINATED))]
    results = dict(done)
    progress = progress or SearchProgress()
    progress.begin(len(todo))
    if results_path is not None:
        _drop_cut_line(results_path)
    sink = results_path.open("a", encoding="utf-8") if results_path is not None else None
    try:
        search = uuid.uuid4().hex
        with BACKENDS[backend](scenario, catalog, seed=seed, search=search, workers=workers, address=address) as judge:
            found = judge(evaluate, todo) if exhaustive else walk(judge, todo, list(done.values()))
            for result in found:
                results[result.key] = result
                if sink is not None:
                    sink.write(result.model_dump_json() + "\n")
                    sink.flush()
                progress.add(result)
    finally:
        if sink is not None:
            sink.close()
    ordered = [results[c.key] for c in configs if c.key in results]
    _check_possible(ordered, bounds)
    meeting = [r for r in ordered if r.status in ("eligible", "ineligible")]
    eligible = [r for r in meeting if r.status == "eligible"]
    cheapest = min(eligible, key=_cheapest_first, default=None)
    cheapest_any = min(meeting, key=_cheapest_first, default=None)
    chosen = cheapest or cheapest_any
    how = None
    if chosen is not None:
        how = recipe(Config(**chosen.config), scenario, catalog, replicas=chosen.replicas or 1)  # type: ignore[arg-type]
    reasons = Counter(_reason(r) for r in ordered if r.status != "eligible") + skipped
    return SearchReport(
        configurations=len(configs),
        simulated=sum(r.status != "pruned" for r in ordered),
        outcomes=dict(Counter(r.status for r in ordered)),
        not_enumerated=sum(skipped.values()),
        reasons=dict(reasons.most_common()),
        cheapest=cheapest,
        cheapest_meeting_slo=cheapest_any if cheapest_any is not cheapest else None,
        pareto=pareto_front(meeting),
        best_api=best_api(scenario, catalog, seed=seed),
        recipe=how,
        backend=backend,
        workers=workers,
        seconds=time.perf_counter() - start,
    )


def _check_possible(results: list[ConfigResult], bounds: Bounds) -> None:
    """A model that no searched hardware can hold is an impossible request: one line naming it."""
    for model in bounds.models:
        mine = [r for r in results if r.config["model"] == model]
        if mine and all(r.reason == "does not fit in memory" for r in mine):
            raise InputError(
                f"{model} fits no configuration searched (every one short of memory): add larger hardware or more GPUs", field="--models"
            )
