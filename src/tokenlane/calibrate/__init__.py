"""`tokenlane calibrate`: fit a (hardware, engine)'s physical parameters to the benchmarks people already run."""

from tokenlane.calibrate.fit import Calibration, Fitted, calibrate, predict
from tokenlane.calibrate.formats import FORMATS, Measurement, read_measurements
from tokenlane.calibrate.overlay import overlay_yaml, write_overlay

__all__ = ["FORMATS", "Calibration", "Fitted", "Measurement", "calibrate", "overlay_yaml", "predict", "read_measurements", "write_overlay"]
