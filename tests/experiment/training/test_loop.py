"""The training loop against a hand-written PyTorch loop, and its divergence handling."""

import math

import pytest
import torch
from torch import nn

from layerorder.blocks import seed_dropout
from layerorder.data import load_dataset
from layerorder.experiment.configuration.config import RunConfig
from layerorder.experiment.training.loop import steps_per_epoch, train
from layerorder.models import build_model


@pytest.fixture(scope="module")
def data():
    return load_dataset("synthetic", num_samples=300)


def reference_loop(model, data, seed, epochs, batch_size, lr, grad_clip=0.0, make_opt=None):
    """What a practitioner writes by hand: Adam, one-cycle, shuffled index batches; layerorder's
    dropout seeded with the documented ``seed_dropout``; Adam's fused kernel, as layerorder uses
    where PyTorch has one (its rounding differs from the for-loop Adam's in the last bits)."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    seed_dropout(model, seed)
    opt = (make_opt or (lambda ps: torch.optim.Adam(ps, lr=lr, fused=True)))(model.parameters())
    n = len(data.x_train)
    total = epochs * steps_per_epoch(n, batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        batches = list(perm.split(batch_size))
        if len(batches[-1]) == 1:
            batches.pop()
        for idx in batches:
            loss = nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad()
            loss.backward()
            if grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            model(data.x_test)
    return model


@pytest.mark.parametrize("order", ["standard", "preact", "drop-before-bn"])
def test_same_final_weights_as_hand_written_loop(data, order):
    cfg = RunConfig(
        order=order,
        seed=3,
        lr=0.01,
        dataset="synthetic",
        arch="cnn2d",
        width=8,
        depth=2,
        epochs=3,
        batch_size=32,
        p_drop=0.2,
    )

    def make():
        torch.manual_seed(cfg.seed)
        return build_model(
            "cnn2d",
            order,
            in_shape=data.in_shape,
            num_classes=data.num_classes,
            width=8,
            depth=2,
            p_drop=0.2,
        )

    ours = make()
    result = train(ours, data, cfg)
    ref = reference_loop(make(), data, cfg.seed, cfg.epochs, cfg.batch_size, cfg.lr)
    assert result.status == "done" and len(result.epochs) == 3
    for (name, a), b in zip(ours.state_dict().items(), ref.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)


def test_epoch_records(data):
    cfg = RunConfig(order="standard", seed=0, lr=0.01, arch="mlp", epochs=4, batch_size=50)
    torch.manual_seed(0)
    model = build_model("mlp", "standard", in_shape=data.in_shape, num_classes=data.num_classes)
    result = train(model, data, cfg)
    assert [e.epoch for e in result.epochs] == [1, 2, 3, 4]
    last = result.epochs[-1]
    assert 0 <= last.test_acc <= 100 and last.test_acc > 100 / data.num_classes
    assert last.train_loss < result.epochs[0].train_loss
    walls = [e.wall_time for e in result.epochs]
    assert walls == sorted(walls)
    with torch.no_grad():
        model.eval()
        acc = (model(data.x_test).argmax(1) == data.y_test).float().mean().item() * 100
    assert last.test_acc == pytest.approx(acc)


def test_divergence_stops_the_run(data):
    cfg = RunConfig(
        order="no-norm",
        seed=0,
        lr=1000.0,
        arch="mlp",
        epochs=5,
        batch_size=50,
        optimizer="sgd",
        schedule="constant",
    )
    torch.manual_seed(0)
    model = build_model("mlp", "no-norm", in_shape=data.in_shape, num_classes=data.num_classes)
    result = train(model, data, cfg)
    assert result.status == "diverged"
    assert result.diverged_epoch == len(result.epochs)
    assert not math.isfinite(result.epochs[-1].train_loss)


@pytest.mark.parametrize("opt", ["sgd", "adam", "adamw"])
@pytest.mark.parametrize("schedule", ["onecycle", "cosine", "step", "constant"])
def test_optimizers_and_schedules_train(data, opt, schedule):
    cfg = RunConfig(
        order="standard",
        seed=1,
        lr=0.05 if opt == "sgd" else 0.005,
        arch="mlp",
        epochs=2,
        batch_size=64,
        optimizer=opt,
        schedule=schedule,
        weight_decay=1e-4,
        label_smoothing=0.1,
    )
    torch.manual_seed(1)
    model = build_model("mlp", "standard", in_shape=data.in_shape, num_classes=data.num_classes)
    result = train(model, data, cfg)
    assert result.status == "done"
    if schedule == "constant":
        assert result.epochs[-1].lr == pytest.approx(cfg.lr)
    if schedule == "cosine":
        assert result.epochs[-1].lr == pytest.approx(0.0, abs=1e-9)


def test_grad_clip_matches_clip_grad_norm_in_a_hand_written_loop(data):
    """--grad-clip clips the global L2 norm before each step, as torch's clip_grad_norm_ does."""
    clip = 0.05  # small enough to clip every step
    cfg = RunConfig(
        order="standard",
        seed=2,
        lr=0.01,
        dataset="synthetic",
        arch="mlp",
        width=16,
        epochs=2,
        batch_size=32,
        grad_clip=clip,
    )

    def make():
        torch.manual_seed(cfg.seed)
        return build_model(
            "mlp", "standard", in_shape=data.in_shape, num_classes=data.num_classes, width=16
        )

    ours, unclipped = make(), make()
    train(ours, data, cfg)
    train(unclipped, data, RunConfig(**{**cfg.__dict__, "grad_clip": 0.0}))
    ref = reference_loop(make(), data, cfg.seed, cfg.epochs, cfg.batch_size, cfg.lr, clip)
    for (name, a), b in zip(ours.state_dict().items(), ref.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
    moved = [not torch.equal(a, b) for a, b in zip(ours.parameters(), unclipped.parameters())]
    assert all(moved)


@pytest.mark.parametrize(
    ("settings", "make_opt"),
    [
        ({"optimizer": "sgd", "lr": 0.05, "nesterov": True, "weight_decay": 5e-4},
         lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4,
                                    fused=True)),
        ({"optimizer": "adam", "lr": 0.01, "beta2": 0.98},
         lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.9, 0.98), fused=True)),
        ({"optimizer": "adamw", "lr": 0.01, "adam_eps": 1e-2},
         lambda ps: torch.optim.AdamW(ps, lr=0.01, eps=1e-2, weight_decay=0.0, fused=True)),
    ],
    ids=["sgd-nesterov", "adam-beta2", "adamw-eps"],
)
def test_nesterov_and_beta2_match_the_hand_written_optimizer(data, settings, make_opt):
    """--nesterov and --beta2 reach the optimizer as torch's own arguments: same final weights as
    a hand-written loop with torch.optim.SGD(nesterov=True) / Adam(betas=(0.9, beta2)), and not
    the same as without them."""
    cfg = RunConfig(order="standard", seed=4, dataset="synthetic", arch="mlp", width=16,
                    epochs=2, batch_size=32, **settings)

    def make():
        torch.manual_seed(cfg.seed)
        return build_model(
            "mlp", "standard", in_shape=data.in_shape, num_classes=data.num_classes, width=16
        )

    ours = make()
    train(ours, data, cfg)
    ref = reference_loop(make(), data, cfg.seed, cfg.epochs, cfg.batch_size, cfg.lr,
                         make_opt=make_opt)
    for (name, a), b in zip(ours.state_dict().items(), ref.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
    plain = make()
    train(plain, data, RunConfig(**{**cfg.__dict__, "nesterov": False, "beta2": 0.999,
                                    "adam_eps": 1e-8}))
    assert any(not torch.equal(a, b) for a, b in zip(ours.parameters(), plain.parameters()))
