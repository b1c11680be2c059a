"""Stage probes against analytic values (10^5 samples) and against scipy."""

import numpy as np
import pytest
import scipy.stats
import torch
from torch import nn

from layerorder.probe import hook_count, record
from layerorder.probe.accumulate import Accumulator

N = 100_000


def normal(n=N, c=1, seed=0):
    return torch.randn(n, c, generator=torch.Generator().manual_seed(seed))


def test_bn_then_relu_is_half_positive():
    model = nn.Sequential(nn.BatchNorm1d(1), nn.ReLU()).train()
    with record(model) as rec:
        model(normal())
    relu = rec.stage("1")
    assert relu.kind == "ReLU"
    assert relu.frac_positive == pytest.approx(0.5, abs=0.02)
    assert relu.frac_zero == pytest.approx(0.5, abs=0.02)


def test_relu_then_bn_is_the_half_rectified_normal():
    model = nn.Sequential(nn.ReLU(), nn.BatchNorm1d(1)).train()
    with record(model) as rec:
        model(normal())
    bn = rec.stage("1")
    assert bn.frac_positive == pytest.approx(0.345, abs=0.02)
    assert bn.skewness == pytest.approx(1.64, abs=0.08)
    assert bn.kurtosis == pytest.approx(2.41, abs=0.2)
    relu = rec.stage("0")
    assert relu.mean == pytest.approx(0.399, abs=0.01)
    assert relu.std == pytest.approx(0.584, abs=0.01)


def test_moments_equal_scipy_over_several_batches():
    gen = torch.Generator().manual_seed(1)
    batches = [torch.randn(500, 3, generator=gen).exp() * 40 + 1000 for _ in range(7)]
    model = nn.Sequential(nn.Identity(), nn.ReLU())
    with record(model) as rec:
        for b in batches:
            model(b)
    s = rec.stage("1")
    data = torch.cat(batches).double().numpy().ravel()
    assert s.count == data.size
    assert s.mean == pytest.approx(data.mean(), rel=1e-9)
    assert s.std == pytest.approx(data.std(), rel=1e-7)
    assert s.skewness == pytest.approx(scipy.stats.skew(data), rel=1e-6)
    assert s.kurtosis == pytest.approx(scipy.stats.kurtosis(data), rel=1e-6)
    assert s.min == pytest.approx(data.min()) and s.max == pytest.approx(data.max())


def test_histogram_uses_shared_signed_bins():
    x = torch.tensor([[-10.0], [-5.9], [0.0], [0.05], [5.99], [7.0]])
    model = nn.Sequential(nn.Identity(), nn.Tanh())
    with record(model, bins=12, hist_range=(-6, 6)) as rec:
        model(x * 0 + x)  # identity path: record the tanh output too
    with record(nn.Sequential(nn.ReLU6()), bins=12, hist_range=(-6, 6)) as rec2:
        pass
    assert rec.edges == [float(v) for v in np.linspace(-6, 6, 13)]
    tanh = rec.stage("1")
    assert sum(tanh.hist) == 6
    raw = nn.Sequential(nn.Hardtanh(-100, 100))
    with record(raw, bins=12, hist_range=(-6, 6)) as rec3:
        raw(x)
    h = rec3.stage("0").hist
    assert h[0] == 2 and h[-1] == 2 and h[6] == 2  # tails clamp into the end bins
    assert rec2.stages == []


def test_sign_fractions_and_dead_units():
    lin = nn.Linear(4, 3)
    with torch.no_grad():
        lin.bias.copy_(torch.tensor([-100.0, 0.0, 0.0]))
    model = nn.Sequential(lin, nn.ReLU())
    with record(model) as rec:
        model(normal(2000, 4))
    relu = rec.stage("1")
    assert relu.units == 3 and relu.dead_units == 1
    assert relu.frac_negative == 0.0
    assert relu.frac_zero + relu.frac_positive == pytest.approx(1.0)


def test_conv_units_are_channels_and_dead_units_counted_per_channel():
    conv = nn.Conv2d(2, 5, 3, padding=1)
    with torch.no_grad():
        conv.bias[2] = -1000.0
    model = nn.Sequential(conv, nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.5))
    with record(model) as rec:
        model(torch.randn(8, 2, 6, 6))
    assert [s.kind for s in rec.stages] == ["Conv2d", "ReLU", "MaxPool2d", "Dropout"]
    assert rec.stage("1").units == 5 and rec.stage("1").dead_units == 1
    assert rec.stage("3").dead_units == 1


def test_hooks_are_removed_even_on_error():
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Sequential(nn.Dropout(), nn.Linear(3, 1)))
    assert hook_count(model) == 0
    with record(model):
        assert hook_count(model) > 0
    assert hook_count(model) == 0
    with pytest.raises(RuntimeError):
        with record(model):
            raise RuntimeError("boom")
    assert hook_count(model) == 0


