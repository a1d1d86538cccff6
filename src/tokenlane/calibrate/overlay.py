"""The catalog overlay a calibration writes: a copy of the engine (and, from llama-bench files, the weights file's
real quant) under new ids, every value sourced to the measurement files. `--catalog overlay.yaml` applies it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from tokenlane.calibrate.fit import Calibration
from tokenlane.catalog.models import Quant
from tokenlane.errors import InputError


def overlay_yaml(calibration: Calibration, *, engine_id: str, hardware_id: str, files: list[str], quant: Quant | None) -> str:
    """The overlay as YAML text (engine `<engine>-on-<hardware>`; the quant when it comes from the file)."""
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
    header = f"# tokenlane calibrate: {hardware_id} x {calibration.engine.id}, from {', '.join(files)}\n"
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


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
