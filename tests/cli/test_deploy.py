"""`tokenlane deploy`: Compose files and Kubernetes manifests that validate against their specifications and carry
the recipe's flags, KEDA scaling for an autoscaled option, the bench that replays the planned day, and bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from compose_spec import PyCompose
from kubernetes.client import ApiClient

from tests.cli.helpers import assert_user_error, invoke
from tokenlane import builtin_catalog, load_scenario
from tokenlane.capacity import option_deployment
from tokenlane.plan.days import simulate_options
from tokenlane.search.recipe import option_recipe
from tokenlane.simulate import DayRuns
from tokenlane.simulate.runs import scaling_plan

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CATALOG = builtin_catalog()
SCENARIO = """
name: deploy me
workload: {{users: 40, prompt_tokens: {{mean: 1500, p90: 4000}}, output_tokens: {{mean: 300, p90: 700}}, difficulty: narrow}}
options:
  - {{name: Box One, kind: self_host, hardware: ryzen-ai-max-395-128gb, model: qwen3-30b-a3b, quant: q4_k_m, engine: llama.cpp,
     context_tokens: 32768}}
  - {{name: gpus, kind: cloud_gpu, hardware: h100-sxm, gpus: 2, model: llama-3.3-70b, quant: fp8, engine: vllm{extra}}}
  - {{name: api, kind: api, provider: anthropic, model: claude-sonnet-4-6}}
