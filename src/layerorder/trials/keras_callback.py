"""A Keras callback that reports a trial's metrics: each epoch's logs (``loss``, ``accuracy``,
``val_loss``, ``val_accuracy``, ...) as ``trial.report(epoch, logs)``, epochs counted from 1.
Needs Keras 3 (the optional extra ``layerorder[keras]``).

    trial = layerorder.trial(order="conv-bn-relu", seed=0)
    model.fit(x, y, validation_data=(xv, yv), epochs=10, callbacks=[trial.keras_callback()])
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from layerorder.errors import LayerorderError
from layerorder.trials.protocol import check_names, chosen_metrics

try:
    import keras
except ImportError:
    raise LayerorderError("trial.keras_callback() needs Keras 3: pip install keras"
                          " (or 'layerorder[keras]')") from None


class ReportCallback(keras.callbacks.Callback):
    """Reports every metric in an epoch's logs, or only ``names``, to ``trial`` after each
    epoch (Keras counts epochs from 0, the trial from 1, as ``trial.report``'s epochs after
    training). Without ``names``, a log that is no single number (a per-class F1 score) is left
    out; a named one is reported or refused like any."""

    def __init__(self, trial: Any, names: Collection[str] | None = None) -> None:
        super().__init__()
        self.trial = trial
        self.names = check_names(names)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        chosen = chosen_metrics(logs or {}, self.names)
        if chosen:
            self.trial.report(epoch + 1, chosen)
