"""What a fine-tuning program costs: training compute, labelling, evaluation and the ML team, spread over the
retraining cycle.

Training FLOPs = k x active parameters x training tokens x epochs, k = 6 for full fine-tuning (forward 2, backward 4)
and 4 for LoRA and QLoRA (frozen weights need no weight gradients, a third of the backward pass skipped).
# Source: Kaplan et al., "Scaling Laws for Neural Language Models" (arXiv:2001.08361) sec. 2.1 (C = 6NT, backward
# twice the forward); Hu et al., "LoRA" (arXiv:2106.09685) sec. 4.2 (no gradients for frozen weights).
GPU-hours = FLOPs / (bf16 FLOP/s per device x training MFU) / 3600. Memory to train: full fine-tuning with Adam in
mixed precision holds 16 bytes per parameter (weights 2, gradients 2, fp32 master weights 4, Adam moments 8); LoRA
keeps bf16 weights (2 bytes) and QLoRA 4-bit weights (0.5 bytes), each plus ~10% for adapters and their optimizer.
# Source: Rajbhandari et al., "ZeRO" (arXiv:1910.02054) sec. 3.1 (16 bytes per parameter); Dettmers et al.,
# "QLoRA" (arXiv:2305.14314) sec. 2.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenlane.capacity import Deployment, count_params
from tokenlane.errors import InputError
from tokenlane.scenario import Finance, Option
from tokenlane.units import GB, HOURS_PER_MONTH, S_PER_HOUR, TFLOPS, W_PER_KW

FLOPS_PER_PARAM_TOKEN = {"full": 6.0, "lora": 4.0, "qlora": 4.0}
TRAINING_BYTES_PER_PARAM = {"full": 16.0, "lora": 2.0 * 1.1, "qlora": 0.5 * 1.1}


@dataclass(frozen=True)
class FineTuneCost:
    """One fine-tuning program, USD unless named otherwise."""

    training_flops: float
    gpu_hours: float
    """GPU-hours of one training run."""
    compute_usd_per_run: float
    labelling_usd: float
    eval_usd: float
    people_usd_per_month: float
    monthly_usd: float
    """(compute + labelling + evaluation) / retraining months + the ML team per month."""


def training_flops(dep: Deployment, option: Option) -> float:
    """FLOPs of one training run of `option.finetune` on `dep`'s model."""
    ft = option.finetune
    assert ft is not None
    return FLOPS_PER_PARAM_TOKEN[ft.method] * count_params(dep.model).active * ft.train_tokens * ft.epochs


def check_trainable(dep: Deployment, option: Option) -> None:
    """Raise when the hardware of one replica cannot hold the model for this kind of training."""
    ft = option.finetune
    assert ft is not None
    need = TRAINING_BYTES_PER_PARAM[ft.method] * count_params(dep.model).total
    have = dep.num_devices * dep.hardware.usable_bytes
    if need > have:
        raise InputError(
            f"{ft.method} fine-tuning of {dep.model.id} needs ~{need / GB:,.0f} GB ({TRAINING_BYTES_PER_PARAM[ft.method]:g} bytes per "
            f"parameter) but {dep.num_devices}x {dep.hardware.id} holds {have / GB:,.0f} GB; use lora or qlora, or more gpus",
            field="finetune.method",
        )


def finetune_cost(dep: Deployment, option: Option, finance: Finance, *, usd_per_gpu_hour: float) -> FineTuneCost:
    """The monthly cost of `option.finetune`; `usd_per_gpu_hour` prices the training GPU-hours (a rental rate, or
    what an owned device costs per hour)."""
    ft = option.finetune
    assert ft is not None
    flops = training_flops(dep, option)
    gpu_hours = flops / (dep.hardware.bf16_tflops * TFLOPS * finance.training_mfu) / S_PER_HOUR
    compute = gpu_hours * usd_per_gpu_hour
    labelling = ft.labelled_examples * ft.usd_per_label
    evals = ft.eval_runs * ft.usd_per_eval_run
    people = finance.ml_team_fte * finance.engineer_usd_per_year / 12.0
    return FineTuneCost(
        training_flops=flops,
        gpu_hours=gpu_hours,
        compute_usd_per_run=compute,
        labelling_usd=labelling,
        eval_usd=evals,
        people_usd_per_month=people,
        monthly_usd=(compute + labelling + evals) / ft.retrain_every_months + people,
    )


def finetune_usd_per_month(dep: Deployment, option: Option, finance: Finance, *, usd_per_gpu_hour: float) -> float:
    """The option's fine-tuning program per month, USD; 0 for an option without one."""
    return finetune_cost(dep, option, finance, usd_per_gpu_hour=usd_per_gpu_hour).monthly_usd if option.finetune else 0.0


def owned_usd_per_gpu_hour(dep: Deployment, finance: Finance) -> float:
    """What one owned device costs per hour of use: its amortisation per hour plus its power at full draw (the
    catalog's price and power are per device)."""
    purchase = float(dep.hardware.purchase_usd or 0.0)
    amortisation = purchase * (1.0 - finance.residual_fraction) / (finance.amortization_years * 12.0 * HOURS_PER_MONTH)
    power = dep.hardware.power_w * finance.pue / W_PER_KW * finance.electricity_usd_per_kwh
    return amortisation + power
