"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

from hypothesis import strategies as st

from tokenlane import Deployment, build_deployment, builtin_catalog, plan_memory

_COMBOS = [
    ("h100-sxm", "llama-3.1-8b", "bf16", "vllm", 1),
    ("h100-sxm", "llama-3.1-70b", "fp8", "vllm", 2),
    ("h200", "qwen3-30b-a3b", "bf16", "sglang", 1),
    ("ryzen-ai-max-395-128gb", "gpt-oss-120b", "mxfp4-gguf", "llama.cpp", 1),
    ("dgx-spark", "qwen3-30b-a3b", "q8_0", "llama.cpp", 1),
    ("m3-ultra-512gb", "deepseek-v3", "mlx-4bit", "mlx", 1),
    ("h200", "deepseek-v3", "fp8", "sglang", 8),
    ("rtx-4090", "qwen3-8b", "int4-awq", "vllm", 1),
    ("b200", "gemma-3-27b", "bf16", "tensorrt-llm", 1),
    ("a100-80gb", "glm-4.5-air", "int4-awq", "vllm", 2),
]


def _deployment(combo: tuple[str, str, str, str, int]) -> Deployment:
    hw, model, quant, engine, gpus = combo
    return build_deployment(builtin_catalog(), hardware=hw, model=model, quant=quant, engine=engine, gpus=gpus)


deployments = st.sampled_from(_COMBOS).map(_deployment)
fitting_deployments = deployments.filter(lambda d: plan_memory(d).fits)
batch_sizes = st.integers(min_value=1, max_value=512)
contexts = st.integers(min_value=0, max_value=131072)
