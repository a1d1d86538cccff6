"""Speculative decoding under load: the gain is the acceptance arithmetic at one stream, and it shrinks and then
reverses as the verify step turns compute-bound."""

from __future__ import annotations

import itertools

import pytest

from tests.cli.helpers import assert_user_error, invoke
from tokenlane import build_deployment, builtin_catalog
from tokenlane.capacity import decode_load, step_seconds
from tokenlane.capacity.speculative import Speculation, speculative_stream_tok_s

CATALOG = builtin_catalog()
TARGET = build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.3-70b", quant="fp8", engine="vllm", gpus=2)
DRAFT = build_deployment(CATALOG, hardware="h100-sxm", model="llama-3.1-8b", quant="fp8", engine="vllm", gpus=2)


def _gain(spec: Speculation, batch: int) -> float:
    return speculative_stream_tok_s(TARGET, spec, batch, 2048) * step_seconds(TARGET, decode_load(TARGET, batch, 2048))


def test_expected_tokens_per_cycle_by_hand() -> None:
    assert Speculation(3, 0.8).expected_tokens == pytest.approx((1 - 0.8**4) / 0.2)
    assert Speculation(5, 0.0).expected_tokens == 1.0


@pytest.mark.parametrize("spec", [Speculation(3, 0.8), Speculation(4, 0.7, DRAFT)], ids=["mtp-head", "draft-model"])
def test_the_gain_shrinks_as_the_batch_grows(spec: Speculation) -> None:
    gains = [_gain(spec, b) for b in (1, 8, 32, 128, 256)]
    assert gains[0] > 1.3 and gains[0] < spec.expected_tokens  # one stream: memory-bound verify, drafting not free
    assert all(a >= b for a, b in itertools.pairwise(gains))


def test_a_draft_model_slows_a_large_batch_down_and_nothing_accepted_never_pays() -> None:
    assert _gain(Speculation(4, 0.7, DRAFT), 256) < 1.0
    assert all(_gain(Speculation(2, 0.0), b) < 1.0 for b in (1, 64))


def test_capacity_prints_the_speculative_speed_and_refuses_a_draft_without_speculation() -> None:
    args = ["capacity", "--hardware", "h100-sxm", "--gpus", "2", "--model", "llama-3.3-70b", "--quant", "fp8", "--engine", "vllm"]
    result = invoke(*args, "--batch", "1,64", "--speculate", "3", "--acceptance", "0.8", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()["speculative"]
    assert doc["expected_tokens_per_cycle"] == pytest.approx(2.952) and len(doc["stream_tok_s"]) == 2
    assert_user_error(invoke(*args, "--draft-model", "llama-3.1-8b"), "--draft-model", "--speculate")
