"""A Lightning callback that reports a trial's metrics: after each training epoch, what the
module logged (``trainer.callback_metrics``: ``self.log("val_acc", ...)`` in a step or an
epoch-end hook) as ``trial.report(epoch, metrics)``, epochs counted from 1. Needs Lightning
(the optional extra ``layerorder[lightning]``).

    trial = layerorder.trial(order="conv-bn-relu", seed=0)
    trainer = lightning.Trainer(max_epochs=10, callbacks=[trial.lightning_callback()])

An epoch's metrics are complete only after every ``on_train_epoch_end`` hook has run, the
module's own included, which Lightning calls after the callbacks' (it makes that exception only
for its checkpoint and early-stopping callbacks). So an epoch is reported when the next one starts,
and the last when training ends (early stopping included) or is interrupted; the validation sanity
check is not an epoch. Lightning keeps a metric's last value until it is logged again, so on an
epoch without validation (``check_val_every_n_epoch=2``) the metrics validation logs are left out
rather than reported again; of a metric logged both per step and per epoch (``train_loss_step``,
``train_loss_epoch``) the last step's value is left out. Under several processes (DDP) only the
first reports.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from layerorder.errors import LayerorderError
from layerorder.trials.protocol import check_names, chosen_metrics

try:
    from lightning.pytorch.callbacks import Callback
except ImportError:  # the standalone package name
    try:
        from pytorch_lightning.callbacks import Callback
    except ImportError:
        raise LayerorderError("trial.lightning_callback() needs Lightning: pip install lightning"
                              " (or 'layerorder[lightning]')") from None


def _values(metrics: dict[str, Any]) -> dict[str, float | None]:
    """Each metric's value as a number, to tell which ones a validation set (None: no number)."""
    out: dict[str, float | None] = {}
    for key, value in metrics.items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError, RuntimeError):
            out[key] = None
    return out


class ReportCallback(Callback):
    """Reports every logged metric that is a single number, or only ``names``, to ``trial``
    once per training epoch."""

    def __init__(self, trial: Any, names: Collection[str] | None = None) -> None:
        self.trial = trial
        self.names = check_names(names)
        self._ended: int | None = None  # the epoch (from 1) whose metrics are still to report
        self._validation_keys: set[str] = set()  # metrics a validation has set
        self._validated = False  # a validation ran since the last report
        self._before: dict[str, float | None] = {}

    def on_validation_start(self, trainer: Any, pl_module: Any) -> None:
        self._before = _values(trainer.callback_metrics)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return
        after = _values(trainer.callback_metrics)
        # the first validation brings its metrics in new (the sanity check stores none)
        self._validation_keys |= {k for k, v in after.items()
                                  if k not in self._before or self._before[k] != v}
        self._validated = True

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._ended = trainer.current_epoch + 1

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._report(trainer)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self._report(trainer)

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self._report(trainer)  # an epoch that ended before the interruption

    def _report(self, trainer: Any) -> None:
        epoch, self._ended = self._ended, None
        validated, self._validated = self._validated, False
        if epoch is None or not trainer.is_global_zero:
            return
        logged = dict(trainer.callback_metrics)
        if not validated:
            logged = {k: v for k, v in logged.items() if k not in self._validation_keys}
        logged = {k: v for k, v in logged.items()
                  if not (k.endswith("_step") and f"{k[:-5]}_epoch" in logged)}
        chosen = chosen_metrics(logged, self.names)
        if chosen:
            self.trial.report(epoch, chosen)
