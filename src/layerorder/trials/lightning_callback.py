"""A Lightning callback that reports a trial's metrics: after each training epoch, what the
module logged (``trainer.callback_metrics``: ``self.log("val_acc", ...)`` in a step or an
epoch-end hook) as ``trial.report(epoch, metrics)``, epochs counted from 1. Needs Lightning
(the optional extra ``layerorder[lightning]``).

    trial = layerorder.trial(order="conv-bn-relu", seed=0)
    trainer = lightning.Trainer(max_epochs=10, callbacks=[trial.lightning_callback()])

An epoch's metrics are complete only after every ``on_train_epoch_end`` hook has run, the
module's own included, which Lightning calls after the callbacks' (it makes that exception only
for its checkpoint and early-stopping callbacks). So an epoch is reported when the next one starts,
and the last when training ends (early stopping included); the validation sanity check is not an
epoch. Under several processes (DDP) only the first reports.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from layerorder.errors import LayerorderError
from layerorder.trials.protocol import is_number

try:
    from lightning.pytorch.callbacks import Callback
except ImportError:  # the standalone package name
    try:
        from pytorch_lightning.callbacks import Callback
    except ImportError:
        raise LayerorderError("trial.lightning_callback() needs Lightning: pip install lightning"
                              " (or 'layerorder[lightning]')") from None


class ReportCallback(Callback):
    """Reports every logged metric, or only ``names``, to ``trial`` once per training epoch
    (without ``names``, only those that are single numbers)."""

    def __init__(self, trial: Any, names: Collection[str] | None = None) -> None:
        self.trial = trial
        self.names = None if names is None else frozenset(names)
        self._ended: int | None = None  # the epoch (from 1) whose metrics are still to report

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._ended = trainer.current_epoch + 1

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._report(trainer)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self._report(trainer)

    def _report(self, trainer: Any) -> None:
        epoch, self._ended = self._ended, None
        if epoch is None or not trainer.is_global_zero:
            return
        logged = trainer.callback_metrics
        chosen = ({k: v for k, v in logged.items() if k in self.names} if self.names is not None
                  else {k: v for k, v in logged.items() if is_number(v)})
        if chosen:
            self.trial.report(epoch, chosen)
