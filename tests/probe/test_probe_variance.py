"""Variance shift (Li et al. 2019) against its analytic value, and recalibration."""

import math

import pytest
import torch
from torch import nn

from layerorder.probe import recalibrate_bn, variance_shift


def train_bn(model, steps=200, batch=500, channels=8, seed=0):
    gen = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(steps):  # 10^5 samples
            model(torch.randn(batch, channels, generator=gen))
    return torch.randn(100_000, channels, generator=gen)


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_dropout_before_bn_shifts_variance_by_one_over_q(p):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Dropout(p), nn.BatchNorm1d(8))
    test = train_bn(model)
    (shift,) = variance_shift(model, test)
    assert shift.shift == pytest.approx(1 / (1 - p), rel=0.05)
    assert shift.running_var == pytest.approx(1 / (1 - p), rel=0.05)
    assert shift.eval_var == pytest.approx(1.0, rel=0.05)
    assert shift.flagged == (1 / (1 - p) > 1.25)
    assert model.training  # mode restored


def test_bn_before_dropout_has_no_shift():
    torch.manual_seed(0)
    model = nn.Sequential(nn.BatchNorm1d(8), nn.Dropout(0.5))
    test = train_bn(model)
    (shift,) = variance_shift(model, test)
    assert shift.shift == pytest.approx(1.0, rel=0.05) and not shift.flagged


def test_shift_is_per_channel_max_ratio_averaged():
    bn = nn.BatchNorm1d(2)
    with torch.no_grad():
        bn.running_var.copy_(torch.tensor([4.0, 0.25]))
    x = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(0))
    (shift,) = variance_shift(nn.Sequential(bn), x)
    assert shift.shift == pytest.approx(4.0, rel=0.02)  # both channels are off by 4x


def test_recalibration_removes_the_shift():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(8))
    test = train_bn(model)
    assert recalibrate_bn(model, test) == 1
    (shift,) = variance_shift(model, test)
    assert shift.shift == pytest.approx(1.0, rel=0.02)
    assert model[1].momentum == 0.1 and not model.training


def test_dead_channel_does_not_make_the_layer_look_shifted():
    lin = nn.Linear(4, 3)
    with torch.no_grad():
        lin.bias[0] = -100.0
    model = nn.Sequential(lin, nn.ReLU(), nn.BatchNorm1d(3)).train()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _ in range(100):
            model(torch.randn(256, 4, generator=gen))
    (shift,) = variance_shift(model, torch.randn(20_000, 4, generator=gen))
    assert math.isfinite(shift.shift) and shift.shift < 1.1 and not shift.flagged


def _trained_probed_run(epochs: int):
    """A probed run of a small MLP with dropout 0.5 before BN, trained from seed 0: its run
    config, data, trained model and ``TrainResult``."""
    from layerorder.experiment.configuration.config import make_config
    from layerorder.experiment.training.loop import train
    from layerorder.experiment.training.run_data import load_run_data
    from layerorder.experiment.training.target import build_run_model

    cfg = make_config({"dataset": "synthetic", "arch": "mlp", "width": 16, "epochs": epochs,
                       "orders": ["drop-before-bn"], "seeds": 1, "p_drop": 0.5, "probe": True})
    (rc,) = cfg.runs()
    data = load_run_data(rc, "cpu")
    torch.manual_seed(0)
    model = build_run_model(rc, data)
    return rc, data, model, train(model, data, rc)


def test_probed_runs_store_the_recalibrated_accuracy(tmp_path):
    """A probed run's last epoch holds its test accuracy before and after BN recalibration,
    computed as ``recalibrate_bn`` and ``evaluate`` give them on the same trained model."""
    import dataclasses

    from layerorder.experiment.execution.worker import recalibration_records
    from layerorder.experiment.training.loop import evaluate
    from layerorder.experiment.training.target import build_run_model
    from layerorder.probe.stored import typed

    rc, data, model, _ = _trained_probed_run(epochs=1)
    before = evaluate(model, data.x_test, data.y_test)[1]
    twin = build_run_model(rc, data)
    twin.load_state_dict(model.state_dict())
    recalibrate_bn(twin, data.x_train)
    after = evaluate(twin, data.x_test, data.y_test)[1]
    (row,) = recalibration_records(model, data, rc)
    epoch, kind, name, stored = row
    rec = typed(kind, name, stored)
    assert (epoch, kind) == (1, "recal") and rec.bn_layers >= 1
    assert (rec.test_acc, rec.recalibrated_acc) == (before, after)
    no_bn = dataclasses.replace(rc, order="linear-relu")
    plain = build_run_model(no_bn, data)
    assert recalibration_records(plain, data, no_bn) == []


def test_probed_runs_store_their_fit_in_eval_mode():
    """A probed run's last epoch holds the trained model's eval-mode accuracy on a fixed sample
    of its training set (the same draw as the probe batch) and on its test set, as ``evaluate``
    gives them; with dropout in the model the running training accuracy of the last epoch
    (train mode) is not that number."""
    from layerorder.experiment.execution.worker import RunTask, execute, fit_records
    from layerorder.experiment.training.loop import evaluate
    from layerorder.probe.stored import typed
    from layerorder.probe.training import FIT_SAMPLE

    rc, data, model, result = _trained_probed_run(epochs=2)
    idx = torch.randperm(len(data.x_train), generator=torch.Generator().manual_seed(0))
    idx = idx[:FIT_SAMPLE]
    train_acc = evaluate(model, data.x_train[idx], data.y_train[idx])[1]
    test_acc = evaluate(model, data.x_test, data.y_test)[1]
    (row,) = fit_records(model, data, rc)
    epoch, kind, name, stored = row
    fit = typed(kind, name, stored)
    assert (epoch, kind, fit.samples) == (2, "fit", min(FIT_SAMPLE, len(data.x_train)))
    assert (fit.train_acc, fit.test_acc) == (train_acc, test_acc)
    assert fit.gap == train_acc - test_acc
    assert fit.train_acc != result.epochs[-1].train_acc  # not the train-mode running accuracy
    # the last epoch's test accuracy is this model's eval-mode evaluation: a run reuses it
    assert result.epochs[-1].test_acc == test_acc
    assert fit_records(model, data, rc, test_acc) == [row]

    outcome = execute(RunTask(1, rc.order, rc.to_dict(), threads=1))
    assert outcome.status == "done", outcome.error
    kinds = [k for _e, k, _n, _d in outcome.probes]
    assert kinds.count("fit") == 1 and kinds.index("fit") < kinds.index("recal")
    stored = {k: typed(k, n, d) for _e, k, n, d in outcome.probes if k in ("fit", "recal")}
    assert stored["fit"] == fit and stored["recal"].test_acc == fit.test_acc
