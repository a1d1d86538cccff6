"""Capacity model: memory, per-operator roofline step time, MoE expert coverage, concurrency curves. Pure."""

from tokenlane.capacity.curve import (
    CapacityReport,
    CurvePoint,
    MeasuredPoint,
    SloLoad,
    breakdown_ms,
    concurrency_curve,
    prefill_seconds,
    slo_load,
)
from tokenlane.capacity.deployment import Deployment, Disaggregation, build_deployment, layout_words, option_deployment
from tokenlane.capacity.memory import (
    KvCache,
    MemoryPlan,
    ParamCounts,
    WeightBytes,
    count_params,
    kv_bytes_for_context,
    kv_bytes_per_token,
    kv_cache,
    max_concurrent_sequences,
    plan_memory,
    weight_bytes,
)
from tokenlane.capacity.moe import expected_distinct_experts
from tokenlane.capacity.roofline import (
    EMPTY_LOAD,
    StepLoad,
    StepTable,
    StepTime,
    compute_step_time,
    decode_load,
    prefill_load,
    step_seconds,
)
from tokenlane.capacity.steps import step_table, token_seconds
from tokenlane.capacity.transfer import kv_transfer_bytes, kv_transfer_s

__all__ = [
    "EMPTY_LOAD",
    "CapacityReport",
    "CurvePoint",
    "Deployment",
    "Disaggregation",
    "KvCache",
    "MeasuredPoint",
    "MemoryPlan",
    "ParamCounts",
    "SloLoad",
    "StepLoad",
    "StepTable",
    "StepTime",
    "WeightBytes",
    "breakdown_ms",
    "build_deployment",
    "compute_step_time",
    "concurrency_curve",
    "count_params",
    "decode_load",
    "expected_distinct_experts",
    "kv_bytes_for_context",
    "kv_bytes_per_token",
    "kv_cache",
    "kv_transfer_bytes",
    "kv_transfer_s",
    "layout_words",
    "max_concurrent_sequences",
    "option_deployment",
    "plan_memory",
    "prefill_load",
    "prefill_seconds",
    "slo_load",
    "step_seconds",
    "step_table",
    "token_seconds",
    "weight_bytes",
]
