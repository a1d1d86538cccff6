"""Replicas across servers: whole servers; as a pipeline (the default) each server is a stage, as one tensor-parallel
group the ring's slowest link is each GPU's network share."""

from __future__ import annotations

import pytest

from tests.cli.helpers import assert_user_error, invoke
from tokenlane import build_deployment, builtin_catalog
from tokenlane.capacity import compute_step_time, decode_load, plan_memory, step_table, token_seconds
from tokenlane.cost.tco import hardware_units
from tokenlane.errors import InputError

CATALOG = builtin_catalog()
LLAMA_405B = {"hardware": "h100-sxm-8x", "model": "llama-3.1-405b", "quant": "bf16", "engine": "vllm"}


def test_sixteen_h100s_hold_a_405b_model_in_bf16_on_two_servers() -> None:
    dep = build_deployment(CATALOG, hardware="h100-sxm-8x", model="llama-3.1-405b", quant="bf16", engine="vllm", gpus=16)
    assert dep.servers == 2 and plan_memory(dep).fits and hardware_units(dep, 1) == 2
    assert not plan_memory(build_deployment(CATALOG, hardware="h100-sxm-8x", model="llama-3.1-405b", quant="bf16", engine="vllm")).fits


def test_the_all_reduce_crosses_the_network_by_hand() -> None:
    dep = build_deployment(
        CATALOG, hardware="h100-sxm-8x", model="llama-3.1-405b", quant="bf16", engine="vllm", gpus=16, cross_server="tensor"
    )
    model = dep.model
    tokens = 32
    step = compute_step_time(dep, decode_load(dep, tokens, 4096))
    per_byte = 2 * 15 / 16 / 50e9  # ring over 16 devices, limited by each GPU's 50 GB/s NIC
    # Two all-reduces per layer, each 8 us inside the server plus 54 us across servers (nccl-tests, 16 H100, 128 B).
    by_hand = 2 * model.num_layers * model.hidden_size * 2 * tokens * per_byte + 2 * model.num_layers * (8 + 54) * 1e-6
    assert step.allreduce_s == pytest.approx(by_hand)
    one_server = build_deployment(CATALOG, hardware="h100-sxm-8x", model="llama-3.1-405b", quant="fp8", engine="vllm", gpus=8)
    assert compute_step_time(one_server, decode_load(one_server, tokens, 4096)).allreduce_s < step.allreduce_s / 4


def test_partial_servers_and_unnetworked_hardware_are_refused() -> None:
    with pytest.raises(InputError, match="whole servers of 8"):
        build_deployment(CATALOG, hardware="h100-sxm-8x", model="llama-3.1-405b", quant="bf16", engine="vllm", gpus=12)
    args = ["capacity", "--hardware", "rtx-4090", "--gpus", "16", "--model", "llama-3.1-8b", "--quant", "bf16", "--engine", "vllm"]
    assert_user_error(invoke(*args), "gpus", "network_gbps")


def _pipeline_and_stage() -> tuple:
    pipe = build_deployment(CATALOG, hardware="h100-sxm-8x", model="llama-3.1-405b", quant="bf16", engine="vllm", gpus=16)
    # The whole model's step on one stage's eight devices (memory aside): what a microbatch takes through the pipeline.
    stage = build_deployment(CATALOG, hardware="h100-sxm-8x", model="llama-3.1-405b", quant="bf16", engine="vllm", gpus=8)
    return pipe, stage


def test_a_pipeline_token_is_the_whole_model_on_one_stage_for_a_microbatch_plus_its_hops_by_hand() -> None:
    pipe, stage = _pipeline_and_stage()
    assert pipe.pipeline_stages == 2 and pipe.tensor_parallel == 8
    hop = 16384 * 2 / 50e9  # one token's bf16 activations over a 50 GB/s NIC, seconds
    for batch in (1, 7, 64):
        micro = -(-batch // 2)
        by_hand = compute_step_time(stage, decode_load(stage, micro, 4096)).total_s + 2 * (micro * hop + 10e-6)
        assert token_seconds(pipe, batch, 4096) == pytest.approx(by_hand)
        assert compute_step_time(pipe, decode_load(pipe, 1, 4096)).allreduce_s == pytest.approx(
            compute_step_time(stage, decode_load(stage, 1, 4096)).allreduce_s
        )  # the all-reduce stays on NVLink inside each stage


def test_two_pipeline_stages_do_not_speed_one_stream_but_double_a_full_batch() -> None:
    pipe, stage = _pipeline_and_stage()
    assert token_seconds(pipe, 1, 4096) > token_seconds(stage, 1, 4096)  # stages take turns, plus the hops
    big = 128
    assert big / token_seconds(pipe, big, 4096) == pytest.approx(2 * (big / 2) / token_seconds(stage, big // 2, 4096), rel=0.05)
    tensor = build_deployment(
        CATALOG, hardware="h100-sxm-8x", model="llama-3.1-405b", quant="bf16", engine="vllm", gpus=16, cross_server="tensor"
    )
    assert step_table(tensor).decode_seconds(1, 4097.0, 0.0) == pytest.approx(token_seconds(tensor, 1, 4096))


def test_a_scenario_option_spans_nodes(tmp_path) -> None:
    from tokenlane.capacity import option_deployment
    from tokenlane.scenario import load_scenario

    scenario = tmp_path / "s.yaml"
    option = "{name: big, kind: cloud_gpu, hardware: h100-sxm-8x, model: qwen3.5-397b-a17b, quant: fp8, nodes: 2}"
    scenario.write_text(f"name: t\nworkload: {{users: 20}}\noptions:\n  - {option}\n")
    dep = option_deployment(CATALOG, load_scenario(scenario).options[0])
    assert dep.num_devices == 16 and dep.pipeline_stages == 2
    scenario.write_text(scenario.read_text().replace("nodes: 2}", "nodes: 2, gpus: 8}"))
    with pytest.raises(InputError, match="hold 16 devices, not gpus: 8") as err:
        option_deployment(CATALOG, load_scenario(scenario).options[0])
    assert err.value.field == "options[big].nodes"
