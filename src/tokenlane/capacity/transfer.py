"""Moving a prompt's KV cache from a prefill replica to a decode replica (disaggregated serving)."""

from __future__ import annotations

from tokenlane.capacity.deployment import Deployment
from tokenlane.capacity.memory import kv_bytes_for_context, state_bytes_per_sequence
from tokenlane.units import GB, us_to_s


def kv_copies(dep: Deployment) -> int:
    """Copies of each KV head a prefill replica holds, each sent by its own device: an attention group of more devices
    than KV heads replicates each head over the surplus (vLLM and SGLang do), and an MLA latent, which every device of
    the group keeps whole.
    # Source: Mooncake's SGLang P/D table (github.com/kvcache-ai/Mooncake docs/source/performance/sglang/
    # sglang-benchmark-results-v1.md): Qwen3-235B-A22B (4 KV heads) at TP8 moves 12.62 GB for 32k tokens, twice its
    # 6.3 GB of KV."""
    group = dep.tensor_parallel // dep.dp_attention
    if dep.model.mla is not None:
        return group
    return max(1, group // dep.model.num_kv_heads)


def kv_transfer_bytes(dep: Deployment, prompt_tokens: float) -> float:
    """Bytes a prompt of `prompt_tokens` leaves in a prefill replica for the decode pool: its KV cache (and a hybrid
    model's linear-attention state), times the copies the replica keeps (`kv_copies`)."""
    model = dep.model
    per_copy = kv_bytes_for_context(model, dep.kv_dtype.bytes_per_element, prompt_tokens) + state_bytes_per_sequence(
        model, dep.kv_dtype.bytes_per_element
    )
    return per_copy * kv_copies(dep)


def kv_transfer_s(dep: Deployment, prompt_tokens: float) -> float:
    """Seconds to move a prompt's cache over the layout's link: latency + bytes / (link GB/s x the GPUs that send at
    once, the fewer of a prefill and a decode replica's: each GPU sends its shard over its own link); 0 when `dep`
    is not disaggregated.
    # Source: the link figures and their fits are in catalog/data/links.yaml (Mooncake Transfer Engine measurements)."""
    pools = dep.disaggregation
    if pools is None:
        return 0.0
    lanes = min(pools.prefill.num_devices, dep.num_devices)
    return us_to_s(pools.link.latency_us) + kv_transfer_bytes(pools.prefill, prompt_tokens) / (pools.link.gb_per_s * GB * lanes)
