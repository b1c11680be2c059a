"""Probes: what an order does to activations, dead units, gradients and BN statistics.

Each probe returns plain frozen records (``layerorder.probe.records``); nothing here prints.
"""

from layerorder.callable_package import make_callable
from layerorder.lazy import lazy_names

# public name -> the module that defines it, imported on first use (the records need no torch)
_LAZY = {
    **dict.fromkeys(("Fit", "GradFlow", "Recalibration", "StageStats", "VarianceShift"), "records"),
    **dict.fromkeys(("flagged", "grad_flow"), "grads"),
    **dict.fromkeys(("Recording", "hook_count", "record", "stage_modules"), "recording"),
    **dict.fromkeys(
        ("FIT_SAMPLE", "PROBE_BATCH", "EpochProbe", "Snapshot", "probe_batch", "probe_once"),
        "training",
    ),
    **dict.fromkeys(("recalibrate_bn", "variance_shift"), "variance"),
}
__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_names(__name__, _LAZY)

make_callable(__name__)
