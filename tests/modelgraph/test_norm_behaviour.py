"""Norms found by what they compute: hand-written RMSNorm and LayerNorm classes against their
formulas, and modules that look alike but are not norms."""

import torch
from torch import nn

from layerorder.modelgraph.roles import module_entry, norm_by_behaviour


class RMS(nn.Module):  # LLaMA's: x * rsqrt(mean(x^2) + eps) * w
    def __init__(self, d, eps=1e-6, offset=0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(d) + 0.5 - offset)
        self.variance_epsilon, self.offset = eps, offset

    def forward(self, x):
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.variance_epsilon)
        return x * (self.offset + self.weight)


class LN(nn.Module):  # a hand-written LayerNorm with an affine
    def __init__(self, d):
        super().__init__()
        self.weight, self.bias = nn.Parameter(torch.rand(d) + 0.5), nn.Parameter(torch.randn(d))

    def forward(self, x):
        mu, var = x.mean(-1, keepdim=True), x.var(-1, keepdim=True, unbiased=False)
        return (x - mu) / torch.sqrt(var + 1e-5) * self.weight + self.bias


class Scale(nn.Module):  # LayerScale: a per-channel weight, no normalisation
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(d) + 0.5)

    def forward(self, x):
        return x * self.weight


class Centre(nn.Module):  # subtracts the mean only: not a LayerNorm
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return (x - x.mean(-1, keepdim=True)) * self.weight


def test_rms_and_layer_norms_are_found_by_their_output():
    assert norm_by_behaviour(RMS(16)) == "rms"
    assert norm_by_behaviour(RMS(16, eps=1e-5, offset=1.0)) == "rms"  # Gemma's (1 + w)
    assert norm_by_behaviour(LN(16)) == "ln"
    assert module_entry(RMS(8)) == ("norm", "rms") and module_entry(LN(8)) == ("norm", "ln")


def test_lookalikes_are_not_norms():
    for module in (Scale(16), Centre(16), nn.Linear(16, 16), nn.Embedding(10, 16)):
        assert norm_by_behaviour(module) == ""
    assert module_entry(Scale(16)) is None


def test_a_norm_found_by_behaviour_is_a_leaf_norm_in_the_graph():
    from layerorder.lint import lint_model

    model = nn.Sequential(nn.Linear(8, 8), RMS(8), nn.ReLU(), nn.Linear(8, 2))
    report = lint_model(model, input_shape=(2, 8))
    assert dict(report.roles)["norm"] == 1
    assert report.pattern_count("linear→rms→relu") == 1


def test_norms_in_half_precision_are_found():
    for dtype in (torch.float16, torch.bfloat16):
        assert norm_by_behaviour(RMS(64).to(dtype)) == "rms", dtype
        assert norm_by_behaviour(LN(64).to(dtype)) == "ln", dtype
        assert norm_by_behaviour(Scale(64).to(dtype)) == "", dtype


class Tracking(RMS):
    """A norm that counts its calls in a buffer while training."""

    def __init__(self, d):
        super().__init__(d)
        self.register_buffer("calls", torch.zeros(()))

    def forward(self, x):
        if self.training:
            self.calls += 1
        return super().forward(x)


def test_measuring_leaves_the_module_as_it_was():
    module, fired = Tracking(16), []
    module.register_forward_hook(lambda *args: fired.append(1))
    assert module.training
    assert norm_by_behaviour(module) == "rms"
    assert module.training and float(module.calls) == 0 and fired == []