"""


def _scenario(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "deploy.yaml"
    path.write_text(SCENARIO.format(extra=extra))
    return path


def _deploy(path: Path, option: str, target: str, out: Path) -> None:
    result = invoke("deploy", str(path), "--option", option, "--target", target, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert "replica(s) as planned" in result.stdout


def _flags(args: list[str]) -> dict[str, str]:
    """{flag: value} of a command line (a flag without a value maps to '')."""
    out: dict[str, str] = {}
    for i, a in enumerate(args):
        if a.startswith("-"):
            nxt = args[i + 1] if i + 1 < len(args) else ""
            out[a] = "" if nxt.startswith("-") else nxt
    return out


def _recipe_flags(path: Path, option: str) -> dict[str, str]:
    spec = load_scenario(path)
    opt = spec.option(option)
    replicas = simulate_options(spec.model_copy(update={"options": [opt]}), CATALOG, workers=1).priced[option].replicas
    return {s.flag: s.value for s in option_recipe(opt, spec, CATALOG, replicas=replicas).settings}


def test_a_llama_cpp_box_as_a_compose_file_that_validates_and_carries_context_and_slots(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    _deploy(path, "Box One", "compose", tmp_path / "out")
    text = (tmp_path / "out" / "compose.yaml").read_text()
    PyCompose.from_yaml(text)  # the Compose specification, strictly: an unknown or mistyped field raises
    doc = yaml.safe_load(text)
    service = doc["services"]["box-one"]
    flags = _flags(service["command"])
    recipe = _recipe_flags(path, "Box One")
    assert flags["-c"] == recipe["-c"] == "32768"  # the option's own context, as planned
    assert flags["-np"] == recipe["-np"]
    assert service["ports"] == ["127.0.0.1:8000:8000"]
    assert service["devices"] == ["/dev/kfd:/dev/kfd", "/dev/dri:/dev/dri"] and "server-vulkan" in service["image"]


def test_vllm_as_compose_and_as_kubernetes_manifests_that_validate(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    recipe = _recipe_flags(path, "gpus")
    _deploy(path, "gpus", "compose", tmp_path / "compose")
    text = (tmp_path / "compose" / "compose.yaml").read_text()
    PyCompose.from_yaml(text)
    compose = yaml.safe_load(text)
    service = compose["services"]["gpus"]
    assert service["deploy"]["resources"]["reservations"]["devices"][0]["count"] == 2
    assert "HF_TOKEN" in service["environment"] and service["environment"]["HF_TOKEN"] == "${HF_TOKEN:-}"
    _deploy(path, "gpus", "k8s", tmp_path / "k8s")
    documents = list(yaml.safe_load_all((tmp_path / "k8s" / "kubernetes.yaml").read_text()))
    assert [d["kind"] for d in documents] == ["Deployment", "Service"]
    for document, model in zip(documents, ("V1Deployment", "V1Service"), strict=True):
        _valid_kubernetes(document, model)
    container = documents[0]["spec"]["template"]["spec"]["containers"][0]
    for args in (service["command"], container["args"]):
        flags = _flags(args)
        assert flags["--max-num-seqs"] == recipe["--max-num-seqs"]
        assert flags["--tensor-parallel-size"] == recipe["--tensor-parallel-size"] == "2"
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "2"}
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"


def _valid_kubernetes(document: dict[str, Any], model: str) -> None:
    """The Kubernetes API's own models accept the document, and nothing in it is a field they do not know (their
    round trip would drop it)."""
    api = ApiClient()
    parsed = api._ApiClient__deserialize(document, model)  # type: ignore[attr-defined]
    assert api.sanitize_for_serialization(parsed) == document


def test_an_autoscaled_option_gets_a_keda_scaled_object_with_its_policy(tmp_path: Path) -> None:
    path = _scenario(tmp_path, ", autoscale: {min_replicas: 0, max_replicas: 3}")
    _deploy(path, "gpus", "k8s", tmp_path / "out")
    documents = list(yaml.safe_load_all((tmp_path / "out" / "kubernetes.yaml").read_text()))
    scaled = next(d for d in documents if d["kind"] == "ScaledObject")
    spec = load_scenario(path)
    opt = spec.option("gpus")
    plan = scaling_plan(spec, CATALOG, opt, option_deployment(CATALOG, opt), 3)
    assert plan is not None
    assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (0, 3)
    assert scaled["spec"]["scaleTargetRef"]["name"] == "gpus"
    trigger = scaled["spec"]["triggers"][0]
    assert trigger["type"] == "prometheus" and "vllm:num_requests_running" in trigger["metadata"]["query"]
    assert float(trigger["metadata"]["threshold"]) == pytest.approx(plan.target, rel=1e-5)
    assert scaled["spec"]["cooldownPeriod"] == 300 and scaled["spec"]["pollingInterval"] == 30


def test_the_bench_replays_the_planned_day(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    _deploy(path, "gpus", "compose", tmp_path / "out")
    script = (tmp_path / "out" / "bench.sh").read_text()
    assert "--prompt-tokens 1500 --output-tokens 300" in script
    assert "--trace trace.jsonl --trace-format mooncake" in script and "--server-metrics" in script
    day = DayRuns(load_scenario(path), CATALOG).demand_day()
    assert len((tmp_path / "out" / "trace.jsonl").read_text().splitlines()) == day.requests


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--option", "nowhere"], ["no option named 'nowhere'"]),
        (["--option", "api"], ["--option", "api option: there is nothing to deploy"]),
        (["--option", "gpus", "--target", "nomad"], ["--target", "must be compose or k8s"]),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, args: list[str], needles: list[str]) -> None:
    assert_user_error(invoke("deploy", str(_scenario(tmp_path)), *args, "--out", str(tmp_path / "x")), *needles)


def test_every_example_option_that_runs_in_a_container_deploys(tmp_path: Path) -> None:
    """The built-in team assistant's rented 8xH100 as Kubernetes manifests that validate."""
    _deploy(EXAMPLES / "team-assistant.yaml", "rented-8xh100", "k8s", tmp_path)
    for document in yaml.safe_load_all((tmp_path / "kubernetes.yaml").read_text()):
        _valid_kubernetes(document, f"V1{document['kind']}")


@pytest.mark.parametrize(
    ("example", "option", "needles"),
    [
        ("desk-box.yaml", "mac-studio", ["options[mac-studio].hardware", "runs macOS"]),
        ("sixteen-h100-397b.yaml", "h100x16", ["options[h100x16].gpus", "spans 2 servers"]),
    ],
)
def test_an_option_no_container_can_run_is_refused_naming_file_line_and_field(
    tmp_path: Path, example: str, option: str, needles: list[str]
) -> None:
    result = invoke("deploy", str(EXAMPLES / example), "--option", option, "--out", str(tmp_path))
    assert_user_error(result, example, "line ", *needles)
