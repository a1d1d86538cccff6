"""Does a calibration on one model improve predictions of other models on the same box? (issue 12, item 3)

For each (hardware, engine) in the public reference set and benchmarks/data with llama-bench rows of several models, fit the engine's
parameters (`tokenlane.calibrate`) on one model's rows and print the error on every *other* model's rows before
(catalog values) and after (calibrated values). Nothing is fitted to the held-out rows. Rows map to catalog models
and weights files as in validate_capacity.py (a file's size gives its real bits per weight).

Run: python benchmarks/calibration_transfer.py
"""

from __future__ import annotations

import csv
import dataclasses
import statistics
import sys
from collections import defaultdict

from tokenlane.calibrate import Measurement, calibrate, predict
from validate_capacity import LOCAL, SHARED, Unmapped, _deployment, source_key


def _measurement(rec: dict[str, str]) -> Measurement | None:
    prompt, depth, out = int(rec["prompt_tokens"] or 0), int(rec["context_depth"] or 0), int(rec["output_tokens"] or 0)
    tok_s = float(rec["value"])
    if rec["test"] == "decode" and rec["metric"] == "tok_s":
        return Measurement("decode", 1.0 / tok_s, context=depth + out / 2, label=f"tg{out} @ d{depth}")
    if rec["test"] == "prefill" and rec["metric"] == "tok_s":
        return Measurement("prefill", prompt / tok_s, prompt=prompt, depth=depth, label=f"pp{prompt} @ d{depth}")
    return None


def boxes_of(sources: list) -> dict[tuple[str, str, str], dict[str, list]]:  # type: ignore[type-arg]
    """(hardware, engine, source) -> 'model quant' -> [(deployment, measurement)] for the llama-bench-style rows of
    `sources`. A box is one source's machine and build: a calibration is of the user's own box, and two people's
    builds of one engine on one chip differ (Vulkan against ROCm, a build a year apart)."""
    boxes: dict[tuple[str, str, str], dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for source in sources:
        with source.open(newline="") as fh:
            for rec in csv.DictReader(fh):
                m = _measurement(rec)
                if m is None:
                    continue
                try:
                    dep = _deployment(rec)
                except Unmapped:
                    continue
                boxes[(rec["hardware"], rec["engine"], source_key(rec["source"]))][f"{rec['model']} {rec['quant']}"].append((dep, m))
    return boxes


def transfer(boxes: dict[tuple[str, str, str], dict[str, list]]) -> list[tuple[str, str, list[float], list[float]]]:  # type: ignore[type-arg]
    """For every box with several models and every model on it: (box, the model fitted on, errors % on the box's other
    models' rows with the catalog's values, the same with the fitted values). Nothing is fitted to the rows judged."""
    out = []
    for (hardware, _engine, _source), models in sorted(boxes.items()):
        if len(models) < 2:
            continue
        for fit_on, rows in sorted(models.items()):
            result = calibrate(rows[0][0], [m for _, m in rows])
            params = {f.name: f.value for f in result.fitted}
            before, after = [], []
            for other, others in models.items():
                if other == fit_on:
                    continue
                for d, m in others:
                    before.append(abs(predict(d, m) / m.seconds - 1) * 100)
                    tuned = dataclasses.replace(d, engine=d.engine.model_copy(update=params))
                    after.append(abs(predict(tuned, m) / m.seconds - 1) * 100)
            out.append((hardware, fit_on, before, after))
    return out


def main() -> None:
    if not SHARED.exists():
        print(f"calibration_transfer: {SHARED} is missing (the public reference set)")
        sys.exit(2)
    all_before: list[float] = []
    all_after: list[float] = []
    print(f"{'box':34} {'fit on':34} {'held-out rows':>13} {'median APE before':>18} {'after':>8}")
    for hardware, fit_on, before, after in transfer(boxes_of([SHARED, *LOCAL])):
        all_before += before
        all_after += after
        print(f"{hardware[:34]:34} {fit_on[:34]:34} {len(before):13d} {statistics.median(before):17.1f}% {statistics.median(after):7.1f}%")
    print(
        f"{'ALL (every fit, every other model)':69} {len(all_before):13d} {statistics.median(all_before):17.1f}%"
        f" {statistics.median(all_after):7.1f}%"
    )


if __name__ == "__main__":
    main()
