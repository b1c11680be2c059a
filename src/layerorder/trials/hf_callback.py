"""A Hugging Face ``Trainer`` callback that reports a trial's metrics: each evaluation's metrics
(``eval_loss``, and whatever ``compute_metrics`` returns, as ``eval_accuracy``) with the training
log of the same epoch (``loss``, ``learning_rate``, ``grad_norm``) as ``trial.report(epoch,
metrics)``. Needs ``transformers`` and the ``accelerate`` its ``Trainer`` needs.

    trial = layerorder.trial(order="conv-bn-relu", seed=0)
    trainer = Trainer(model, args, ..., callbacks=[trial.hf_callback()])

An evaluation during training is reported at the epoch it falls in, counted from 1
(``state.epoch`` rounded up): with ``eval_strategy="epoch"`` every epoch once; several within one
epoch (by steps) report that epoch, the last one standing; one at the start (``eval_on_start``)
as epoch 0. A training log joins an evaluation only when it was logged in the same epoch. An
evaluation before training is epoch 0; one after it (``trainer.evaluate()``, after
``load_best_model_at_end`` the kept model's) is the run's final metrics (``trial.final``), which
the comparison reads in place of the last epoch's. A Trainer that never evaluates
(``eval_strategy="no"``) reports its training logs instead, each at the epoch it falls in. Only
the main process reports.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

from layerorder.errors import LayerorderError
from layerorder.trials.protocol import check_names, chosen_metrics

try:
    from transformers import TrainerCallback
except ImportError:
    raise LayerorderError("trial.hf_callback() needs transformers and accelerate:"
                          " pip install transformers accelerate (or 'layerorder[hf]')") from None

# the keys by which a log is the training loop's own (a user's trainer.log({...}) or an
# evaluation under another prefix is not), and those of the summary at the end of training
_TRAINING_KEYS = ("loss", "learning_rate", "grad_norm")


def _epoch(value: float | None) -> int:
    """The epoch a moment falls in, counted from 1 (0: before the first step)."""
    return max(0, math.ceil((value or 0) - 1e-6))


def _never_evaluates(args: Any) -> bool:
    # ``eval_strategy``, named ``evaluation_strategy`` before transformers 4.41
    strategy = getattr(args, "eval_strategy", None) or getattr(args, "evaluation_strategy", None)
    return str(getattr(strategy, "value", strategy)) == "no"


class ReportCallback(TrainerCallback):
    """Reports each evaluation (or, without any, each training log) to ``trial``: every metric
    that is a single number, or only ``names``."""

    def __init__(self, trial: Any, names: Collection[str] | None = None) -> None:
        self.trial = trial
        self.names = check_names(names)
        self._training: tuple[int, dict[str, Any]] | None = None  # the last training log
        self._trained = False

    def on_train_begin(self, args, state, control, **kwargs) -> None:
        self._trained, self._training = False, None

    def on_train_end(self, args, state, control, **kwargs) -> None:
        self._trained = True

    def on_log(self, args, state, control, logs=None, **kwargs) -> None:
        logs = logs or {}
        if not any(k in logs for k in _TRAINING_KEYS) or any(k.endswith("_runtime") for k in logs):
            return  # an evaluation's (on_evaluate has it), the end's summary, or the user's own
        self._training = (_epoch(state.epoch), dict(logs))
        if _never_evaluates(args):
            self._send(state, _epoch(state.epoch), dict(logs))

    def on_evaluate(self, args, state, control, metrics=None, **kwargs) -> None:
        metrics = dict(metrics or {})
        if self._trained:  # after training: the run's final metrics
            if state.is_world_process_zero and (chosen := chosen_metrics(metrics, self.names)):
                self.trial.final(chosen)
            return
        epoch = _epoch(state.epoch)
        training = self._training[1] if self._training and self._training[0] == epoch else {}
        self._send(state, epoch, {**training, **metrics})

    def _send(self, state, epoch: int, logs: dict[str, Any]) -> None:
        if state.is_world_process_zero and (chosen := chosen_metrics(logs, self.names)):
            self.trial.report(epoch, chosen)
