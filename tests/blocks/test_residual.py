"""Each residual unit against a hand-written functional reference with the same weights."""

import pytest
import torch
import torch.nn.functional as F

from layerorder.blocks import RESIDUAL_VARIANTS, BlockError, residual_unit


def bn(x, mod):
    return F.batch_norm(x, None, None, mod.weight, mod.bias, training=True, eps=mod.eps)


def conv(x, mod):
    return F.conv2d(x, mod.weight, None, stride=mod.stride, padding=mod.padding)


def reference(unit, x):
    """He et al. 2016, Fig. 4 (a)-(e), written out with torch.nn.functional."""
    v, c1, c2, n1, n2 = unit.variant, unit.conv1, unit.conv2, unit.norm1, unit.norm2
    sc = unit.shortcut
    if v == "original":
        s = bn(conv(x, sc[0]), sc[1]) if unit.projected else x
        return F.relu(bn(conv(F.relu(bn(conv(x, c1), n1)), c2), n2) + s)
    if v == "bn-after-add":
        s = bn(conv(x, sc[0]), sc[1]) if unit.projected else x
        return F.relu(bn(conv(F.relu(bn(conv(x, c1), n1)), c2) + s, n2))
    if v == "relu-before-add":
        s = bn(conv(x, sc[0]), sc[1]) if unit.projected else x
        return F.relu(bn(conv(F.relu(bn(conv(x, c1), n1)), c2), n2)) + s
    if v == "relu-only-preact":
        pre = F.relu(x)
        s = conv(pre, sc) if unit.projected else x
        return bn(conv(F.relu(bn(conv(pre, c1), n1)), c2), n2) + s
    if v == "full-preact":
        pre = F.relu(bn(x, n1))
        s = conv(pre, sc) if unit.projected else x
        return conv(F.relu(bn(conv(pre, c1), n2)), c2) + s
    raise AssertionError(v)


def randomise_norms(unit, gen):
    for m in unit.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data = torch.rand(m.num_features, generator=gen) + 0.5
            m.bias.data = torch.randn(m.num_features, generator=gen)


@pytest.mark.parametrize("variant", RESIDUAL_VARIANTS)
@pytest.mark.parametrize("in_ch,out_ch,stride", [(8, 8, 1), (8, 16, 2), (4, 8, 1)])
def test_unit_matches_reference(variant, in_ch, out_ch, stride):
    gen = torch.Generator().manual_seed(1)
    torch.manual_seed(0)
    unit = residual_unit(variant, in_ch, out_ch, stride=stride).double().train()
    randomise_norms(unit, gen)
    unit.double()
    x = torch.randn(6, in_ch, 10, 10, generator=gen, dtype=torch.float64)
    out = unit(x)
    assert out.shape == (6, out_ch, 10 // stride, 10 // stride)
    assert unit.projected == (in_ch != out_ch or stride != 1)
    torch.testing.assert_close(out, reference(unit, x), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("variant", RESIDUAL_VARIANTS)
def test_units_have_no_conv_bias_and_one_dim_works(variant):
    unit = residual_unit(variant, 4, 8, stride=2, ndim=1)
    assert all(m.bias is None for m in unit.modules() if isinstance(m, torch.nn.Conv1d))
    assert unit(torch.randn(3, 4, 12)).shape == (3, 8, 6)


def test_unknown_variant():
    with pytest.raises(BlockError, match="did you mean 'full-preact'"):
        residual_unit("full-preactt", 4, 4)
