"""The catalog overlay a calibration writes: a copy of the engine (and, from llama-bench files, the weights file's
real quant) under new ids, every value sourced to the measurement files. `--catalog overlay.yaml` applies it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from tokenlane.calibrate.fit import Calibration
from tokenlane.capacity.deployment import Deployment
from tokenlane.capacity.uncertainty import error_row, hardware_class
from tokenlane.catalog.models import ErrorFamily, Quant
from tokenlane.errors import InputError


def overlay_yaml(calibration: Calibration, *, engine_id: str, dep: Deployment, files: list[str], quant: Quant | None) -> str:
    """The overlay as YAML text (engine `<engine>-on-<hardware>`; the quant when it comes from the file; the
    calibrated errors of the points as this box's own `prediction_errors`, which narrow its intervals)."""
    hardware_id = dep.hardware.id
    dates = sorted({m.as_of for m, _, _ in calibration.points if m.as_of})
    as_of = dates[-1] if dates and _is_date(dates[-1]) else dt.date.today().isoformat()
    fitted = ", ".join(f"{f.name} {f.value:.4g}" + (f" ± {f.std_error:.2g}" if f.std_error is not None else "") for f in calibration.fitted)
    kept = "; ".join(f"{k} kept at the catalog value ({why})" for k, why in calibration.kept.items())
    engine = calibration.engine.model_copy(
        update={
            "id": engine_id,
            "name": f"{calibration.engine.name}, calibrated on {hardware_id}",
            "source": f"tokenlane calibrate on {', '.join(files)}",
            "as_of": dt.date.fromisoformat(as_of),
            "notes": f"fitted: {fitted or 'nothing'}" + (f"; {kept}" if kept else ""),
        }
    )
    doc: dict[str, object] = {"engines": [engine.model_dump(mode="json", exclude_defaults=False)]}
    if quant is not None:
        doc["quants"] = [quant.model_dump(mode="json")]
    doc["prediction_errors"] = [
        family.model_dump(mode="json") for family in own_errors(calibration, dep, engine_id=engine_id, source=engine.source, as_of=as_of)
    ]
    header = f"# tokenlane calibrate: {hardware_id} x {calibration.engine.id}, from {', '.join(files)}\n"
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def own_errors(calibration: Calibration, dep: Deployment, *, engine_id: str, source: str, as_of: str) -> list[ErrorFamily]:
    """The calibrated model's error on each measured point, as the box's own error families (one per metric): what
    `capacity.uncertainty` uses first for this hardware and the calibrated engine."""
    families = []
    for metric in ("decode", "prefill"):
        points = [(m, after) for m, _, after in calibration.points if m.kind == metric]
        if not points:
            continue
        rows = [
            error_row(  # predicted seconds / measured seconds = measured speed / predicted speed
                dep,
                after / m.seconds,
                source=f"your measurements ({m.file})",
                batch=max(1, m.batch),
                context=round(m.context if metric == "decode" else m.prompt + m.depth),
            )
            for m, after in points
        ]
        families.append(
            ErrorFamily(
                id=f"{engine_id}-{metric}-own",
                name=f"{engine_id} on {dep.hardware.id}, {metric}, your own rows after calibration",
                engine=engine_id,
                hardware_class=hardware_class(dep),
                hardware=dep.hardware.id,
                metric=metric,  # type: ignore[arg-type]
                regime="single" if all(r.batch == 1 for r in rows) else "batched",
                rows=tuple(rows),
                source=source,
                as_of=dt.date.fromisoformat(as_of),
            )
        )
    return families


def write_overlay(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write ({exc.strerror})", path=str(path)) from exc


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True
