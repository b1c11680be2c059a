"""--amp (bfloat16 autocast), --compile, channels_last on CUDA, and run keys that stay stable."""

import dataclasses

import pytest
import torch
from torch import nn

from layerorder.data import load_dataset
from layerorder.errors import ConfigError
from layerorder.experiment.configuration.config import ExperimentConfig, RunConfig, make_config
from layerorder.experiment.training.loop import train, wants_channels_last
from layerorder.experiment.training.stacked import train_stacked
from layerorder.experiment.validate import validate
from layerorder.models import build_model
from layerorder.store.records import config_hash
from tests.helpers import with_torch_dropout


@pytest.fixture(scope="module")
def data():
    return load_dataset("synthetic", num_samples=300)


def _cfg(**kw):
    base = dict(order="standard", seed=1, lr=0.01, dataset="synthetic", arch="cnn1d", width=8)
    return RunConfig(**{**base, "epochs": 3, "batch_size": 50, **kw})


def _model(data, cfg):
    torch.manual_seed(cfg.seed)
    return build_model(
        cfg.arch,
        cfg.order,
        in_shape=data.in_shape,
        num_classes=data.num_classes,
        width=cfg.width,
        p_drop=cfg.p_drop,
    )


def test_run_keys_of_runs_without_amp_did_not_change():
    """Stores written before --amp existed keep resuming: the key is the hash of the old fields."""
    cfg = RunConfig(order="standard", seed=0, lr=0.01)
    later = ("amp", "grad_clip", "heads", "warmup", "nesterov", "beta2",  # omit_at_default
             "dropout_at", "final_norm", "adam_eps", "probe_every",
             "train", "command", "params", "code_version", "code_hash")  # a user's own run
    old_fields = {f: v for f, v in dataclasses.asdict(cfg).items() if f not in later}
    assert cfg.to_dict() == old_fields
    assert config_hash(cfg.to_dict()) == config_hash(old_fields)
    amp = dataclasses.replace(cfg, amp=True)
    assert amp.to_dict()["amp"] is True
    assert config_hash(amp.to_dict()) != config_hash(cfg.to_dict())
    assert RunConfig.from_dict(amp.to_dict()) == amp
    assert "amp" not in ExperimentConfig().identity()
    assert make_config({"amp": True}).identity()["amp"] is True
    # compile is how a run executes, not what it computes: never in a key
    assert "compile" not in make_config({"compile": True}).identity()
    assert all("compile" not in r.to_dict() for r in make_config({"compile": True}).runs())


def test_amp_and_compile_are_checked_booleans():
    with pytest.raises(ConfigError, match="amp must be true or false"):
        make_config({"amp": "yes"})
    with pytest.raises(ConfigError, match="compile must be true or false"):
        make_config({"compile": 1})


def test_float64_models_keep_float64_logits_under_amp(data):
    from layerorder.experiment.training.loop import full_precision as _full

    assert _full(torch.zeros(2, dtype=torch.float64), True).dtype == torch.float64
    assert _full(torch.zeros(2, dtype=torch.bfloat16), True).dtype == torch.float32
    assert _full(torch.zeros(2, dtype=torch.bfloat16), False).dtype == torch.bfloat16


def test_amp_runs_forward_in_bfloat16_and_trains(data):
    cfg = _cfg(amp=True)
    model = _model(data, cfg)
    seen = []
    conv = next(m for m in model.modules() if isinstance(m, nn.Conv1d))
    conv.register_forward_hook(lambda m, i, o: seen.append((m.training, o.dtype)))
    result = train(model, data, cfg)
    assert result.status == "done"
    assert {dtype for training, dtype in seen if training} == {torch.bfloat16}
    assert {dtype for training, dtype in seen if not training} == {torch.bfloat16}  # evaluation
    assert all(p.dtype == torch.float32 for p in model.parameters())  # weights stay float32
    first, last = result.epochs[0], result.epochs[-1]
    # it learns (4 classes: chance is 25%), about as well as the same run in float32
    plain = train(_model(data, _cfg()), data, _cfg())
    assert last.train_loss < first.train_loss and last.test_acc > 45
    assert last.test_acc >= plain.epochs[-1].test_acc - 15
    assert plain.epochs[-1].train_loss != last.train_loss  # and other numbers than float32


def test_amp_in_the_stacked_executor(data):
    cfgs = [_cfg(amp=True, seed=s) for s in (0, 1)]
    results = train_stacked([_model(data, c) for c in cfgs], data, cfgs)
    assert all(r.status == "done" and r.epochs[-1].test_acc > 35 for r in results)  # chance: 25
    assert all(r.epochs[-1].train_loss < r.epochs[0].train_loss for r in results)
    sequential = [train(_model(data, c), data, c) for c in cfgs]  # the same runs, under amp too
    fields = ("train_loss", "test_loss", "test_acc")
    for a, b in zip(sequential, results):
        assert [[getattr(e, f) for f in fields] for e in a.epochs] == [
            [getattr(e, f) for f in fields] for e in b.epochs
        ]


