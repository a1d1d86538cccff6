"""From plan to running deployment (`tokenlane deploy`): the files that run an option as it was planned — a Docker
Compose file or Kubernetes manifests carrying the recipe's flags (`search.recipe.option_recipe`), and the bench that
checks the running server against the plan, replaying the planned day itself.

The fleet size is the one the plan sizes (`plan.days.simulate_options`); an autoscaled option gets a KEDA
ScaledObject with its policy. Nothing here starts anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from tokenlane.capacity import option_deployment, plan_memory
from tokenlane.catalog import Catalog
from tokenlane.deploy.compose import compose_file
from tokenlane.deploy.images import PORT, Container, container
from tokenlane.deploy.kubernetes import PROMETHEUS_URL, manifests, scaled_object
from tokenlane.errors import InputError
from tokenlane.plan.days import simulate_options
from tokenlane.scenario import Scenario
from tokenlane.search.recipe import option_recipe
from tokenlane.simulate import DayRuns
from tokenlane.simulate.routers import BALANCERS
from tokenlane.simulate.runs import cold_start_s, scaling_plan
from tokenlane.traces import write_mooncake

Target = Literal["compose", "k8s"]
TRACE_BLOCK_TOKENS = 512


@dataclass(frozen=True)
class DeployFiles:
    """What `deploy` writes, by file name, and what the user should know."""

    files: dict[str, str]
    replicas: int
    notes: list[str]


def deploy_files(scenario: Scenario, catalog: Catalog, option_name: str, target: Target, *, image: str | None = None) -> DeployFiles:
    """The files that run `option_name` as planned on `target` (see the module docstring); InputError naming the option
    when it cannot be deployed (an API, a model that does not fit, an engine or hardware without a container)."""
    option = scenario.option(option_name)
    if option.kind == "api":
        why = f"'{option.name}' is an api option: there is nothing to deploy (pick a self_host or cloud_gpu option)"
        raise InputError(why, field="--option")
    if option.model is None:
        why = "a deployment needs the option's catalog `model` (not only a `gguf` header)"
        raise InputError(why, field=f"options[{option.name}].model")
    if option.disaggregated is not None:
        why = (
            "tokenlane deploy writes one kind of replica; a disaggregated layout needs prefill and decode workers behind a prefill/decode "
            "router: run it with NVIDIA Dynamo or llm-d, using the recipe's flags for each pool (docs/disaggregated.md)"
        )
        raise InputError(why, field=f"options[{option.name}].disaggregated")
    dep = option_deployment(catalog, option)
    if not plan_memory(dep).fits:
        why = f"{dep.model.id} in {dep.quant.id} does not fit {dep.num_devices}x {dep.hardware.id}"
        raise InputError(why, field=f"options[{option.name}]")
    spill = option.autoscale.spillover if option.autoscale else None
    alone = scenario.model_copy(update={"options": [o for o in scenario.options if o.name in (option.name, spill)]})
    sized = simulate_options(alone, catalog, workers=1).priced[option.name]
    replicas = sized.replicas
    recipe = option_recipe(option, scenario, catalog, replicas=replicas)
    box = container(option, dep, recipe, image=image)
    name = _k8s_name(option.name)
    notes = [f"weights: {recipe.weights}" + (" (put the file in ./models)" if option.engine == "llama.cpp" else "")]
    plan = scaling_plan(scenario, catalog, option, dep, replicas) if option.autoscale else None
    cold = plan.cold_start_s if plan is not None else cold_start_s(dep)
    files: dict[str, str] = {}
    if target == "compose":
        files["compose.yaml"] = _yaml([compose_file(name, box, cold_start_s=cold)])
        if replicas > 1 or plan is not None:
            notes.append(
                f"the plan holds {'up to ' if plan else ''}{replicas} replicas: Compose runs one per machine; put them behind "
                f"{BALANCERS[option.router]}, or use --target k8s"
            )
    else:
        documents = manifests(name, box, replicas=plan.min_replicas if plan else replicas, cold_start_s=cold)
        if plan is not None:
            if option.engine == "ollama":
                raise InputError("Ollama exposes no Prometheus metrics an autoscaler can read", field=f"options[{option.name}].autoscale")
            documents.append(scaled_object(name, option.engine, recipe.weights, plan))
            notes.append(f"autoscaled by KEDA on Prometheus at {PROMETHEUS_URL}: edit the address to your Prometheus")
            if plan.policy == "scheduled":
                notes.append("the plan's policy is scheduled: the ScaledObject follows the load; add KEDA cron triggers for the schedule")
        files["kubernetes.yaml"] = _yaml(documents)
    files["trace.jsonl"] = _day_trace(scenario, catalog)
    files["bench.sh"] = _bench_script(recipe.bench, box, option.name, scenario)
    return DeployFiles(files=files, replicas=replicas, notes=notes)


def write_deploy(found: DeployFiles, out: Path) -> list[Path]:
    """Write the files into `out` (created); returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for file, text in found.files.items():
        path = out / file
        path.write_text(text)
        if file.endswith(".sh"):
            path.chmod(0o755)
        paths.append(path)
    return paths


def _k8s_name(name: str) -> str:
    """A DNS-1123 label from an option name: lowercase letters, digits and '-', at most 63."""
    cleaned = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return (cleaned or "tokenlane")[:63].rstrip("-")


class _Plain(yaml.SafeDumper):
    """YAML without anchors and aliases (`&id001`): each manifest reads on its own."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _yaml(documents: list[dict[str, Any]]) -> str:
    return "---\n".join(yaml.dump(d, Dumper=_Plain, sort_keys=False) for d in documents)


def _day_trace(scenario: Scenario, catalog: Catalog) -> str:
    """The planned day's interactive requests as a Mooncake trace (arrivals, lengths, shared-prefix blocks), written to
    a temporary string through `traces.write_mooncake`."""
    import tempfile

    log = DayRuns(scenario, catalog).demand_day().log
    assert log is not None
    inter = log.interactive
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trace.jsonl"
        columns = (log.arrival_s[inter], log.prompt_tokens[inter], log.cached_tokens[inter], log.output_tokens[inter])
        write_mooncake(path, *columns, block_tokens=TRACE_BLOCK_TOKENS)
        return path.read_text()


def _bench_script(levels_command: str, box: Container, option: str, scenario: Scenario) -> str:
    """Two benches of the running server: the recipe's concurrency levels, and the planned day replayed."""
    hours = max(1, math.ceil(scenario.workload.active_hours))
    url = f"http://127.0.0.1:{PORT}/v1"
    model = levels_command.split("--model ", 1)[1].split()[0]
    return (
        "#!/usr/bin/env sh\n"
        f"# Check {option} as deployed against the plan ({box.image}). Run once the server answers {box.health}.\n"
        "set -eu\n"
        "# 1. The planned curve: one stream, a quarter of the slots, all of them.\n"
        f"{levels_command.replace(f'http://127.0.0.1:{PORT}/v1', url)} --server-metrics\n"
        f"# 2. The planned day itself: its arrivals, prompt and output lengths and shared prefixes ({hours} h at speedup 1;\n"
        "#    raise --speedup to replay it faster, beyond what the plan carries).\n"
        f"tokenlane bench {url} --model {model} --trace trace.jsonl --trace-format mooncake --block-tokens {TRACE_BLOCK_TOKENS} "
        f"--speedup 1 --out bench-{option}-day --server-metrics\n"
    )


__all__ = ["DeployFiles", "deploy_files", "write_deploy"]