def test_every_records_a_subset_of_calls():
    model = nn.Sequential(nn.ReLU())
    with record(model, every=2) as rec:
        for _ in range(4):
            model(torch.ones(10, 1))
    assert rec.stage("0").count == 20  # calls 1 and 3 of 4


def test_paramless_stages_of_layerorder_models_are_hooked():
    from layerorder.models import build_model

    model = build_model("cnn1d", "standard", in_shape=(1, 40), num_classes=10)
    with record(model) as rec:
        model(torch.randn(16, 1, 40))
    kinds = [s.kind for s in rec.stages]
    assert kinds.count("ReLU") == 3 and kinds.count("Dropout") == 3
    assert kinds.count("BatchNorm1d") == 3 and kinds[-1] == "Linear"
    assert hook_count(model) == 0


def test_a_module_reused_at_two_widths_is_recorded():
    acc = Accumulator("relu", "ReLU", 10, (-6, 6))
    acc.add(torch.randn(4, 8))
    acc.add(torch.randn(4, 16).abs())
    stats = acc.finish()
    assert stats.units == 24 and stats.count == 96
    shared = nn.ReLU()
    model = nn.Sequential(nn.Linear(3, 8), shared, nn.Linear(8, 16), shared)
    with record(model) as rec:
        model(torch.randn(5, 3))
    assert rec.stage("1").units == 24


def test_unit_skewness_is_the_median_of_scipys_per_channel_skewness_and_bn_keeps_it():
    gen = torch.Generator().manual_seed(2)
    # channels of different means, scales and shapes, over several batches of (N, C, L)
    shape = torch.linspace(0.3, 1.5, 6).view(1, 6, 1)
    batches = [(torch.randn(40, 6, 9, generator=gen) * shape).exp() * 3 + torch.arange(6.0)
               .view(1, 6, 1) * 5 for _ in range(4)]
    every = torch.cat(batches).movedim(1, 0).reshape(6, -1)
    bn = nn.BatchNorm1d(6).eval()  # statistics of each channel: it aligns the channels
    bn.running_mean.copy_(every.mean(1))
    bn.running_var.copy_(every.var(1))
    model = nn.Sequential(nn.ReLU(), bn)  # the data are positive: ReLU passes them unchanged
    with record(model) as rec:
        for b in batches:
            model(b)
    data = torch.cat(batches).movedim(1, 0).reshape(6, -1).double().numpy()
    expected = float(np.median(scipy.stats.skew(data, axis=1)))
    assert rec.stage("0").unit_skewness == pytest.approx(expected, rel=1e-5)
    # eval-mode BN is an affine map per channel: each channel keeps its skewness, while the
    # whole layer's skewness (channels of different means mixed) changes
    assert rec.stage("1").unit_skewness == pytest.approx(expected, rel=1e-4)
    assert abs(rec.stage("1").skewness - rec.stage("0").skewness) > 0.1


def test_stages_come_in_forward_order_not_registration_order():
    class Unit(nn.Module):  # registers both convs before the norms, as residual units do
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv1d(2, 2, 1), nn.Conv1d(2, 2, 1)
            self.norm1, self.norm2 = nn.BatchNorm1d(2), nn.BatchNorm1d(2)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.norm2(self.conv2(self.act(self.norm1(self.conv1(x)))))

    model = Unit()
    with record(model) as rec:
        model(torch.randn(4, 2, 3))
    assert [s.name for s in rec.stages] == ["conv1", "norm1", "act", "conv2", "norm2"]


def test_transformer_sublayers_record_the_residual_stream():
    from layerorder.models import build_model

    torch.manual_seed(0)
    model = build_model("transformer", "pre-ln", in_shape=(1, 12), num_classes=3, width=8,
                        depth=2, heads=2)
    x = torch.randn(5, 1, 12)
    seen = {}
    handle = model.features[1].attention.register_forward_hook(
        lambda m, a, out: seen.setdefault("stream", out.detach()))
    with record(model) as rec:
        model(x)
    handle.remove()
    names = [s.name for s in rec.stages]
    streams = [n for n in names if n.endswith((".attention", ".mlp"))]
    assert streams == ["features.0.attention", "features.0.mlp", "features.1.attention",
                       "features.1.mlp"]
    assert names.index("features.0.attention.norm_in") < names.index("features.0.attention")
    stream = rec.stage("features.1.attention")
    assert stream.kind == "Residual"
    assert stream.std == pytest.approx(seen["stream"].double().std(unbiased=False).item(),
                                       rel=1e-5)
