"""The stacked executor against sequential training, run by run."""

import dataclasses

import pytest
import torch

from layerorder.blocks.dropout import Dropout
from layerorder.data import load_dataset
from layerorder.experiment.configuration.config import RunConfig
from layerorder.experiment.training import stacking
from layerorder.experiment.training.loop import train
from layerorder.experiment.training.stacked import train_stacked
from layerorder.experiment.training.stacking import StackingError, stack_models
from layerorder.models import RESIDUAL_VARIANTS, build_model
from layerorder.order import PRESETS
from tests.helpers import with_torch_dropout

CASES = (
    [(a, o) for a in ("cnn1d", "cnn2d", "mlp") for o in PRESETS]
    + [("resnet", u) for u in RESIDUAL_VARIANTS]
    + [("cnn1d", "conv-maxpool-bn-relu"), ("cnn1d", "conv-bn-relu-avgpool")]  # pool stages
)


STEPS = 12  # one step an epoch: the whole one-cycle schedule, warm-up and decay

METRICS = ("train_loss", "train_acc", "test_loss", "test_acc", "lr")


def _metrics(result):
    return [tuple(getattr(e, m) for m in METRICS) for e in result.epochs]


@pytest.fixture(scope="module")
def data():
    """100 samples, 80 for training: with batch 80 every epoch is one step, so the per-epoch
    training loss is the per-step loss. Float32, as in real training."""
    return load_dataset("synthetic", num_samples=100)


def _pair(data, arch, order, p_drop, steps=STEPS, seeds=(0, 1), dtype=torch.float32, plain=False,
          mode="auto"):
    cfgs = [
        RunConfig(
            order=order,
            seed=s,
            lr=0.003,
            dataset="synthetic",
            arch=arch,
            width=8,
            depth=8 if arch == "resnet" else None,
            epochs=steps,
            batch_size=len(data.x_train),
            p_drop=p_drop,
        )
        for s in seeds
    ]

    def build(c):
        torch.manual_seed(c.seed)
        model = build_model(
            c.arch,
            c.order,
            in_shape=data.in_shape,
            num_classes=data.num_classes,
            width=c.width,
            depth=c.depth,
            p_drop=c.p_drop,
        )
        return with_torch_dropout(model.to(dtype)) if plain else model.to(dtype)

    if dtype != torch.float32:
        data = dataclasses.replace(
            data, x_train=data.x_train.to(dtype), x_test=data.x_test.to(dtype)
        )
    sequential_models = [build(c) for c in cfgs]
    sequential = [train(m, data, c) for m, c in zip(sequential_models, cfgs)]
    stacked_models = [build(c) for c in cfgs]
    stacked = train_stacked(stacked_models, data, cfgs, mode=mode)
    return sequential, stacked, sequential_models, stacked_models


@pytest.mark.parametrize("arch,order", CASES)
@pytest.mark.parametrize("p_drop", [0.0, 0.3])
def test_stacked_equals_sequential_step_by_step(data, arch, order, p_drop):
    """Float32, 12 steps of two stacked replicas: per-step losses within 1e-5 and final accuracy
    within 0.3 points (the acceptance bounds); on the CPU in fact bit for bit, metrics and
    trained weights alike (the default model's training: ``test_float32_final_accuracy...``)."""
    if arch == "resnet" and p_drop:
        pytest.skip("residual units have no dropout")
    sequential, stacked, seq_models, stk_models = _pair(data, arch, order, p_drop)
    for seq, stk in zip(sequential, stacked):
        assert stk.status == seq.status and len(stk.epochs) == len(seq.epochs) == STEPS
        for a, b in zip(seq.epochs, stk.epochs):  # one step per epoch
            assert b.train_loss == pytest.approx(a.train_loss, rel=1e-5)
        assert abs(seq.epochs[-1].test_acc - stk.epochs[-1].test_acc) <= 0.3
        assert _metrics(stk) == _metrics(seq)  # bit for bit
    for a, b in zip(seq_models, stk_models):  # unstacked weights and BN statistics
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        assert all(torch.equal(sa[n], sb[n]) for n in sa), [
            n for n in sa if not torch.equal(sa[n], sb[n])
        ]


