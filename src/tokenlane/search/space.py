"""The search space: every configuration the catalog can run for the scenario, and the paper checks that rule most
of them out before anything is simulated.

A configuration is (hardware, model, quant, engine, devices per replica, bought or rented, KV dtype); how many
replicas it needs is not enumerated but found by simulation for each survivor (`cost.size_fleet`, doubling then
bisection), which is what enumerating replicas would find, with far fewer days simulated.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tokenlane.capacity import option_deployment, plan_memory, prefill_seconds, token_seconds
from tokenlane.catalog import Catalog
from tokenlane.catalog.support import unsupported
from tokenlane.cost import hardware_cost
from tokenlane.errors import InputError
from tokenlane.plan import check_scenario, option_curve
from tokenlane.plan.facts import quality_issues, residency_issue, sensitive_issue
from tokenlane.plan.quality import low_bit_gate, measured_pairs
from tokenlane.scenario import Autoscale, Disaggregated, Option, Parallel, Pool, Scenario
from tokenlane.simulate.runs import DayRuns
from tokenlane.simulate.workload import busiest_hour_requests
from tokenlane.units import S_PER_HOUR

DEVICE_COUNTS = (1, 2, 4, 8)
"""Devices per replica tried (tensor parallel), up to what one server of the hardware holds."""
MODES = ("aggregated", "disaggregated")
"""Serving modes search may propose: prefill and decode together on each replica, or on separate pools (with expert
parallelism for MoE models) (docs/disaggregated.md)."""


@dataclass(frozen=True, order=True)
class Config:
    """One deployment the search may propose."""

    hardware: str
    model: str
    quant: str
    engine: str
    gpus: int
    kind: str
    """self_host (bought) or cloud_gpu (rented)."""
    kv_dtype: str = "bf16"
    scaled: bool = False
    """Rented and scaled to the day (an `autoscale` section with its defaults: reactive, scale to zero)."""
    prefill: int = 0
    """Disaggregated: prefill replicas of `gpus` devices (0: prefill and decode together)."""
    decode: int = 0
    """Disaggregated: decode replicas of `gpus` devices."""
    expert_parallel: int = 1
    """Devices each replica spreads the routed experts over (MoE models)."""

    @property
    def key(self) -> str:
        """A stable id: the same configuration has the same key in every run (results files, resume)."""
        kv = f" kv {self.kv_dtype}" if self.kv_dtype != "bf16" else ""
        mode = f" {self.prefill}P{self.decode}D" if self.prefill else ""
        ep = f" ep{self.expert_parallel}" if self.expert_parallel > 1 else ""
        scaled = " scaled" if self.scaled else ""
        return f"{self.model} {self.quant} {self.engine} {self.gpus}x {self.hardware} {self.kind}{scaled}{kv}{mode}{ep}"

    def option(self, name: str | None = None) -> Option:
        """The scenario option this configuration is (one replica; the fleet is sized later)."""
        parallel = Parallel(ep=self.expert_parallel) if self.expert_parallel > 1 else None
        layout = None
        if self.prefill:
            link = "nvlink" if (self.prefill + self.decode) * self.gpus <= DISAGGREGATED_DEVICES[0] else "infiniband"
            layout = Disaggregated(
                prefill=Pool(gpus=self.gpus, count=self.prefill, parallel=parallel),
                decode=Pool(gpus=self.gpus, count=self.decode, parallel=parallel),
                kv_link=link,
            )
        return Option(
            name=name or self.key,
            kind=self.kind,  # type: ignore[arg-type]
            hardware=self.hardware,
            model=self.model,
            quant=self.quant,
            engine=self.engine,
            kv_dtype=self.kv_dtype,
            autoscale=Autoscale() if self.scaled else None,
            **({"disaggregated": layout} if layout else {"gpus": self.gpus, "parallel": parallel}),
        )


@dataclass(frozen=True)
class Bounds:
    """What the search may use: models, hardware, devices per replica."""

    models: tuple[str, ...]
    hardware: tuple[str, ...] | None = None
    """None: every catalog hardware."""
    max_gpus: int = 8
    kinds: tuple[str, ...] = ("self_host", "cloud_gpu")
    """Of `KINDS`."""
    quants: tuple[str, ...] | None = None
    """None: every quant an engine runs (each one's quality loss counts against the scenario's bar)."""
    engines: tuple[str, ...] | None = None
    """None: every catalog engine."""
    measured: tuple[tuple[str, str], ...] = ()
    """(model, quant) pairs the scenario gives a measured score for (`workload.quality.measured`): the only 2-bit
    quants search may propose."""
    modes: tuple[str, ...] = ("aggregated",)
    """Of `MODES`."""


KINDS = ("self_host", "cloud_gpu", "cloud_gpu_scaled")
"""What search may propose: bought, rented all day, rented and scaled to the day (docs/autoscale.md)."""


def enumerate_configs(catalog: Catalog, bounds: Bounds, skipped: Counter[str] | None = None) -> Iterator[Config]:
    """Every configuration that runs, in a fixed order: the engine runs on the hardware's device generation and runs
    the quant there (`catalog.support`), the quant is not a 2-bit one nobody measured for the model (`quality_gate`
    with `bounds.measured`), the hardware is sold (self_host) or rented (cloud_gpu), and a server of it holds that
    many devices. What is left out for not running or for its quant is counted in `skipped` by reason."""
    for name in bounds.models:
        if name not in catalog.models:
            raise InputError(f"'{name}' is not a catalog model (see `tokenlane catalog list models`)", field="--models")
    hardware = bounds.hardware if bounds.hardware is not None else tuple(sorted(catalog.hardware))
    for section, names, option in (
        ("hardware", hardware, "--hardware"),
        ("quants", bounds.quants, "--quants"),
        ("engines", bounds.engines, "--engines"),
    ):
        for name in names or ():
            if name not in getattr(catalog, section):
                raise InputError(f"'{name}' is not in the catalog's {section} (see `tokenlane catalog list {section}`)", field=option)
    tally = skipped if skipped is not None else Counter()
    for model in bounds.models:
        for hw_id in hardware:
            hw = catalog.hardware[hw_id]
            for engine in sorted(catalog.engines.values(), key=lambda e: e.id):
                if bounds.engines is not None and engine.id not in bounds.engines:
                    continue
                for quant in sorted(catalog.quants.values(), key=lambda q: q.id):
                    if bounds.quants is not None and quant.id not in bounds.quants:
                        continue
                    if problem := unsupported(hw, engine, quant):
                        tally[f"not supported: {problem.category}"] += 1
                        continue
                    if gate := low_bit_gate(model, quant, bounds.measured):
                        tally[gate] += 1
                        continue
                    moe = catalog.models[model].moe is not None
                    for gpus in DEVICE_COUNTS:
                        if gpus > min(hw.max_devices, bounds.max_gpus):
                            continue
                        for kind in bounds.kinds:
                            price = hw.purchase_usd if kind == "self_host" else hw.rental_usd_per_gpu_hour()
                            if price is None:
                                continue
                            scaled = kind == "cloud_gpu_scaled"
                            base = Config(hw_id, model, quant.id, engine.id, gpus, "cloud_gpu" if scaled else kind, scaled=scaled)
                            if "aggregated" in bounds.modes:
                                yield base
                            if "disaggregated" in bounds.modes and not scaled and engine.batching == "continuous":
                                yield from _datacenter_variants(base, hw.max_devices, moe=moe)


DISAGGREGATED_DEVICES = (8, 16)
"""Devices of a disaggregated layout search proposes: one 8-device server (KV over NVLink) or two (over the network)."""


def _datacenter_variants(base: Config, per_server: int, *, moe: bool) -> Iterator[Config]:
    """Layouts of deployments of 8 devices or more from one replica shape: expert parallelism over a MoE model's
    replica of 8 or more devices, and every xPyD split of 8 or 16 devices into replicas of `base.gpus` (on servers of 8)."""
    ep = base.gpus if moe and base.gpus >= 8 else 1
    if ep > 1:
        yield dataclasses.replace(base, expert_parallel=ep)
    if per_server != DISAGGREGATED_DEVICES[0]:
        return
    for devices in DISAGGREGATED_DEVICES:
        replicas = devices // base.gpus
        for prefill in range(1, replicas):
            yield dataclasses.replace(base, prefill=prefill, decode=replicas - prefill, expert_parallel=ep)


@dataclass(frozen=True)
class PaperCheck:
    """A configuration on paper: why it cannot serve the scenario (None: worth simulating), the fewest replicas that
    could carry the busiest hour's output at the replica's best throughput (where the fleet search starts), and what
    its simulated day can at best reach on each Pareto axis (`search.bounds`)."""

    reason: str | None
    min_replicas: int = 1
    min_usd: float = 0.0
    """Monthly cost is at least this: the hardware, power at a flat utilisation only, and people of `min_replicas`
    (the fleet search starts there); 0 for a fleet scaled to the day (held part of the month)."""
    max_tok_s: float = math.inf
    """The p95 per-stream speed is at most this: one stream alone at the `BOUND_QUANTILE` prompt of the day (a
    stream never decodes faster than alone at its own prompt's context, and that many requests are longer)."""
    min_ttft_s: float = 0.0
    """The p95 TTFT is at least this: the `BOUND_QUANTILE` uncached prompt prefilled alone."""


def paper_check(config: Config, scenario: Scenario, catalog: Catalog, *, seed: int = 0) -> PaperCheck:
    """Checked in order of cost: residency, the quality bars (published score x the quant's recovery), memory fit, one
    stream's decode speed and one prompt's first token against the SLO, the busiest hour's output against the most
    replicas allowed, and the budget at that many replicas."""
    option = config.option()
    if issue := residency_issue(option, scenario, catalog):
        return PaperCheck(f"residency: {issue.split('; ')[0]}")
    if sensitive_issue(option, scenario, catalog):
        return PaperCheck("residency: the work marked sensitive may not run there (constraints.sensitive_residency)")
    if issues := quality_issues(option, scenario, catalog, covered=0.0):
        return PaperCheck(issues[0])
    try:
        dep = option_deployment(catalog, option)
    except InputError as exc:
        return PaperCheck(f"not buildable: {exc.message}")
    memory = plan_memory(dep)
    if not memory.fits:
        return PaperCheck("does not fit in memory")
    workload = scenario.workload
    slo = workload.slo
    curve = option_curve(catalog, option, workload, (1,), intervals=False)
    assert curve is not None
    one = curve.points[0]
    full = option_curve(catalog, option, workload, (max(1, curve.max_concurrent_sequences),), intervals=False)
    assert full is not None
    best_tok_s = full.points[0].aggregate_tok_s
    interactive = workload.expected_interactive_requests_per_day > 0
    if interactive and one.stream_tok_s < slo.min_tok_s_per_user:
        return PaperCheck(f"one stream decodes under the SLO's {slo.min_tok_s_per_user:g} tok/s")
    if interactive and one.ttft_ms / 1000.0 > slo.max_ttft_s:
        return PaperCheck(f"one mean prompt's first token takes over the SLO's {slo.max_ttft_s:g} s")
    peak_tok_s = busiest_hour_requests(workload) * workload.output_tokens.expected / S_PER_HOUR
    best_tok_s *= config.decode or 1  # a disaggregated unit decodes on its decode replicas (the curve is one's)
    replicas = max(1, math.ceil(peak_tok_s / best_tok_s)) if best_tok_s > 0 else option.max_units + 1
    if replicas > option.max_units:
        return PaperCheck(f"the busiest hour needs over {option.max_units} replicas")
    budget = scenario.constraints.max_budget_usd_per_month
    min_usd = 0.0 if config.scaled else hardware_cost(dep, option, scenario.finance, replicas=replicas).total_usd
    if budget is not None and min_usd > budget:
        return PaperCheck("over the budget at the fewest replicas that carry the busiest hour")
    lengths = day_lengths(scenario, catalog, seed)
    if lengths is None:  # closed-loop users: no bound on speed or TTFT
        return PaperCheck(None, replicas, min_usd)
    if lengths == NO_INTERACTIVE:  # no interactive request: a day's speed and TTFT are none (0 on the Pareto axes)
        return PaperCheck(None, replicas, min_usd, 0.0, 0.0)
    prompt, uncached = lengths
    return PaperCheck(None, replicas, min_usd, 1.0 / token_seconds(dep, 1, prompt), prefill_seconds(dep, uncached))


BOUND_QUANTILE = 0.9
"""The prompt length (and uncached length) the speed and TTFT bounds are taken at: a tenth of the day's interactive
requests are at least this long. A day that meets the SLO serves all but 5% at most, so at least 5% of what it serves
is, and its p95 speed (the slowest 5%) and p95 TTFT (the slowest 5%) are bounded by theirs; the quantile is taken two
requests lower, for the interpolation of a percentile between two requests."""
NO_INTERACTIVE = (0, 0)
_LENGTHS: list[tuple[Scenario, int, tuple[int, int] | None]] = []
"""`day_lengths` memo: one scenario per search and process."""


def day_lengths(scenario: Scenario, catalog: Catalog, seed: int = 0) -> tuple[int, int] | None:
    """(prompt tokens, uncached prompt tokens) at `BOUND_QUANTILE` of the day's interactive requests, as the workload
    makes them (its requests are drawn before any engine sees them: every configuration's day holds the same ones, an
    engine without a prefix cache leaving more uncached, for the same `seed`); `NO_INTERACTIVE` without interactive
    requests; None for closed-loop users, whose later requests are drawn as the day unfolds."""
    for known, known_seed, lengths in _LENGTHS:
        if known is scenario and known_seed == seed:
            return lengths
    found: tuple[int, int] | None = None
    if scenario.workload.arrival_pattern != "closed_loop":
        log = DayRuns(scenario, catalog, seed=seed).demand_day().log
        assert log is not None
        inter = log.interactive
        found = NO_INTERACTIVE
        if inter.any():
            prompt = log.prompt_tokens[inter]
            at = max(0.0, BOUND_QUANTILE - 2.0 / len(prompt))
            found = (
                int(np.quantile(prompt, at, method="lower")),
                int(np.quantile(prompt - log.cached_tokens[inter], at, method="lower")),
            )
    _LENGTHS[:] = [(scenario, seed, found)]
    return found


def _names(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(n.strip() for n in text.split(",") if n.strip())


def bounds_for(
    scenario: Scenario,
    catalog_models: Iterable[str],
    *,
    models: str | None,
    hardware: str | None,
    max_gpus: int,
    kinds: str,
    quants: str | None = None,
    engines: str | None = None,
    modes: str = "aggregated",
) -> Bounds:
    """The search bounds the options give (models default: the scenario's self-hosted ones; `all`: every catalog
    model)."""
    chosen = _names(models) or tuple(dict.fromkeys(o.model for o in scenario.options if o.kind != "api" and o.model))
    if chosen == ("all",):
        chosen = tuple(sorted(catalog_models))
    if not chosen:
        raise InputError("the scenario has no self-hosted option: name the models to search", field="--models")
    kind_list = _names(kinds) or ()
    bad = [k for k in kind_list if k not in KINDS]
    if bad or not kind_list:
        raise InputError(f"must be among {', '.join(KINDS)}, got {', '.join(bad) or 'nothing'}", field="--kinds")
    mode_list = _names(modes) or ()
    wrong = [m for m in mode_list if m not in MODES]
    if wrong or not mode_list:
        raise InputError(f"must be among {', '.join(MODES)}, got {', '.join(wrong) or 'nothing'}", field="--modes")
    return Bounds(
        models=chosen,
        hardware=_names(hardware),
        max_gpus=max_gpus,
        kinds=kind_list,
        quants=_names(quants),
        engines=_names(engines),
        measured=measured_pairs(scenario),
        modes=mode_list,
    )


def check_search(scenario: Scenario, catalog: Catalog, bounds: Bounds, *, base_dir: Path | None = None) -> None:
    """The scenario checked as `tokenlane plan` checks it, each searched model standing in for an option beside the
    API options (a quality bar must name a benchmark one of them has a score on); ScenarioError lists every problem."""
    searched = [Option(name=m, kind="self_host", hardware="h100-sxm", model=m) for m in bounds.models if m in catalog.models]
    check_scenario(scenario, catalog, base_dir=base_dir, candidates=[*searched, *(o for o in scenario.options if o.kind == "api")])
