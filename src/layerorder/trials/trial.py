"""``Trial``: what a user's own run knows about itself, and how it reports.

A training function ``train(trial)`` gets one from the driver; a script gets one from
``layerorder.trial()``, which reads the environment the driver set (``trials.protocol``) or, when
the script runs alone, the defaults it was given. Either way the run reads ``trial.order`` (the
spec, with its parsed stages), ``trial.seed``, ``trial.lr``, ``trial.epochs``, ``trial.params``
and ``trial.device``,
reports metrics with ``trial.report(epoch, val_loss=...)``, and may build the order's block
(``trial.block``), rewrite its own model to the order (``trial.rewrite``) or seed every generator
it uses (``trial.seed_everything``).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from layerorder.order import Order, parse_order
from layerorder.trials import protocol


class TrialError(ValueError):
    """What a trial cannot do: an order that applies to no block of the model, a bad report."""


def _merged(metrics: Mapping[str, Any] | None, more: Mapping[str, Any]) -> dict[str, Any]:
    """``report``'s mapping and keywords as one dict; a mapping that is not one is refused."""
    if metrics is None:
        return dict(more)
    if not isinstance(metrics, Mapping):
        raise TrialError(f"report() and final() take metrics as keywords or a mapping of names"
                         f" to numbers, got {type(metrics).__name__}: report(3, val_acc=0.9) or"
                         " report(3, {'val/acc': 0.9})")
    return {**metrics, **more}


class TrialOrder(str):
    """The run's order: the spec as given (a ``str``), and its parsed stages (``stages``)."""

    @property
    def spec(self) -> str:
        return str(self)

    @property
    def stages(self) -> Order:
        """The parsed order (``layerorder.order.Order``); a label that is no order spec (such as
        ``as-is``) raises ``OrderSpecError``."""
        return parse_order(str(self))


