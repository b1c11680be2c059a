"""The probe inside a Lightning ``Trainer``: ``ProbeCallback`` (needs ``lightning``, the optional
extra ``layerorder[lightning]``).

    from layerorder.probe.lightning import ProbeCallback
    callback = ProbeCallback(x_train, y_train)          # a fixed probe batch of 64 is drawn
    trainer = lightning.Trainer(max_epochs=5, callbacks=[callback])
    trainer.fit(module, loader)
    callback.frame()                                    # one row per epoch, probe, module

It calls ``EpochProbe`` at the start of fit (epoch 0) and after every training epoch, on the
LightningModule itself: one train-mode forward and backward pass on the probe batch with every
stage hooked, then the variance shift in eval mode. RNG state, BatchNorm buffers, gradients and
the mode are restored, so a probed fit trains exactly like an unprobed one. The loss is
cross-entropy on the module's output (a classifier). Under several processes (DDP) only the
first probes. With ``log=True`` the fraction of positive
outputs per stage, its dead units and each weight layer's gradient-to-weight ratio go to the
Trainer's logger as ``probe/...`` metrics.
"""

from __future__ import annotations

from typing import Any

import torch

from layerorder.errors import LayerorderError
from layerorder.probe.training import EpochProbe, probe_row

try:
    from lightning.pytorch.callbacks import Callback
except ImportError:  # the standalone package name
    try:
        from pytorch_lightning.callbacks import Callback
    except ImportError:
        raise LayerorderError(
            "layerorder.probe.lightning needs Lightning: pip install lightning"
            " (or 'layerorder[lightning]')"
        ) from None


class ProbeCallback(Callback):
    """Probe a LightningModule at the start of fit and after every training epoch."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, *, log: bool = True, **probe_kwargs: Any):
        super().__init__()
        self.probe = EpochProbe(x, y, **probe_kwargs)
        self.log = log

    @property
    def records(self) -> list[tuple[int, str, str, dict]]:
        """(epoch, kind, module, data) per probe record: kinds stage, grad, varshift."""
        return self.probe.records

    @property
    def snapshots(self):
        """Epoch -> ``Snapshot`` (typed stage, gradient and variance-shift records)."""
        return self.probe.snapshots

    def _run(self, epoch: int, module: torch.nn.Module) -> None:
        device = next(module.parameters()).device
        self.probe.x, self.probe.y = self.probe.x.to(device), self.probe.y.to(device)
        self.probe(epoch, module)

    def on_fit_start(self, trainer, pl_module) -> None:
        if trainer.is_global_zero:
            self._run(0, pl_module)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if not trainer.is_global_zero:  # one probe per fit, on the first process
            return
        epoch = trainer.current_epoch + 1
        self._run(epoch, pl_module)
        if not self.log:
            return
        snap = self.probe.snapshots[epoch]
        metrics = {}
        for stage in snap.stages:
            metrics[f"probe/{stage.name}/frac_positive"] = stage.frac_positive
            if stage.units:
                metrics[f"probe/{stage.name}/dead_frac"] = stage.dead_units / stage.units
        for grad in snap.grads:
            metrics[f"probe/{grad.name}/grad_ratio"] = grad.ratio
        pl_module.log_dict({k: float(v) for k, v in metrics.items()}, on_epoch=True)

    def frame(self):
        """The records as a pandas DataFrame: ``probe_epoch``, ``probe`` (stage, grad, varshift),
        ``name`` (module path) and the record's fields (its ``kind`` is the module class), the
        columns ``layerorder export --what probes`` writes."""
        import pandas as pd

        return pd.DataFrame([probe_row(record) for record in self.probe.records])
