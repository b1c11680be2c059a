"""Pool stages: the commutation facts the lint and the docs rely on, checked bit for bit where
they hold and shown to fail where they do not; blocks against plain PyTorch; models' shapes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from layerorder.activations import MONOTONE_ACTS
from layerorder.blocks import block, create_pool
from layerorder.blocks.registry import BlockError
from layerorder.models import ModelError, build_model, check_order_for_arch
from layerorder.order import OrderSpecError, parse_order


@pytest.fixture
def x():
    g = torch.Generator().manual_seed(0)
    return torch.randn(8, 6, 12, 12, generator=g) * 3


MONOTONE = {
    "relu": nn.ReLU(),
    "leakyrelu": nn.LeakyReLU(0.1),
    "tanh": nn.Tanh(),
    "relu6": nn.ReLU6(),
    "elu": nn.ELU(),
    "sigmoid": nn.Sigmoid(),
    "hardtanh": nn.Hardtanh(),
}
NOT_MONOTONE = {"gelu": nn.GELU(), "silu": nn.SiLU(), "mish": nn.Mish()}


@pytest.mark.parametrize("name", sorted(MONOTONE))
@pytest.mark.parametrize("window", [(2, 2), (3, 2), (3, 3)])
def test_max_pool_commutes_with_non_decreasing_activations_bit_for_bit(x, name, window):
    pool, act = nn.MaxPool2d(*window), MONOTONE[name]
    assert torch.equal(act(pool(x)), pool(act(x)))
    assert name in MONOTONE_ACTS


@pytest.mark.parametrize("name", sorted(NOT_MONOTONE))
def test_max_pool_does_not_commute_with_gelu_silu_mish(x, name):
    pool, act = nn.MaxPool2d(2), NOT_MONOTONE[name]
    assert not torch.allclose(act(pool(x)), pool(act(x)))
    assert name not in MONOTONE_ACTS


def _eval_bn(channels: int, gamma: torch.Tensor) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(channels)
    with torch.no_grad():
        bn.weight.copy_(gamma)
        bn.bias.copy_(torch.linspace(-1, 1, channels))
        bn.running_mean.copy_(torch.linspace(-0.5, 0.5, channels))
        bn.running_var.copy_(torch.linspace(0.5, 2.0, channels))
    return bn.eval()


def test_max_pool_commutes_with_eval_bn_where_the_scale_is_positive(x):
    gamma = torch.tensor([1.0, 0.5, 2.0, -1.0, 0.1, -0.3])
    bn, pool = _eval_bn(6, gamma), nn.MaxPool2d(2)
    a, b = bn(pool(x)), pool(bn(x))
    positive = gamma > 0
    assert torch.equal(a[:, positive], b[:, positive])
    assert not torch.allclose(a[:, ~positive], b[:, ~positive])  # there it picks the minimum


def test_avg_pool_commutes_with_eval_bn_but_not_with_relu(x):
    bn, pool = _eval_bn(6, torch.tensor([1.0, -0.5, 2.0, -1.0, 0.1, 3.0])), nn.AvgPool2d(2)
    torch.testing.assert_close(bn(pool(x)), pool(bn(x)))  # affine: equal up to rounding
    relu = nn.ReLU()
    assert not torch.allclose(relu(pool(x)), pool(relu(x)))


@pytest.mark.parametrize("kind", [nn.MaxPool2d, nn.AvgPool2d])
def test_in_training_a_pool_before_bn_changes_its_batch_statistics(x, kind):
    bn_a, bn_b, pool = nn.BatchNorm2d(6), nn.BatchNorm2d(6), kind(2)
    a, b = bn_a(pool(x)), pool(bn_b(x))
    assert not torch.allclose(a, b, atol=1e-3)
    if kind is nn.MaxPool2d:  # max-pooled maps have a higher mean than the map itself
        assert (bn_a.running_mean > bn_b.running_mean).all()


def test_pool_tokens_parse_and_format():
    assert parse_order("conv-bn-relu-pool").spec == "conv-bn-relu-maxpool"
    order = parse_order("conv-MaxPool3s2-bn-relu")
    assert order.spec == "conv-maxpool3s2-bn-relu"
    assert (order.pool.kind, order.pool.kernel, order.pool.stride) == ("maxpool", 3, 2)
    assert parse_order("conv-avgpool4").spec == "conv-avgpool4"
    assert parse_order("conv-maxpool2s2").spec == "conv-maxpool"
    assert parse_order("conv-bn-relu-maxpool").without_pool().spec == "conv-bn-relu"


@pytest.mark.parametrize(
    "spec,fragment",
    [
        ("conv-maxpool-avgpool", "2 pool stages"),
        ("conv-maxpool1", "kernel of 2-16"),
        ("conv-maxpool3s4", "stride of 1 up to the kernel"),
        ("conv-maxpol", "did you mean 'maxpool'"),
    ],
)
def test_bad_pool_tokens_name_the_problem(spec, fragment):
    with pytest.raises(OrderSpecError, match=fragment):
        parse_order(spec)


def test_block_matches_plain_pytorch(x):
    torch.manual_seed(1)
    blk = block("conv-bn-relu-maxpool", 6, 4, ndim=2).eval()
    plain = nn.Sequential(
        nn.Conv2d(6, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2)
    ).eval()
    plain.load_state_dict(
        {
            k.replace("weight.", "0.", 1).replace("norm.", "1.", 1): v
            for k, v in blk.state_dict().items()
        }
    )
    assert torch.equal(blk(x), plain(x))
    stem = block("conv-bn-relu-maxpool3s2", 6, 4, ndim=2)
    assert stem.pool.padding == 1 and stem(x).shape == (8, 4, 6, 6)  # ResNet's stem pool


def test_bias_rule_looks_through_the_pool():
    assert block("conv-maxpool-bn-relu", 3, 4, ndim=2).weight.bias is None
    assert block("conv-relu-maxpool-bn", 3, 4, ndim=2).weight.bias is not None
    assert block("conv-avgpool-gn-relu", 3, 4, ndim=2).weight.bias is not None


def test_a_linear_block_cannot_pool():
    with pytest.raises(BlockError, match="needs a convolution block"):
        block("linear-bn-relu-maxpool", 3, 4, ndim="linear")
    with pytest.raises(ModelError, match="mlp has no spatial dimensions"):
        check_order_for_arch("mlp", "linear-relu-maxpool")


def test_avg_pool_averages_real_elements_only():
    pool = create_pool("avgpool", 2, 3, 2)
    ones = torch.ones(1, 1, 4, 4)
    assert torch.equal(pool(ones), torch.ones(1, 1, 2, 2))  # padding is not counted


def _pools(model):
    return [m for m in model.modules() if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d))]


def test_cnn2d_pools_where_the_order_says():
    plain = build_model("cnn2d", "standard", in_shape=(1, 28, 28), num_classes=10)
    ordered = build_model("cnn2d", "conv-maxpool-bn-relu", in_shape=(1, 28, 28), num_classes=10)
    assert len(_pools(plain)) == len(_pools(ordered)) == 3
    blocks = [m for m in ordered.features]
    assert all(not hasattr(b, "pool") for b in blocks[0::2])  # first block of each stage
    assert all(
        list(dict(b.named_children())) == ["weight", "pool", "norm", "act"] for b in blocks[1::2]
    )
    assert ordered(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_cnn1d_pools_instead_of_striding():
    model = build_model("cnn1d", "conv-bn-relu-maxpool", in_shape=(1, 40), num_classes=10)
    strides = [b.weight.stride[0] for b in model.features]
    pools = [hasattr(b, "pool") for b in model.features]
    assert strides == [1, 1, 1] and pools == [False, True, True]
    assert model.head.in_features == 32 * 10  # 40 -> 20 -> 10
    assert model(torch.randn(2, 1, 40)).shape == (2, 10)
