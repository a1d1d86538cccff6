"""Checks of a loaded scenario against the catalog and the file system, before anything is simulated: every option's
ids and their compatibility, API providers and models, `measured:` files, token counts within the model's context.
Every problem is reported together, each with the file, line, option and field."""

from __future__ import annotations

import json
from pathlib import Path

from tokenlane.capacity import option_deployment, plan_memory
from tokenlane.catalog import Catalog
from tokenlane.cost.api_bill import check_api_option
from tokenlane.cost.finetune import check_trainable
from tokenlane.cost.tco import device_price
from tokenlane.errors import InputError, ScenarioError
from tokenlane.plan.quality import option_quality
from tokenlane.scenario import Option, Scenario, read_text_file

_ID_FIELDS = {
    "hardware",
    "model",
    "quant",
    "kv_dtype",
    "engine",
    "gpus",
    "nodes",
    "cross_server",
    "speculative",
    "routing_skew",
    "max_running_seqs",
    "context_tokens",
    "parallel",
    "disaggregated",
}


def check_scenario(scenario: Scenario, catalog: Catalog, *, base_dir: Path | None = None, candidates: list[Option] | None = None) -> None:
    """Raise one ScenarioError listing every problem found (nothing when the scenario is sound). A quality bar must be
    on a benchmark one of `candidates` has a score on (default: the scenario's options; a search passes its models)."""
    problems: list[str] = []

    def add(loc: tuple[object, ...], message: str) -> None:
        _, where = scenario.locate(*loc)
        problems.append(f"{where}: {message}")

    workload = scenario.workload
    for i, option in enumerate(scenario.options):
        if option.kind == "api":
            try:
                check_api_option(option, scenario.finance.prices_at)
            except InputError as exc:
                add(("options", i, (exc.field or "model").rsplit(".", 1)[-1]), exc.message)
        else:
            try:
                dep = option_deployment(catalog, option)
            except InputError as exc:
                path = (exc.field or "hardware").split("].", 1)[-1].split(".")  # `options[x].speculative.draft_model`
                add(("options", i, *path) if path[0] in _ID_FIELDS else ("options", i, "hardware"), exc.message)
            else:
                for name, (pool, _) in zip(("prefill", "decode"), dep.pools if dep.disaggregation else (), strict=False):
                    memory = plan_memory(pool)
                    if not memory.fits:
                        add(
                            ("options", i, "disaggregated", name, "gpus"),
                            f"{pool.model.id} in {pool.quant.id} does not fit a {name} replica of {pool.num_devices}x "
                            f"{pool.hardware.id}: short by {memory.shortfall_gb:.1f} GB",
                        )
                try:
                    device_price(dep, option)
                except InputError as exc:
                    add(("options", i, (exc.field or "hardware").rsplit(".", 1)[-1]), exc.message)
                if option.finetune is not None:
                    try:
                        check_trainable(dep, option)
                    except InputError as exc:
                        add(("options", i, "finetune", "method"), exc.message)
                context = dep.model.max_context_tokens
                if option.context_tokens is not None and option.context_tokens > context:
                    add(("options", i, "context_tokens"), f"{option.context_tokens:,} tokens exceed {dep.model.id}'s context, {context:,}")
                if workload.prompt_tokens.expected > context:
                    add(
                        ("workload", "prompt_tokens"),
                        f"a mean of {workload.prompt_tokens.expected:,.0f} tokens exceeds {dep.model.id}'s context "
                        f"of {context:,} ({option.name})",
                    )
                for j, job in enumerate(workload.batch_jobs):
                    if job.prompt_tokens + job.output_tokens > context:
                        add(
                            ("workload", "batch_jobs", j),
                            f"{job.prompt_tokens + job.output_tokens:,} tokens per request exceed "
                            f"{dep.model.id}'s context of {context:,} ({option.name})",
                        )
        if option.measured:
            path = (base_dir or Path.cwd()) / option.measured
            try:
                json.loads(read_text_file(path, what="bench summary", error=InputError))
            except InputError as exc:
                add(("options", i, "measured"), f"{path}: {exc.message}")
            except json.JSONDecodeError as exc:
                add(("options", i, "measured"), f"{path}: not JSON (line {exc.lineno}: {exc.msg})")
    grids = [(("options", i, "grid"), o.grid) for i, o in enumerate(scenario.options)] + [(("finance", "grid"), scenario.finance.grid)]
    for loc, code in grids:
        if code is None:
            continue
        try:
            catalog.grid(code)
        except InputError as exc:
            add(loc, f"{exc.message} (grids: country codes such as fr, pl, de, us; eu; world; or a cloud region)")
    problems.extend(_quality_problems(scenario, catalog, scenario.options if candidates is None else candidates))
    if problems:
        path, _ = scenario.locate()
        raise ScenarioError(problems[0], path=path, more=problems[1:])


def _quality_problems(scenario: Scenario, catalog: Catalog, candidates: list[Option]) -> list[str]:
    """The quality bars' problems: a benchmark the catalog does not define, one no option has a score on, a measured
    score for a model or quant the catalog does not know."""
    workload = scenario.workload
    bars = [(("workload", "quality", "benchmark"), workload.quality)] + [
        (("workload", "tasks", i, "quality", "benchmark"), t.quality) for i, t in enumerate(workload.tasks)
    ]
    problems: list[str] = []
    for loc, bar in bars:
        if bar is None:
            continue
        _, where = scenario.locate(*loc)
        if bar.benchmark not in catalog.benchmarks:
            problems.append(f"{where}: unknown benchmark '{bar.benchmark}'; the catalog has {', '.join(catalog.benchmarks)}")
            continue
        figures = [option_quality(o, scenario, catalog, bar.benchmark) for o in candidates if _buildable(o, catalog)]
        if figures and all(f.effective is None for f in figures):
            who = "option" if candidates is scenario.options else "model searched"
            problems.append(
                f"{where}: no {who} has a {catalog.benchmarks[bar.benchmark].name} score (published, measured or a fine-tune "
                "target); choose a benchmark they have scores on (`tokenlane catalog show model ID`) or give workload.quality.measured"
            )
    for j, measured in enumerate(workload.quality.measured if workload.quality else []):
        for field, kind in (("model", "models"), ("quant", "quants")):
            if getattr(measured, field) not in catalog.section(kind):  # type: ignore[arg-type]
                _, where = scenario.locate("workload", "quality", "measured", j, field)
                problems.append(f"{where}: unknown {field} id '{getattr(measured, field)}'")
    return problems


def _buildable(option: Option, catalog: Catalog) -> bool:
    """Whether the option's ids name catalog entries (the rest is reported above)."""
    if option.kind == "api":
        return True
    return option.model in catalog.models and option.quant in catalog.quants
