"""A Hugging Face ``Trainer`` callback that reports a trial's metrics: each evaluation's metrics
(``eval_loss``, and whatever ``compute_metrics`` returns, as ``eval_accuracy``) with the last
training logs before it (``loss``, ``learning_rate``, ``grad_norm``) as ``trial.report(epoch,
metrics)``. Needs ``transformers`` (and the ``accelerate`` its ``Trainer`` needs).

    trial = layerorder.trial(order="conv-bn-relu", seed=0)
    trainer = Trainer(model, args, ..., callbacks=[trial.hf_callback()])

An evaluation is reported at the epoch it falls in, counted from 1 (``state.epoch`` rounded up):
with ``eval_strategy="epoch"`` every epoch once; several evaluations within one epoch (by steps)
report that epoch, the last one standing; a ``trainer.evaluate()`` after training adds to the last
epoch. A Trainer that never evaluates (``eval_strategy="no"``) reports its training logs instead,
each at the epoch it falls in (with ``logging_strategy="epoch"``, every epoch once). Only the main
process reports.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

from layerorder.errors import LayerorderError
from layerorder.trials.protocol import HEAD_KEYS, is_number

try:
    from transformers import TrainerCallback
except ImportError:
    raise LayerorderError("trial.hf_callback() needs transformers: pip install transformers"
                          " accelerate (or 'layerorder[hf]')") from None


class ReportCallback(TrainerCallback):
    """Reports each evaluation (or, without any, each epoch's training logs) to ``trial``;
    every metric that is a single number, or only ``names``."""

    def __init__(self, trial: Any, names: Collection[str] | None = None) -> None:
        self.trial = trial
        self.names = None if names is None else frozenset(names)
        self._train_logs: dict[str, Any] = {}

    def on_log(self, args, state, control, logs=None, **kwargs) -> None:
        # a training log (an evaluation's is reported by on_evaluate; the summary at the end of
        # training, "train_runtime" and the run's mean "train_loss", is no epoch's)
        if not logs or "train_runtime" in logs or any(str(k).startswith("eval_") for k in logs):
            return
        self._train_logs = dict(logs)
        if str(getattr(args.eval_strategy, "value", args.eval_strategy)) == "no":
            self._report(state, self._train_logs)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs) -> None:
        self._report(state, {**self._train_logs, **(metrics or {})})

    def _report(self, state, logs: dict[str, Any]) -> None:
        if not state.is_world_process_zero:
            return
        epoch = max(1, math.ceil((state.epoch or 0) - 1e-6))
        logs = {k: v for k, v in logs.items() if k not in HEAD_KEYS}
        chosen = ({k: v for k, v in logs.items() if k in self.names} if self.names is not None
                  else {k: v for k, v in logs.items() if is_number(v)})
        if chosen:
            self.trial.report(epoch, chosen)
