"""Probes: what an order does to activations, dead units, gradients and BN statistics.

Each probe returns plain frozen records; nothing here prints.
"""

from layerorder.probe.accumulate import StageStats
from layerorder.probe.grads import GradFlow, flagged, grad_flow
from layerorder.probe.record import Recording, hook_count, record, stage_modules
from layerorder.probe.training import PROBE_BATCH, EpochProbe, Snapshot, probe_batch, probe_once
from layerorder.probe.variance import (
    Recalibration,
    VarianceShift,
    recalibrate_bn,
    variance_shift,
)

__all__ = [
    "PROBE_BATCH",
    "EpochProbe",
    "GradFlow",
    "Recording",
    "Snapshot",
    "StageStats",
    "VarianceShift",
    "flagged",
    "grad_flow",
    "hook_count",
    "probe_batch",
    "probe_once",
    "Recalibration",
    "recalibrate_bn",
    "record",
    "stage_modules",
    "variance_shift",
]

from layerorder.callable_package import make_callable  # noqa: E402

make_callable(__name__)
