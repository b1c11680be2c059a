"""``trial.lightning_callback()`` in a real ``Trainer.fit``: each epoch reported once, with what
Lightning itself logs for that epoch (a logger's record is the reference), including a metric
the module logs in its own ``on_train_epoch_end``; the sanity check is no epoch."""

import logging
import warnings

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from layerorder.trials import Trial, TrialError

EPOCHS = 3


@pytest.fixture(scope="module")
def L():
    """Lightning, imported by the tests that use it, not when this file is collected."""
    L = pytest.importorskip("lightning", reason="lightning is not installed")
    logging.getLogger("lightning").setLevel(logging.ERROR)
    return L


def _fit(L, callbacks, log_step=False, **trainer):
    from lightning.pytorch.loggers import Logger

    class Recorder(Logger):
        """What Lightning logs at each epoch's end: the reference."""

        def __init__(self):
            super().__init__()
            self.epochs: dict[int, dict[str, float]] = {}

        name, version = "recorder", 0
        experiment = None

        def log_metrics(self, metrics, step=None):
            metrics = dict(metrics)
            epoch = int(metrics.pop("epoch"))
            self.epochs.setdefault(epoch + 1, {}).update(metrics)

        def log_hyperparams(self, *args, **kwargs):
            pass

    class Net(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(),
                                     nn.Linear(16, 3))

        def training_step(self, batch, _):
            x, y = batch
            loss = nn.functional.cross_entropy(self.net(x), y)
            self.log("train_loss", loss, on_step=log_step, on_epoch=True)
            return loss

        def validation_step(self, batch, _):
            x, y = batch
            self.log("val_acc", (self.net(x).argmax(1) == y).float().mean(), on_epoch=True)

        def on_train_epoch_end(self):
            self.log("weight_norm", self.net[0].weight.norm())  # only known once the epoch ends

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    torch.manual_seed(0)
    x = torch.randn(120, 6)
    y = (x[:, :3]).argmax(1)
    data = TensorDataset(x, y)
    recorder = Recorder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        L.Trainer(max_epochs=EPOCHS, accelerator="cpu", logger=recorder, callbacks=callbacks,
                  enable_checkpointing=False, enable_progress_bar=False,
                  enable_model_summary=False, **trainer).fit(
            Net(), DataLoader(data, batch_size=30, shuffle=True), DataLoader(data, batch_size=60))
    return recorder.epochs


def test_every_epoch_is_reported_once_with_what_lightning_logs_for_it(L):
    trial = Trial("conv-bn-relu", 0)
    logged = _fit(L, [trial.lightning_callback()])
    assert sorted(trial.reported.epochs) == list(range(1, EPOCHS + 1)) == sorted(logged)
    for epoch, metrics in trial.reported.epochs.items():
        assert set(metrics) == {"train_loss", "val_acc", "weight_norm"}, epoch
        assert metrics == pytest.approx(logged[epoch]), epoch
    # the epochs differ (a report of epoch 1's values again would pass the comparison above
    # only if the logger had them again too)
    assert len({m["weight_norm"] for m in trial.reported.epochs.values()}) == EPOCHS


def test_names_choose_what_is_reported_and_early_stopping_still_reports_the_last_epoch(L):
    from lightning.pytorch.callbacks import EarlyStopping

    trial = Trial("conv-bn-relu", 0)
    # a patience of 0 on a metric that must fall stops after the first epoch that does not
    stop = EarlyStopping("weight_norm", mode="min", patience=0, check_finite=False)
    logged = _fit(L, [trial.lightning_callback("val_acc"), stop])
    assert len(logged) < EPOCHS  # it did stop early
    assert sorted(trial.reported.epochs) == sorted(logged)
    assert all(set(m) == {"val_acc"} for m in trial.reported.epochs.values())
    assert [m["val_acc"] for _, m in sorted(trial.reported.epochs.items())] == pytest.approx(
        [logged[e]["val_acc"] for e in sorted(logged)])


def test_an_epoch_without_validation_reports_no_validation_metric_of_an_earlier_one(L):
    """Lightning keeps ``val_acc`` from the last validation: on an epoch that has none it is
    left out, as the logger leaves it out. Of a metric logged per step and per epoch, the
    epoch's value is reported, as the logger has it."""
    trial = Trial("conv-bn-relu", 0)
    logged = _fit(L, [trial.lightning_callback()], log_step=True, check_val_every_n_epoch=2)
    assert sorted(trial.reported.epochs) == list(range(1, EPOCHS + 1))
    assert ["val_acc" in trial.reported.epochs[e] for e in range(1, EPOCHS + 1)] == [
        False, True, False] == ["val_acc" in logged.get(e, {}) for e in range(1, EPOCHS + 1)]
    for epoch, metrics in trial.reported.epochs.items():
        assert "train_loss_step" not in metrics
        assert metrics["train_loss_epoch"] == pytest.approx(logged[epoch]["train_loss_epoch"])


def test_the_metrics_files_own_keys_cannot_be_asked_for(L):
    trial = Trial("conv-bn-relu", 0)
    with pytest.raises(TrialError, match="may not be named 'final'"):
        trial.lightning_callback("final")