def test_float64_runs_stack_too(data):
    sequential, stacked, _, _ = _pair(data, "cnn1d", "standard", 0.3, steps=5, dtype=torch.float64)
    assert [_metrics(r) for r in stacked] == [_metrics(r) for r in sequential]


@pytest.mark.parametrize(
    "arch,order,p_drop",
    [
        ("cnn1d", "standard", 0.3),
        ("cnn2d", "preact", 0.3),
        ("cnn2d", "conv-bn-relu-dropch", 0.3),
        ("mlp", "act-first", 0.3),
        ("resnet", "full-preact", 0.0),
    ],
)
def test_grouped_path_of_other_devices_equals_sequential_in_float64(
    data, monkeypatch, arch, order, p_drop
):
    """The path GPUs take (one grouped convolution, one batched matrix product for all
    replicas), driven on the CPU: it sums in another order, so in float64 the runs agree to
    rounding, not necessarily bit for bit; and a broken grouping would not agree at all."""
    grouped = _count_grouped_calls(monkeypatch)
    sequential, stacked, seq_models, stk_models = _pair(
        data, arch, order, p_drop, steps=10, dtype=torch.float64, mode="batched"
    )
    for seq, stk in zip(sequential, stacked):
        for a, b in zip(seq.epochs, stk.epochs):
            assert b.train_loss == pytest.approx(a.train_loss, rel=1e-9)
            assert b.test_loss == pytest.approx(a.test_loss, rel=1e-9)
    for a, b in zip(seq_models, stk_models):
        sa, sb = a.state_dict(), b.state_dict()
        for name in sa:
            torch.testing.assert_close(sb[name], sa[name], rtol=1e-8, atol=1e-10, msg=name)
    # the grouped calls really ran, all replicas in one call (whether their sums round alike
    # depends on the CPU's kernels, so the bits are not what shows it)
    assert grouped["bmm"] > 0
    if arch != "mlp":
        assert grouped["conv"] > 0


def _count_grouped_calls(monkeypatch) -> dict[str, int]:
    """Count the one-call-for-all-replicas kernels the stacked layers make: convolutions of a
    stacked layer through nn.ConvNd's own forward, and batched matrix products of 3 replicas."""
    counts = {"conv": 0, "bmm": 0}
    for plain in (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d):
        original = plain._conv_forward

        def conv_forward(self, input, weight, bias, _original=original):
            if isinstance(self, stacking._StackedConv) and self.replicas > 1:
                counts["conv"] += 1
            return _original(self, input, weight, bias)

        monkeypatch.setattr(plain, "_conv_forward", conv_forward)
    for name in ("bmm", "baddbmm"):
        original = getattr(torch, name)

        def batched(*args, _original=original, **kwargs):
            counts["bmm"] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(torch, name, batched)
    return counts


@pytest.mark.parametrize("conv", [torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d])
@pytest.mark.parametrize(
    "in_channels,bias,padding_mode",
    [(1, True, "zeros"), (3, True, "reflect"), (2, False, "circular")],
)
def test_stacked_convolution_matches_plain_ones_bit_for_bit(conv, in_channels, bias, padding_mode):
    k, size = 3, {torch.nn.Conv1d: (17,), torch.nn.Conv2d: (9, 8), torch.nn.Conv3d: (5, 6, 4)}[conv]
    torch.manual_seed(0)
    convs = [
        conv(in_channels, 4, 3, stride=2, padding=1, bias=bias, padding_mode=padding_mode)
        for _ in range(k)
    ]
    wide = stack_models([torch.nn.Sequential(c) for c in convs], [])
    xs = [torch.randn(6, in_channels, *size, requires_grad=True) for _ in range(k)]
    x_wide = torch.cat([x.detach() for x in xs], dim=1).requires_grad_()
    grads = [torch.randn_like(c(x)) for c, x in zip(convs, xs)]
    outs = [c(x) for c, x in zip(convs, xs)]
    out_wide = wide(x_wide)
    assert torch.equal(out_wide, torch.cat(outs, dim=1))
    torch.autograd.backward(outs, grads)
    out_wide.backward(torch.cat(grads, dim=1))
    assert torch.equal(x_wide.grad, torch.cat([x.grad for x in xs], dim=1))
    replicas = wide[0].weight_replicas
    assert all(torch.equal(r.grad, c.weight.grad) for r, c in zip(replicas, convs))
    if bias:
        assert all(torch.equal(r.grad, c.bias.grad) for r, c in zip(wide[0].bias_replicas, convs))


