"""Gradient flow, and probing during training that leaves training unchanged."""

import pytest
import torch
from torch import nn

from layerorder.data import load_dataset
from layerorder.experiment.configuration.config import RunConfig
from layerorder.experiment.training.loop import train
from layerorder.models import build_model
from layerorder.probe import EpochProbe, grad_flow, hook_count


def test_grad_flow_names_vanishing_and_exploding_layers():
    torch.manual_seed(0)
    model = nn.Sequential(*[nn.Linear(8, 8) for _ in range(5)])
    model(torch.randn(32, 8)).square().mean().backward()
    with torch.no_grad():
        model[1].weight.grad.mul_(1e-6)
        model[3].weight.grad.mul_(1e6)
    records = grad_flow(model)
    assert [r.status for r in records] == ["ok", "vanishing", "ok", "exploding", "ok"]
    r = records[0]
    assert r.ratio == pytest.approx(r.grad_norm / r.weight_norm)
    assert r.grad_norm == pytest.approx(model[0].weight.grad.norm().item())


def test_probed_training_equals_unprobed_training():
    data = load_dataset("synthetic", num_samples=300)
    cfg = RunConfig(
        order="drop-before-bn", seed=2, lr=0.01, arch="cnn1d", epochs=2, batch_size=50, p_drop=0.3
    )

    def run(probe):
        torch.manual_seed(cfg.seed)
        model = build_model(
            "cnn1d", cfg.order, in_shape=data.in_shape, num_classes=data.num_classes, p_drop=0.3
        )
        result = train(model, data, cfg, probe=probe)
        return model, result

    plain_model, plain = run(None)
    prober = EpochProbe(data.x_train, data.y_train)
    probed_model, probed = run(prober)
    assert hook_count(probed_model) == 0
    for a, b in zip(plain_model.state_dict().values(), probed_model.state_dict().values()):
        assert torch.equal(a, b)
    assert [e.test_acc for e in plain.epochs] == [e.test_acc for e in probed.epochs]
    epochs = {e for e, *_ in prober.records}
    kinds = {k for _, k, *_ in prober.records}
    assert epochs == {0, 1, 2} and kinds == {"stage", "grad", "varshift"}
    stage = next(d for e, k, n, d in prober.records if k == "stage" and n.endswith("act"))
    assert len(stage["hist"]) == 60 and 0 <= stage["frac_positive"] <= 1


def test_probes_every_nth_epoch_and_always_init_and_the_last():
    """The schedule, and that a sparser one records the same statistics at the epochs it keeps
    (probing never changes training)."""
    data = load_dataset("synthetic", num_samples=200)
    cfg = RunConfig(order="standard", seed=1, lr=0.01, arch="cnn1d", epochs=5, batch_size=50)
    assert cfg.probe_every == 5 and "probe_every" not in cfg.to_dict()  # old run keys kept

    def probed(every):
        torch.manual_seed(cfg.seed)
        model = build_model("cnn1d", cfg.order, in_shape=data.in_shape,
                            num_classes=data.num_classes)
        prober = EpochProbe(data.x_train, data.y_train, every=every, epochs=cfg.epochs)
        train(model, data, cfg, probe=prober)
        return prober

    every, sparse = probed(1), probed(3)
    assert sorted(every.snapshots) == [0, 1, 2, 3, 4, 5]
    assert sorted(sparse.snapshots) == [0, 3, 5]
    kept = [r for r in every.records if r[0] in (0, 3, 5)]
    assert kept == sparse.records


def test_probe_every_is_a_run_setting_that_needs_probe(tmp_path):
    from layerorder.experiment.configuration.config import make_config

    config = make_config({"probe": True, "probe_every": 1, "epochs": 2})
    assert config.runs()[0].to_dict()["probe_every"] == 1  # not the default: in the run key
    unprobed = make_config({"probe_every": 2})  # no --probe: said, and left out of the key
    assert any("probe_every = 2 applies with --probe only" in n for n in unprobed.not_applied())
    assert "probe_every" not in unprobed.runs()[0].to_dict()
