"""Continuous batching (vLLM, SGLang, TensorRT-LLM): FCFS admission up to `max_num_seqs` while the KV cache has room.
# Source: Yu et al., "Orca" (OSDI 2022) iteration-level scheduling; Kwon et al., "PagedAttention" (SOSP 2023) 4.5.
"""

from __future__ import annotations

from tokenlane.simulate.schedulers.base import SchedulerPolicy


class ContinuousBatching(SchedulerPolicy):
    """The default policy: every running sequence advances each step; new ones join at step boundaries."""