@pytest.mark.slow
def test_float32_final_accuracy_on_mnist1d_default_training():
    """Float32 training on the default data and model, its whole one-cycle schedule over 10
    epochs (the default's 20 squeezed into half): every epoch of every run is the same in both
    executors, bit for bit (and so within the 0.3-point bound)."""
    data = load_dataset("mnist1d")
    cfgs = [RunConfig(order="standard", seed=s, lr=0.01, epochs=10) for s in (0, 1)]

    def build(c):
        torch.manual_seed(c.seed)
        return build_model("cnn1d", c.order, in_shape=data.in_shape, num_classes=10)

    sequential = [train(build(c), data, c) for c in cfgs]
    stacked = train_stacked([build(c) for c in cfgs], data, cfgs)
    diffs = [
        abs(a.epochs[-1].test_acc - b.epochs[-1].test_acc) for a, b in zip(sequential, stacked)
    ]
    assert max(diffs) <= 0.3, diffs
    assert [_metrics(r) for r in stacked] == [_metrics(r) for r in sequential]
    assert all(s.epochs[-1].test_acc > 95 for s in stacked)  # 96-98 % at 10 epochs


def test_unsupported_layer_is_named():
    models = [torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LSTM(3, 3)) for _ in range(2)]
    with pytest.raises(StackingError, match="LSTM"):
        stack_models(models, [])


@pytest.mark.parametrize(
    "make,shape",
    [
        (lambda: torch.nn.Linear(3, 5), (7, 3)),
        (lambda: torch.nn.Linear(6, 2, bias=False), (7, 6)),
        (lambda: torch.nn.BatchNorm1d(3), (7, 3, 5)),
        (lambda: torch.nn.BatchNorm2d(5), (4, 5, 3, 3)),
        (lambda: torch.nn.GroupNorm(2, 6), (4, 6, 5)),
        (lambda: torch.nn.InstanceNorm1d(3, affine=True), (4, 3, 9)),
    ],
)
def test_stacked_layers_match_plain_ones_bit_for_bit(make, shape):
    k = 3
    torch.manual_seed(1)
    mods = [make() for _ in range(k)]
    for m in mods:  # distinct affine parameters per replica
        for p in m.parameters():
            torch.nn.init.normal_(p)
    wide = stack_models([torch.nn.Sequential(m) for m in mods], [])
    xs = [torch.randn(shape, requires_grad=True) for _ in range(k)]
    x_wide = torch.cat([x.detach() for x in xs], dim=1).requires_grad_()
    outs = [m(x) for m, x in zip(mods, xs)]
    grads = [torch.randn_like(o) for o in outs]
    out_wide = wide(x_wide)
    assert torch.equal(out_wide, torch.cat(outs, dim=1))
    torch.autograd.backward(outs, grads)
    out_wide.backward(torch.cat(grads, dim=1))
    assert torch.equal(x_wide.grad, torch.cat([x.grad for x in xs], dim=1))
    for name in wide[0].replica_names:
        wide_grads = [p.grad for p in getattr(wide[0], f"{name}_replicas")]
        assert all(torch.equal(g, getattr(m, name).grad) for g, m in zip(wide_grads, mods))
    for name, buf in wide[0].named_buffers():
        if name != "num_batches_tracked":
            assert torch.equal(buf, torch.cat([getattr(m, name) for m in mods]))


