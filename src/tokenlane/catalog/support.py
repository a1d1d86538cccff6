"""What runs where: whether an engine runs on a device and loads a weight format there, as sourced catalog data
(`Engine.runs_on`, `Engine.formats`, `Engine.format_limits`, `Quant.runs_on`), and the nearest choice that does.

The one home of the check: a deployment refuses what does not run, a scenario is refused with the nearest valid
choice, and search never enumerates it (it counts it among its reasons).
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenlane.catalog.load import Catalog
from tokenlane.catalog.models import Engine, EnginePlatform, Hardware, Quant


@dataclass(frozen=True)
class Unsupported:
    """Why a (hardware, engine, quant) does not run: which of the three is at fault and the reason in words."""

    field: str
    """engine (it does not run on the device) or quant (the format does not run there, or the engine does not load
    it)."""
    reason: str
    category: str
    """The reason as a countable category (search's reasons): 'sglang on amd rdna3.5', 'nvfp4 on nvidia ada'."""


def platform_of(engine: Engine, hardware: Hardware) -> EnginePlatform | None:
    """The entry of `engine.runs_on` that covers `hardware`, official before community; None when none does."""
    found = [p for p in engine.runs_on if p.covers(hardware)]
    found.sort(key=lambda p: p.community)
    return found[0] if found else None


def unsupported(hardware: Hardware, engine: Engine, quant: Quant) -> Unsupported | None:
    """Why `engine` cannot serve `quant` weights on `hardware`, or None when it can."""
    if platform_of(engine, hardware) is None:
        where = "; ".join(_platform_words(p) for p in engine.runs_on)
        return Unsupported(
            "engine",
            f"{engine.id} does not run on {hardware.id} ({hardware.vendor} {hardware.arch}); it runs on {where}",
            f"{engine.id} on {_device(hardware)}",
        )
    if quant.format not in engine.formats:
        return Unsupported(
            "quant",
            f"{quant.id} is a {quant.format} format, which {engine.id} does not load (it loads {', '.join(engine.formats)})",
            f"{engine.id} with a weight format it does not load",
        )
    if quant.runs_on is not None and hardware.arch not in quant.runs_on:
        return Unsupported(
            "quant",
            f"{quant.id} runs only on {', '.join(quant.runs_on)} devices, and {hardware.id} is {hardware.vendor} {hardware.arch}",
            f"{quant.id} on {_device(hardware)}",
        )
    for limit in engine.format_limits:
        if limit.format == quant.format and hardware.arch not in limit.archs:
            return Unsupported(
                "quant",
                f"{engine.id} runs {quant.format} weights only on {', '.join(limit.archs)} devices, not {hardware.arch}",
                f"{engine.id} with {quant.format} weights on {_device(hardware)}",
            )
    return None


def _device(hardware: Hardware) -> str:
    """'nvidia ada', 'amd rdna3.5', 'apple-m4': the vendor and generation, once."""
    return hardware.arch if hardware.arch.startswith(hardware.vendor) else f"{hardware.vendor} {hardware.arch}"


def _platform_words(p: EnginePlatform) -> str:
    archs = ", ".join(p.archs) if p.archs else "all"
    return f"{p.vendor} ({archs}{', community build' if p.community else ''})"


def nearest_choice(catalog: Catalog, hardware: Hardware, engine: Engine, quant: Quant, field: str) -> str | None:
    """The nearest choice that runs, changing only `field`: for the quant, one the engine runs on this hardware with
    the same name stem (`mxfp4` -> `mxfp4-gguf`), else the closest in bits per weight; for the engine, one that runs
    this quant on this hardware, official builds first. None when nothing does."""
    if field == "engine":
        engines = [e for e in catalog.engines.values() if unsupported(hardware, e, quant) is None]
        engines.sort(key=lambda e: (platform_of(e, hardware).community, e.id))  # type: ignore[union-attr]
        return engines[0].id if engines else None
    quants = [q for q in catalog.quants.values() if q.id != quant.id and unsupported(hardware, engine, q) is None]
    if not quants:
        return None
    stem = quant.id.split("-")[0]
    same = [q for q in quants if q.id.startswith(quant.id) or q.id.split("-")[0] == stem]
    pool = same or quants
    return min(pool, key=lambda q: (abs(_mean_bits(q) - _mean_bits(quant)), q.id)).id


def _mean_bits(quant: Quant) -> float:
    """Bits of the weights most of a model's bytes are in: the experts' where they differ, else the linear layers'."""
    return quant.expert_bits_per_weight or quant.bits_per_weight


def choice_words(catalog: Catalog, hardware: Hardware, engine: Engine, quant: Quant, problem: Unsupported) -> str:
    """The problem in words with the nearest valid choice: '...; try quant: mxfp4-gguf'."""
    near = nearest_choice(catalog, hardware, engine, quant, problem.field)
    if near is None:
        return problem.reason
    platform = platform_of(catalog.engines[near], hardware) if problem.field == "engine" else None
    community = " (a community build)" if platform and platform.community else ""
    return f"{problem.reason}; nearest that runs: {problem.field}: {near}{community}"
