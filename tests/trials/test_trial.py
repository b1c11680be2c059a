"""The trial a user's run gets: its order (spec and stages), reports, the order's block, the
rewrite of the user's model, seeding, and ``layerorder.trial()`` with and without a driver."""

import json
import random

import numpy as np
import pytest
import torch
from torch import nn

import layerorder
from layerorder.blocks import block
from layerorder.modelgraph import block_orders
from layerorder.order import parse_order
from layerorder.trials import Trial, TrialError, protocol
from layerorder.trials.protocol import read_metrics


def test_the_order_is_the_spec_and_its_stages():
    t = Trial("bn-relu-conv", 3)
    assert t.order == "bn-relu-conv" and f"{t.order}" == "bn-relu-conv"
    assert t.order.stages == parse_order("bn-relu-conv")


def test_the_block_is_layerorders_block_in_the_order():
    torch.manual_seed(0)
    built = Trial("conv-relu-bn", 0).block(3, 8, ndim=2)
    torch.manual_seed(0)
    reference = block("conv-relu-bn", 3, 8, ndim=2)
    x = torch.randn(2, 3, 6, 6)
    assert [type(m) for m in built] == [type(m) for m in reference]
    assert torch.equal(built(x), reference(x))


def test_rewrite_moves_the_stages_or_refuses_with_the_reason():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                          nn.LazyLinear(2))
    x = torch.randn(2, 3, 8, 8)
    model(x)
    moved = Trial("conv-relu-bn", 0).rewrite(model, x)
    assert dict(block_orders(moved))["conv-relu-bn"] == 1
    assert dict(block_orders(model))["conv-bn-relu"] == 1  # the user's model is left as it was
    assert Trial("as-is", 0).rewrite(model, x) is model
    plain = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
    plain(x)
    with pytest.raises(TrialError, match="does not apply to any block.*needs act, norm"):
        Trial("conv-bn-relu", 0).rewrite(plain, x)  # no norm to move


def test_seed_everything_seeds_python_numpy_and_torch():
    t = Trial("standard", 11)
    t.seed_everything()
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    t.seed_everything()
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_reports_go_to_the_metrics_file_and_bad_ones_are_refused(tmp_path):
    path = tmp_path / "m.jsonl"
    t = Trial("standard", 0, metrics_file=path)
    t.report(1, loss=0.5)
    t.final(acc=0.9)
    reported, _ = read_metrics(path)
    assert reported.epochs == {1: {"loss": 0.5}} and reported.final == {"acc": 0.9}
    with pytest.raises(TrialError, match="whole number"):
        t.report("one", loss=0.1)
    with pytest.raises(TrialError, match="must be a number"):
        t.report(2, loss="low")


def test_reports_take_a_mapping_numpy_numbers_and_one_element_tensors(tmp_path):
    """Names that are no Python identifier (``val/acc``, as Lightning logs them) go in a
    mapping; values come as a loop has them (numpy's float32, a loss tensor)."""
    path = tmp_path / "m.jsonl"
    t = Trial("standard", 0, metrics_file=path)
    t.report(1, {"val/acc": np.float32(0.5), "val/loss": torch.tensor(0.25, requires_grad=True)},
             lr=np.float64(0.01))
    t.report(2, {"val/acc": torch.tensor([0.75]), "steps": np.int64(40), "skipped": None})
    t.final({"test/acc": 0.875})
    reported, _ = read_metrics(path)
    assert reported.epochs == {1: {"val/acc": 0.5, "val/loss": 0.25, "lr": 0.01},
                               2: {"val/acc": 0.75, "steps": 40.0}}
    assert reported.final == {"test/acc": 0.875} and t.reported.epochs == reported.epochs
    assert all(type(v) is float for e in t.reported.epochs.values() for v in e.values())
    assert t.reported.final_metrics() == {"val/acc": 0.75, "val/loss": 0.25, "lr": 0.01,
                                          "steps": 40.0, "test/acc": 0.875}


@pytest.mark.parametrize(("args", "kwargs", "fragment"), [
    ((torch.tensor([0.5, 0.6]),), {}, "got Tensor:"),
    (({"acc": torch.tensor([0.5, 0.6])},), {}, "metric 'acc' must be a number"),
    (({"acc": np.array([0.5, 0.6])},), {}, "metric 'acc' must be a number"),
    ((), {"acc": 1 + 2j}, "metric 'acc' must be a number"),
    ((), {"acc": True}, "metric 'acc' must be a number"),
    ((), {"acc": np.bool_(True)}, "metric 'acc' must be a number"),
    ((), {"acc": torch.tensor(True)}, "metric 'acc' must be a number"),
    (({"epoch": 3, "acc": 0.5},), {}, "may not be named 'epoch': the metrics file uses the name"),
    ((), {"final": 0.5}, "may not be named 'final'"),
    ((), {"acc": "0.9"}, "metric 'acc' must be a number"),
    ((0.9,), {}, r"take metrics as keywords or a mapping .* got float: report\(3, val_acc=0.9\)"),
])
def test_a_report_of_no_number_is_refused_and_nothing_is_written(tmp_path, args, kwargs,
                                                                  fragment):
    path = tmp_path / "m.jsonl"
    t = Trial("standard", 0, metrics_file=path)
    with pytest.raises(TrialError, match=fragment):
        t.report(1, *args, **kwargs)
    assert not path.exists() and t.reported.epochs == {}


def test_trial_reads_the_driver_environment(tmp_path, monkeypatch):
    env = {protocol.ORDER: "preact", protocol.SEED: "7", protocol.LR: "0.05",
           protocol.PARAMS: json.dumps({"width": 32}), protocol.DEVICE: "cpu",
           protocol.METRICS: str(tmp_path / "m.jsonl"), protocol.METRIC: "val_loss",
           protocol.RUN_DIR: str(tmp_path)}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    t = layerorder.trial(order="standard", seed=0, params={"width": 8, "depth": 2})
    assert (str(t.order), t.seed, t.lr, t.metric) == ("preact", 7, 0.05, "val_loss")
    assert t.params == {"width": 32, "depth": 2}  # the driver's values win, defaults fill in
    t.report(1, val_loss=0.3)
    assert read_metrics(tmp_path / "m.jsonl")[0].epochs == {1: {"val_loss": 0.3}}


def test_trial_alone_uses_its_defaults_and_needs_an_order(monkeypatch):
    for name in protocol.ENV:
        monkeypatch.delenv(name, raising=False)
    t = layerorder.trial(order="standard", seed=2, params={"p": 1})
    assert (str(t.order), t.seed, t.params) == ("standard", 2, {"p": 1})
    t.report(1, m=1.0)  # no driver: kept in the trial only
    assert t.reported.final_metrics() == {"m": 1.0}
    with pytest.raises(TrialError, match="no order"):
        layerorder.trial()


def test_a_damaged_driver_environment_is_one_error(monkeypatch, tmp_path):
    monkeypatch.setenv(protocol.METRICS, str(tmp_path / "m.jsonl"))
    monkeypatch.setenv(protocol.ORDER, "standard")
    monkeypatch.setenv(protocol.SEED, "seven")
    with pytest.raises(TrialError, match="incomplete or damaged"):
        layerorder.trial()
