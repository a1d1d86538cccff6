"""A scenario's own catalog files and GGUF files: layered over the built-in catalog for every command."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import assert_user_error, invoke
from tests.unit.test_gguf_file import _files
from tokenlane.catalog.for_scenario import catalog_for_scenario
from tokenlane.scenario import load_scenario

OVERLAY = """hardware:
  - id: our-box
    name: our 4090 workstation at the price we paid
    vendor: nvidia
    arch: ada
    memory_gib: 24
    usable_memory_gib: 23
    memory_bandwidth_gbps: 1008
    memory_efficiency: 0.87
    bf16_tflops: 165
    interconnect_gbps: 25
    power_w: 600
    purchase_usd: 1900
    memory_kind: gddr
    source: our invoice
    as_of: 2026-11-01
"""


def _scenario(tmp_path: Path, option: str, extra: str = "") -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: t\nworkload: {{users: 3, active_hours: 1}}\noptions:\n  - {option}\n{extra}")
    return path


def test_the_scenarios_catalog_files_apply_to_plan_cost_and_simulate(tmp_path: Path) -> None:
    (tmp_path / "ours.yaml").write_text(OVERLAY)
    option = "{name: desk, kind: self_host, hardware: our-box, model: qwen3-8b, quant: int4-awq, engine: vllm}"
    with_catalog = _scenario(tmp_path, option, "catalog: [ours.yaml]\n")
    for command in ("plan", "cost", "simulate"):
        args = [command, str(with_catalog), "--json"] + (["--no-report"] if command == "plan" else [])
        assert invoke(*args).exit_code == 0, command
    _, catalog = catalog_for_scenario(load_scenario(with_catalog), [], tmp_path)
    assert catalog.hardware["our-box"].purchase_usd == 1900
    assert_user_error(invoke("cost", str(_scenario(tmp_path, option))), "our-box")  # without the file: an unknown id
    assert_user_error(invoke("cost", str(_scenario(tmp_path, option, "catalog: [missing.yaml]\n"))), "catalog[0]", "missing.yaml")


def test_an_option_runs_the_model_and_quant_of_a_gguf_file(tmp_path: Path) -> None:
    _, gguf_path = _files(tmp_path)
    option = f"{{name: local, kind: self_host, hardware: rtx-4090, engine: llama.cpp, gguf: {gguf_path.name}}}"
    spec, catalog = catalog_for_scenario(load_scenario(_scenario(tmp_path, option)), [], tmp_path)
    local = spec.options[0]
    assert local.model == "tiny" and local.quant.startswith("gguf-tiny") and local.quant in catalog.quants
    assert invoke("cost", str(_scenario(tmp_path, option)), "--json").exit_code == 0
    both = option.replace("gguf:", "quant: q4_k_m, gguf:")
    assert_user_error(invoke("cost", str(_scenario(tmp_path, both))), "leave out `quant`")
    gone = option.replace(gguf_path.name, "nowhere.gguf")
    assert_user_error(invoke("cost", str(_scenario(tmp_path, gone))), "gguf", "nowhere.gguf")
    (tmp_path / "text.gguf").write_text("not a model at all")
    bad = option.replace(gguf_path.name, "text.gguf")
    assert_user_error(invoke("cost", str(_scenario(tmp_path, bad))), "s.yaml", "line 4: options[local].gguf", "text.gguf")


def test_an_option_whose_hardware_has_no_price_is_refused_at_its_line(tmp_path: Path) -> None:
    rented = "{name: r, kind: cloud_gpu, hardware: mi355x, model: llama-3.1-8b}"
    assert_user_error(invoke("plan", str(_scenario(tmp_path, rented))), "line 4: options[r].usd_per_gpu_hour", "mi355x")
    bought = "{name: b, kind: self_host, hardware: mi300x, model: llama-3.1-8b}"
    assert_user_error(invoke("plan", str(_scenario(tmp_path, bought))), "line 4: options[b].hardware", "no purchase price")