class Trial:
    """One run of a user's training: its order, seed, learning rate, params and device, and a
    ``report`` that records metrics per epoch (``final``: the run's final metrics)."""

    def __init__(self, order: str, seed: int, *, lr: float | None = None,
                 epochs: int | None = None, params: dict[str, Any] | None = None,
                 device: str = "cpu",
                 metric: str | None = None, run_dir: str | Path | None = None,
                 metrics_file: str | Path | None = None,
                 on_report: Callable[[int, dict[str, float]], None] | None = None) -> None:
        self.order = TrialOrder(order)
        self.seed = int(seed)
        self.lr = lr
        self.epochs = epochs  # the grid's epochs (a search's early rounds give fewer)
        self.params = dict(params or {})
        self.device = device
        self.metric = metric  # the metric the comparison reads (None: the run alone)
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.reported = protocol.Reported()
        self._file = None if metrics_file is None else Path(metrics_file)
        self._on_report = on_report

    def __repr__(self) -> str:
        return (f"Trial(order={str(self.order)!r}, seed={self.seed}, lr={self.lr},"
                f" epochs={self.epochs}, params={self.params}, device={self.device!r})")

    # ---- reporting ---------------------------------------------------------------------------

    def report(self, epoch: int, metrics: Mapping[str, Any] | None = None, /,
               **more: Any) -> None:
        """Metrics after ``epoch``, as keywords or as a mapping (for names such as ``val/acc``,
        as Lightning and Keras log them), e.g. ``trial.report(3, val_loss=0.41,
        val_accuracy=0.87)`` or ``trial.report(3, {"val/acc": 0.87})``. A value is a number
        (numpy's too) or a one-element tensor; NaN marks a diverged run."""
        self._record(epoch, _merged(metrics, more), final=False)

    def final(self, metrics: Mapping[str, Any] | None = None, /, **more: Any) -> None:
        """The run's final metrics, where they are not simply the last ones reported (a script's
        counterpart of a training function's return value), as ``report`` takes them."""
        self._record(None, _merged(metrics, more), final=True)

    def _record(self, epoch: int | None, metrics: dict[str, Any], final: bool) -> None:
        if not final and not protocol.is_epoch(epoch):
            raise TrialError(f"report() takes the epoch as a whole number >= 0, got {epoch!r}")
        try:
            protocol.check_names(map(str, metrics))
            values = {str(k): protocol.number(k, v) for k, v in metrics.items() if v is not None}
        except protocol.MetricsError as exc:
            raise TrialError(str(exc)) from None
        self.reported.add(epoch, values, final)
        if self._file is not None:
            with self._file.open("a", encoding="utf-8") as fh:
                fh.write(protocol.line_of(epoch, values, final))
        if self._on_report is not None and not final:
            self._on_report(epoch, values)

    def keras_callback(self, *names: str):
        """A Keras callback reporting each epoch's logs (``loss``, ``val_accuracy``, ...; only
        ``names`` if given) through ``report``:
        ``model.fit(..., callbacks=[trial.keras_callback()])``. Needs Keras 3
        (``trials.keras_callback``)."""
        return self._callback("keras_callback", names)

    def lightning_callback(self, *names: str):
        """A Lightning callback reporting what the module logged (``self.log``; only ``names`` if
        given) after each training epoch through ``report``:
        ``Trainer(callbacks=[trial.lightning_callback()])``. Needs Lightning
        (``trials.lightning_callback``)."""
        return self._callback("lightning_callback", names)

    def hf_callback(self, *names: str):
        """A Hugging Face ``Trainer`` callback reporting each evaluation's metrics
        (``eval_loss``, ``eval_accuracy``, ...) with the training log of its epoch, at the epoch
        it falls in (only ``names`` if given): ``Trainer(..., callbacks=[trial.hf_callback()])``.
        Needs transformers and accelerate (``trials.hf_callback``)."""
        return self._callback("hf_callback", names)

    def _callback(self, module: str, names: tuple[str, ...]):
        """The ``ReportCallback`` of ``layerorder.trials.<module>``, imported here: each needs
        its framework, an optional dependency."""
        import importlib

        callback = importlib.import_module(f"layerorder.trials.{module}").ReportCallback
        try:
            return callback(self, names or None)
        except protocol.MetricsError as exc:  # a name the metrics file keeps for itself
            raise TrialError(str(exc)) from None

    # ---- conveniences ------------------------------------------------------------------------

    def block(self, in_ch: int, out_ch: int, **options: Any):
        """The order's block, ``layerorder.blocks.block(trial.order, in_ch, out_ch, ...)``
        (``ndim=2`` for images, ``kernel_size``, ``p_drop``, ...)."""
        from layerorder.blocks import block

        return block(str(self.order), in_ch, out_ch, **options)

    def rewrite(self, model, example_input):
        """``model`` rewritten to the trial's order (weights of unchanged layers kept;
        ``as-is``: the model itself); raises ``TrialError`` with the reason when the order
        applies to no block of it."""
        from layerorder.modelgraph import LintError, rewritten

        try:
            return rewritten(model, str(self.order), example_input)
        except LintError as exc:
            raise TrialError(str(exc)) from None

    def seed_everything(self) -> None:
        """Seed Python's ``random``, numpy and torch (the CPU, and every GPU for a trial on one:
        ``layerorder.seeding.seed_run``) with the trial's seed."""
        random.seed(self.seed)
        try:
            import numpy as np

            np.random.seed(self.seed % 2**32)
        except ImportError:
            pass
        from layerorder.seeding import seed_run

        seed_run(self.seed, self.device)


def trial(order: str | None = None, seed: int = 0, *, lr: float | None = None,
          epochs: int | None = None, params: dict[str, Any] | None = None,
          device: str = "cpu") -> Trial:
    """The trial of a script run by ``layerorder compare --command CMD``, read from its environment;
    run alone (no driver), a trial of the defaults given here, so the script still runs:

        t = layerorder.trial(order="conv-bn-relu", seed=0, params={"epochs": 5})
        ...
        t.report(epoch, val_loss=loss)

    The driver's values replace the defaults; ``params`` given here fill in those it leaves out.
    """
    env = os.environ
    if protocol.METRICS not in env:
        if order is None:
            raise TrialError("no order: run this script through 'layerorder compare --command"
                             " ...', or give layerorder.trial(order=...) for running it alone")
        return Trial(order, seed, lr=lr, epochs=epochs, params=params, device=device)
    try:
        given = json.loads(env.get(protocol.PARAMS, "{}"))
        driver_lr, driver_epochs = env.get(protocol.LR), env.get(protocol.EPOCHS)
        return Trial(
            env[protocol.ORDER],
            int(env[protocol.SEED]),
            lr=float(driver_lr) if driver_lr else lr,
            epochs=int(driver_epochs) if driver_epochs else epochs,
            params={**(params or {}), **given},
            device=env.get(protocol.DEVICE, device),
            metric=env.get(protocol.METRIC),
            run_dir=env.get(protocol.RUN_DIR),
            metrics_file=env[protocol.METRICS],
        )
    except (KeyError, ValueError) as exc:
        raise TrialError(f"the layerorder driver's environment is incomplete or damaged: {exc}"
                         ) from None
