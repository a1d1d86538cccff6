"""What one unit of a deployment serves within a TTFT and TPOT target, per device: how serving modes (aggregated,
disaggregated, expert parallel) compare, as aiconfigurator and NVIDIA Dynamo's planner compare them (output tokens
per second per GPU at the SLO), here by simulated days rather than a table of kernel timings."""

from __future__ import annotations

from dataclasses import dataclass

from tokenlane.capacity import Deployment, layout_words
from tokenlane.scenario import Slo, TokenDistribution, Workload
from tokenlane.simulate.runs import rate_at_slo
from tokenlane.units import MS_PER_S

AT_SLO_PRECISION = 1.03
"""The rate found is within this factor of the most the unit carries within the targets."""
AT_SLO_PERCENTILE = 95.0
"""Share of requests that must meet both targets, %."""


@dataclass(frozen=True)
class AtSlo:
    """One unit at the most steady load it carries within the targets."""

    layout: str
    devices: int
    rate_rps: float
    """Requests per second the unit carries (0: not even a light load meets the targets)."""
    output_tok_s_per_gpu: float
    input_tok_s_per_gpu: float
    ttft_p95_s: float | None
    tpot_p95_ms: float | None


def steady_workload(prompt_tokens: int, output_tokens: int, *, ttft_s: float, tpot_ms: float) -> Workload:
    """Requests of fixed lengths arriving at a steady (Poisson) rate, held to `ttft_s` and `tpot_ms` for
    `AT_SLO_PERCENTILE`% of them (TPOT as the stream speed 1000 / tpot_ms tok/s)."""
    return Workload(
        users=1000,
        prompt_tokens=TokenDistribution(mean=prompt_tokens, p90=prompt_tokens),
        output_tokens=TokenDistribution(mean=output_tokens, p90=output_tokens),
        cache_hit_rate=0.0,
        arrival="poisson",
        slo=Slo(min_tok_s_per_user=MS_PER_S / tpot_ms, max_ttft_s=ttft_s, percentile=AT_SLO_PERCENTILE),
    )


def at_slo(dep: Deployment, workload: Workload) -> AtSlo:
    """`dep`'s unit (a replica, or a disaggregated layout's pools) at the most load it carries within `workload`'s SLO:
    requests per second (`simulate.rate_at_slo`) and the tokens they carry per device."""
    rate, day = rate_at_slo(dep, workload, precision=AT_SLO_PRECISION)
    devices = dep.unit_devices
    return AtSlo(
        layout=layout_words(dep, short=True) or f"{dep.num_devices}x {dep.hardware.id}",
        devices=devices,
        rate_rps=rate,
        output_tok_s_per_gpu=rate * workload.output_tokens.expected / devices,
        input_tok_s_per_gpu=rate * workload.prompt_tokens.expected / devices,
        ttft_p95_s=day.ttft_s.p95 if day is not None else None,
        tpot_p95_ms=day.tpot_ms.p95 if day is not None else None,
    )
