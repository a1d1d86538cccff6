"""Tensor parallelism across servers: whole servers, the ring's slowest link is each GPU's network share."""

from __future__ import annotations

import pytest

from tests.cli.helpers import assert_user_error, invoke
from tokenlane import build_deployment, builtin_catalog
from tokenlane.capacity import compute_step_time, decode_load, plan_memory
from tokenlane.cost.tco import hardware_units
from tokenlane.errors import InputError

CATALOG = builtin_catalog()


def test_sixteen_h100s_hold_a_405b_model_in_bf16_on_two_servers() -> None:
    dep = build_deployment(CATALOG, hardware="h100-sxm-8x", model="llama-3.1-405b", quant="bf16", engine="vllm", gpus=16)
    assert dep.servers == 2 and plan_memory(dep).fits and hardware_units(dep, 1) == 2
    assert not plan_memory(build_deployment(CATALOG, hardware="h100-sxm-8x", model="llama-3.1-405b", quant="bf16", engine="vllm")).fits


def test_the_all_reduce_crosses_the_network_by_hand() -> None:
    dep = build_deployment(CATALOG, hardware="h100-sxm-8x", model="llama-3.1-405b", quant="bf16", engine="vllm", gpus=16)
    model = dep.model
    tokens = 32
    step = compute_step_time(dep, decode_load(dep, tokens, 4096))
    per_byte = 2 * 15 / 16 / 50e9  # ring over 16 devices, limited by each GPU's 50 GB/s NIC
    by_hand = 2 * model.num_layers * model.hidden_size * 2 * tokens * per_byte + 2 * model.num_layers * (8 + 10) * 1e-6
    assert step.allreduce_s == pytest.approx(by_hand)
    one_server = build_deployment(CATALOG, hardware="h100-sxm-8x", model="llama-3.1-405b", quant="fp8", engine="vllm", gpus=8)
    assert compute_step_time(one_server, decode_load(one_server, tokens, 4096)).allreduce_s < step.allreduce_s / 4


def test_partial_servers_and_unnetworked_hardware_are_refused() -> None:
    with pytest.raises(InputError, match="whole servers of 8"):
        build_deployment(CATALOG, hardware="h100-sxm-8x", model="llama-3.1-405b", quant="bf16", engine="vllm", gpus=12)
    args = ["capacity", "--hardware", "rtx-4090", "--gpus", "16", "--model", "llama-3.1-8b", "--quant", "bf16", "--engine", "vllm"]
    assert_user_error(invoke(*args), "gpus", "network_gbps")
