"""A user's own run: the ``Trial`` it gets (a training function's argument, or
``layerorder.trial()`` in a script) and the protocol between a script and the driver.

    def train(trial):                                   # layerorder.compare(train=train, ...)
        model = trial.rewrite(make_model(), torch.randn(2, 3, 32, 32))  # seeded from trial.seed
        for epoch in range(1, 11):
            ...
            trial.report(epoch, val_loss=loss)
        return {"val_accuracy": acc}

A script reads its trial with ``layerorder.trial(order=..., seed=...)`` (the defaults it runs with
alone) and reports the same way; ``docs/trials.md`` has the protocol for other languages.
"""

from layerorder.trials.protocol import MetricsError, Reported
from layerorder.trials.trial import Trial, TrialError, TrialOrder, trial

__all__ = ["MetricsError", "Reported", "Trial", "TrialError", "TrialOrder", "trial"]