@pytest.mark.parametrize("arch", ["cnn1d", "cnn2d"])
def test_channel_dropout_stacks_with_the_runs_own_masks(data, arch):
    """Channel dropout (``dropch``): each replica draws from its run's own torch generator."""
    sequential, stacked, _, _ = _pair(data, arch, "conv-bn-relu-dropch", 0.3, steps=8)
    assert [_metrics(r) for r in stacked] == [_metrics(r) for r in sequential]


@pytest.mark.parametrize("arch", ["cnn1d", "mlp"])
def test_plain_element_dropout_stacks_with_the_runs_own_generator(data, arch):
    """``nn.Dropout`` (in a user's model, and every element dropout on CUDA) draws from torch's
    generator: each replica gets its run's own generator state, swapped in around its draw."""
    sequential, stacked, seq_models, _ = _pair(data, arch, "standard", 0.3, steps=8, plain=True)
    assert not any(isinstance(m, Dropout) for m in seq_models[0].modules())
    assert any(isinstance(m, torch.nn.Dropout) for m in seq_models[0].modules())
    assert [_metrics(r) for r in stacked] == [_metrics(r) for r in sequential]


def test_layout_names_the_memory_format():
    from layerorder.experiment.training.stacking import layout

    x = torch.randn(2, 3, 4, 5)
    assert layout(x) == torch.contiguous_format
    assert layout(x.contiguous(memory_format=torch.channels_last)) == torch.channels_last
    x5 = torch.randn(2, 3, 4, 5, 6).contiguous(memory_format=torch.channels_last_3d)
    assert layout(x5) == torch.channels_last_3d
    assert layout(torch.randn(2, 3, 4)) == torch.contiguous_format


def test_dropout_generator_states_are_those_of_the_tensors_device(monkeypatch):
    """CUDA has one generator per device: the swap reads and writes the tensor's device's one.
    (No GPU here: torch.cuda's two functions are stood in for, recording what they were given.)"""
    seen = []
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda d: seen.append(("get", d)) or d)
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda s, d: seen.append(("set", s, d)))
    gpu1 = torch.device("cuda", 1)
    assert stacking.rng_state(gpu1) == gpu1
    stacking.set_rng_state("state", gpu1)
    assert seen == [("get", gpu1), ("set", "state", gpu1)]
    cpu_state = stacking.rng_state(torch.device("cpu"))
    assert torch.equal(cpu_state, torch.get_rng_state())
    stacking.set_rng_state(cpu_state, torch.device("cpu"))
    assert len(seen) == 2  # the CPU generator is torch's own


@pytest.mark.parametrize("arch,order", CASES)
def test_batched_mode_agrees_with_sequential_per_step_in_float32(data, monkeypatch, arch, order):
    """The batched mode's contract in float32: over the first 5 steps each replica's training
    loss agrees with its run trained alone to float32 rounding (relative 1e-4), through grouped
    calls; the exact mode stays bit for bit (above)."""
    grouped = _count_grouped_calls(monkeypatch)
    p_drop = 0.0 if arch == "resnet" else 0.3
    sequential, stacked, _, _ = _pair(data, arch, order, p_drop, steps=5, mode="batched")
    for seq, stk in zip(sequential, stacked):
        for a, b in zip(seq.epochs, stk.epochs):
            assert b.train_loss == pytest.approx(a.train_loss, rel=1e-4)
    assert grouped["bmm"] > 0


def test_the_mode_is_stored_and_auto_is_exact_on_the_cpu(tmp_path):
    import layerorder

    for mode, expected in (("auto", "exact"), ("batched", "batched")):
        res = layerorder.compare(store=tmp_path / f"{mode}.db", dataset="synthetic", arch="mlp",
                                 width=8, epochs=1, orders=["standard"], seeds=2,
                                 executor="stacked", stack_mode=mode, progress=False)
        assert {r.provenance["stack_mode"] for r in res.runs} == {expected}
