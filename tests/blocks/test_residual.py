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


@pytest.mark.parametrize("in_ch,out_ch,stride", [(8, 8, 1), (8, 16, 2)])
def test_original_unit_with_dropout_before_each_bn_matches_reference(in_ch, out_ch, stride):
    """p_drop puts dropout right before each BN of the branch (Li et al. 2019's placement):
    relu(BN(drop(W2 relu(BN(drop(W1 x))))) + s(x)), with the masks of the run's stream."""
    from layerorder.blocks import seed_dropout
    from layerorder.blocks.dropout import DropoutStream

    gen = torch.Generator().manual_seed(2)
    torch.manual_seed(0)
    unit = residual_unit("original", in_ch, out_ch, stride=stride, p_drop=0.5).double().train()
    randomise_norms(unit, gen)
    unit.double()
    x = torch.randn(6, in_ch, 10, 10, generator=gen, dtype=torch.float64)
    seed_dropout(unit, 7)
    out = unit(x)
    masks = DropoutStream(7)
    c1, c2, n1, n2, sc = unit.conv1, unit.conv2, unit.norm1, unit.norm2, unit.shortcut
    h = conv(x, c1)
    h = F.relu(bn(h * masks.mask(h.shape, 0.5, h.dtype), n1))
    h = conv(h, c2)
    s = bn(conv(x, sc[0]), sc[1]) if unit.projected else x
    expected = F.relu(bn(h * masks.mask(h.shape, 0.5, h.dtype), n2) + s)
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)
    # at test time dropout is the identity: the unit equals the one without dropout
    plain = residual_unit("original", in_ch, out_ch, stride=stride).double()
    plain.load_state_dict(unit.state_dict())
    unit.eval(), plain.eval()
    torch.testing.assert_close(unit(x), plain(x), rtol=0, atol=0)


@pytest.mark.parametrize("variant", [v for v in RESIDUAL_VARIANTS if v != "original"])
def test_dropout_in_the_branch_is_defined_for_the_original_unit_only(variant):
    with pytest.raises(BlockError, match="defined for the original unit"):
        residual_unit(variant, 8, 8, p_drop=0.2)
