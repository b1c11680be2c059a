import itertools

import pytest
import torch
from torch import nn

from layerorder.blocks import (
    Block,
    BlockError,
    ChannelLayerNorm,
    block,
    create_act,
    create_norm,
    get_activation,
)
from layerorder.order import parse_order, tokens

BASE = ["conv", "bn", "relu", "drop"]
NDIMS = [1, 2, 3, "linear"]


def all_specs():
    for r in range(1, 5):
        for subset in itertools.combinations(BASE, r):
            if "conv" in subset:
                for perm in itertools.permutations(subset):
                    yield "-".join(perm)


def sample(ndim, channels, batch=4):
    spatial = {1: (9,), 2: (6, 5), 3: (4, 3, 5), "linear": ()}[ndim]
    return torch.randn(batch, channels, *spatial)


@pytest.mark.parametrize("ndim", NDIMS)
def test_every_order_builds_runs_and_follows_the_bias_rule(ndim):
    specs = list(all_specs())
    assert len(specs) == 24 + 6 * 3 + 3 * 2 + 1  # permutations of every subset with conv
    for spec in specs:
        blk = block(spec, 3, 5, ndim=ndim, p_drop=0.2)
        x = sample(ndim, 3).requires_grad_()
        y = blk(x)
        assert y.shape[1] == 5, spec
        y.square().mean().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all(), spec
        conv = blk.weight_layer
        stages = spec.split("-")
        expect_bias = not (
            stages.index("conv") + 1 < len(stages) and stages[stages.index("conv") + 1] == "bn"
        )
        assert (conv.bias is not None) == expect_bias, spec
        assert isinstance(blk, Block) and blk.order.spec == spec


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_named_bias_cases(ndim):
    assert block("conv-relu-bn", 3, 8, ndim=ndim).weight.bias is not None
    assert block("conv-bn-relu", 3, 8, ndim=ndim).weight.bias is None
    assert block("conv-gn-relu", 3, 8, ndim=ndim).weight.bias is not None
    assert block("conv-in-relu", 3, 8, ndim=ndim).weight.bias is None
    assert block("conv-ln-relu", 3, 8, ndim=ndim).weight.bias is not None
    pre = block("bn-relu-conv", 3, 8, ndim=ndim)
    assert pre.norm.num_features == 3 and pre.weight.bias is not None
    post = block("conv-bn-relu", 3, 8, ndim=ndim)
    assert post.norm.num_features == 8


def test_explicit_bias_wins():
    assert block("conv-bn-relu", 3, 8, bias=True).weight.bias is not None
    assert block("conv-relu-bn", 3, 8, bias=False).weight.bias is None


def test_module_types_per_ndim():
    assert isinstance(block("conv-bn", 2, 4, ndim=1).weight, nn.Conv1d)
    assert isinstance(block("conv-bn", 2, 4, ndim=2).norm, nn.BatchNorm2d)
    assert isinstance(block("conv-bn", 2, 4, ndim=3).norm, nn.BatchNorm3d)
    assert isinstance(block("conv-bn", 2, 4, ndim="linear").weight, nn.Linear)
    assert isinstance(block("conv-dropch", 2, 4, ndim=2).drop, nn.Dropout2d)
    assert isinstance(block("conv-dropch", 2, 4, ndim=1).drop, nn.Dropout1d)
    assert isinstance(block("conv-dropch", 2, 4, ndim="linear").drop, nn.Dropout)
    assert isinstance(block("conv-ln", 2, 4, ndim=2).norm, ChannelLayerNorm)
    assert isinstance(block("conv-ln", 2, 4, ndim="linear").norm, nn.LayerNorm)
    assert block("conv-gn", 2, 12, ndim=2).norm.num_groups == 12
    assert block("conv-gn", 2, 64, ndim=2).norm.num_groups == 32
    assert block("conv-gn", 2, 12, norm_kwargs={"num_groups": 3}).norm.num_groups == 3
    assert block("conv-bn-relu-drop", 2, 4, p_drop=0.3).drop.p == 0.3


def test_children_follow_the_order():
    blk = block("bn-relu-conv-drop", 3, 4, ndim=2)
    assert [name for name, _ in blk.named_children()] == ["norm", "act", "weight", "drop"]
    assert "order=bn-relu-conv-drop" in repr(blk)


def test_block_equals_manual_composition():
    torch.manual_seed(0)
    blk = block("conv-relu-bn", 3, 6, ndim=2, kernel_size=3).train()
    x = torch.randn(5, 3, 7, 7)
    w, b = blk.weight.weight, blk.weight.bias
    ref = torch.nn.functional.conv2d(x, w, b, padding=1).relu()
    ref = torch.nn.functional.batch_norm(ref, None, None, blk.norm.weight, blk.norm.bias, True)
    torch.testing.assert_close(blk(x), ref, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("act", tokens("act"))
def test_every_activation_builds_and_inits(act):
    blk = block(f"conv-bn-{act}", 4, 6, ndim=2)
    assert blk(torch.randn(2, 4, 5, 5)).shape == (2, 6, 5, 5)
    assert get_activation(act).name == act


def test_registries_by_class():
    assert get_activation(nn.GELU).name == "gelu"
    assert isinstance(create_act(nn.SiLU), nn.SiLU)
    assert isinstance(create_norm(nn.BatchNorm2d, 2, 4), nn.BatchNorm2d)
    assert isinstance(create_norm("gn", 2, 8), nn.GroupNorm)
    assert create_act("leakyrelu", negative_slope=0.2).negative_slope == 0.2


def test_kaiming_init_matches_activation():
    torch.manual_seed(0)
    relu = block("conv-bn-relu", 64, 256, ndim=2, kernel_size=3).weight.weight
    tanh = block("conv-bn-tanh", 64, 256, ndim=2, kernel_size=3).weight.weight
    fan_in = 64 * 9
    assert relu.std().item() == pytest.approx((2 / fan_in) ** 0.5, rel=0.03)
    assert tanh.std().item() == pytest.approx((5 / 3) / fan_in**0.5, rel=0.03)


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"ndim": 4}, "ndim must be"),
        ({"ndim": "linear", "groups": 2}, "groups applies"),
        ({"p_drop": 1.0}, "dropout probability"),
        ({"groups": 2}, "must divide"),
    ],
)
def test_block_errors(kwargs, fragment):
    with pytest.raises(BlockError, match=fragment):
        block("conv-bn-relu-drop", 3, 8, **kwargs)


def test_instance_norm_on_linear_is_rejected():
    with pytest.raises(BlockError, match="instance norm"):
        block("conv-in-relu", 3, 8, ndim="linear")


def test_block_accepts_order_objects():
    order = parse_order("preact")
    assert block(order, 3, 4).order.label == "preact"