@pytest.mark.parametrize("bias", [True, False])
def test_grouped_linear_of_other_devices_keeps_the_amp_dtype(bias):
    """On a GPU one batched product does all replicas' linear layers: under autocast it must
    give bfloat16 like each run's own F.linear, with the bias added before the rounding."""
    from layerorder.experiment.training import stacking

    torch.manual_seed(0)
    linears = [nn.Linear(16, 8, bias=bias) for _ in range(3)]
    wide = stacking.stack_models([nn.Sequential(m) for m in linears], [], exact=False)
    x = torch.randn(5, 3 * 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = wide(x)
        alone = torch.cat([m(p) for m, p in zip(linears, x.chunk(3, dim=1))], dim=1)
    assert out.dtype == alone.dtype == torch.bfloat16
    torch.testing.assert_close(out, alone, rtol=0.02, atol=0.02)
    x64 = x.double()
    wide64 = stacking.stack_models([nn.Sequential(m.double()) for m in linears], [], exact=False)
    alone64 = torch.cat([m(p) for m, p in zip(linears, x64.chunk(3, dim=1))], dim=1)
    torch.testing.assert_close(wide64(x64), alone64, rtol=1e-12, atol=1e-12)


def test_channels_last_only_for_2d_convolutions_on_cuda():
    cnn2d = build_model("cnn2d", "standard", in_shape=(1, 8, 8), num_classes=3, width=4, depth=1)
    cnn1d = build_model("cnn1d", "standard", in_shape=(40,), num_classes=3, width=4)
    assert wants_channels_last(cnn2d, torch.device("cuda"))
    assert not wants_channels_last(cnn2d, torch.device("cpu"))
    assert not wants_channels_last(cnn1d, torch.device("cuda"))


def test_channels_last_layout_trains_like_the_default_layout():
    """What CUDA runs get: the same arithmetic in NHWC layout (checked here on the CPU)."""
    digits = load_dataset("digits")
    cfg = RunConfig(
        order="standard",
        seed=0,
        lr=0.01,
        dataset="digits",
        arch="cnn2d",
        width=4,
        depth=1,
        epochs=2,
        batch_size=100,
        p_drop=0.0,
    )

    def make():
        torch.manual_seed(0)
        return build_model(
            "cnn2d",
            "standard",
            in_shape=digits.in_shape,
            num_classes=10,
            width=4,
            depth=1,
            p_drop=0.0,
        )

    ref = train(make(), digits, cfg)
    nhwc = make().to(memory_format=torch.channels_last)
    got = train(nhwc, digits, cfg)
    assert nhwc.features[0].weight.weight.is_contiguous(memory_format=torch.channels_last)
    for a, b in zip(ref.epochs, got.epochs):
        assert b.train_loss == pytest.approx(a.train_loss, rel=1e-4)


def test_compile_needs_a_compiler_on_the_cpu(monkeypatch):
    import layerorder.experiment.validate as v

    monkeypatch.setattr(v, "_cxx_compiler", lambda: None)
    with pytest.raises(ConfigError, match="--compile on the CPU needs a C"):
        validate(make_config({"compile": True, "device": "cpu"}))
    validate(make_config({"compile": False, "device": "cpu"}))


@pytest.mark.slow
def test_compiled_training_equals_eager_training(data):
    from layerorder.experiment.validate import _cxx_compiler

    if _cxx_compiler() is None:
        pytest.skip("no C++ compiler for torch.compile on the CPU")
    cfg = _cfg(p_drop=0.2, epochs=2)  # dropout masks are drawn eagerly: the same in both
    eager = train(_model(data, cfg), data, cfg)
    model = _model(data, cfg)
    compiled = train(model, data, cfg, compile_model=True)
    assert compiled.status == "done"
    for a, b in zip(eager.epochs, compiled.epochs):
        assert b.train_loss == pytest.approx(a.train_loss, rel=1e-4)
        assert b.test_acc == pytest.approx(a.test_acc, abs=1.0)


@pytest.mark.slow
def test_compiled_runs_keep_torch_dropout_masks_stacked_or_not(data):
    """``nn.Dropout`` (a user's model; every dropout on CUDA) inside a compiled graph draws as in
    eager mode, so compiled sequential runs, compiled stacked runs and eager runs agree."""
    from layerorder.experiment.validate import _cxx_compiler

    if _cxx_compiler() is None:
        pytest.skip("no C++ compiler for torch.compile on the CPU")
    cfgs = [_cfg(arch="mlp", p_drop=0.3, epochs=3, seed=s) for s in (0, 1)]

    def plain(cfg):
        return with_torch_dropout(_model(data, cfg))

    eager = [train(plain(c), data, c) for c in cfgs]
    compiled = [train(plain(c), data, c, compile_model=True) for c in cfgs]
    stacked = train_stacked([plain(c) for c in cfgs], data, cfgs, compile_model=True)
    for e, c, s in zip(eager, compiled, stacked):
        for a, b, d in zip(e.epochs, c.epochs, s.epochs):
            assert b.train_loss == pytest.approx(a.train_loss, rel=1e-4)
            assert d.train_loss == pytest.approx(a.train_loss, rel=1e-4)
