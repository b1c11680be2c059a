"""BatchNorm folding compared with conv∘bn computed by hand (eval mode)."""

import copy

import pytest
import torch
from torch import nn

from layerorder.lint import fold_model
from layerorder.models import build_model
from tests.lint import lint_models as lm


def _by_hand(bn):
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale.detach(), (bn.bias - bn.running_mean * scale).detach()


def test_fold_into_previous_conv_equals_conv_then_bn():
    torch.manual_seed(0)
    model = lm.randomize_bn(
        nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
    )
    x = torch.randn(2, 3, 7, 7)
    result = fold_model(model, x)
    conv = result.model[0]
    scale, shift = _by_hand(model[1])
    torch.testing.assert_close(conv.weight, model[0].weight * scale.view(-1, 1, 1, 1))
    torch.testing.assert_close(conv.bias, shift)
    assert isinstance(result.model[1], nn.Identity)
    reference = model.eval()
    torch.testing.assert_close(conv(x), model[1](model[0](x)), rtol=0, atol=1e-5)
    torch.testing.assert_close(result.model(x), reference(x), rtol=0, atol=1e-5)
    assert result.max_abs_diff <= 1e-5 and [p.norm for p in result.folded] == ["1"]


def test_fold_keeps_an_existing_bias():
    model = lm.randomize_bn(lm.conv_bias_bn())
    result = fold_model(model, torch.randn(2, 3, 5, 5))
    scale, shift = _by_hand(model[1])
    torch.testing.assert_close(result.model[0].bias, model[0].bias * scale + shift)


def test_fold_into_next_linear():
    model = lm.randomize_bn(lm.act_bn_linear())
    x = torch.randn(4, 6)
    result = fold_model(model, x)
    (plan,) = result.folded
    assert (plan.norm, plan.into, plan.weight) == ("2", "next", "3")
    scale, shift = _by_hand(model[2])
    head = model[3]
    torch.testing.assert_close(result.model[3].weight, head.weight * scale)
    torch.testing.assert_close(result.model[3].bias, head.bias + head.weight @ shift)
    torch.testing.assert_close(result.model(x), model.eval()(x), rtol=0, atol=1e-5)


@pytest.mark.parametrize("groups", [1, 2])
def test_fold_into_next_unpadded_grouped_conv(groups):
    torch.manual_seed(0)
    model = lm.randomize_bn(
        nn.Sequential(nn.ReLU(), nn.BatchNorm2d(4), nn.Conv2d(4, 6, 3, groups=groups))
    )
    x = torch.randn(2, 4, 6, 6)
    result = fold_model(model, x)
    assert [p.into for p in result.folded] == ["next"]
    torch.testing.assert_close(result.model(x), model.eval()(x), rtol=0, atol=1e-5)


def test_zero_padding_blocks_fold_into_next():
    result = fold_model(lm.randomize_bn(lm.act_bn_padded_conv()), torch.randn(1, 3, 5, 5))
    (plan,) = result.not_folded
    assert plan.into is None and "3 pads with zeros" in plan.reason


def test_fused_norm_act_keeps_its_activation():
    model = lm.randomize_bn(lm.fused_norm_act())
    x = torch.randn(2, 3, 5, 5)
    result = fold_model(model, x)
    assert len(result.folded) == 1
    assert isinstance(result.model[1], nn.Sequential) and isinstance(result.model[1][0], nn.ReLU)
    torch.testing.assert_close(result.model(x), model.eval()(x), rtol=0, atol=1e-5)


def test_unfoldable_bns_say_why():
    torch.manual_seed(0)
    no_stats = nn.Sequential(
        nn.Conv2d(3, 4, 1, bias=False), nn.BatchNorm2d(4, track_running_stats=False)
    )
    (plan,) = fold_model(no_stats, torch.randn(2, 3, 4, 4)).not_folded
    assert "no running statistics" in plan.reason
    bn = nn.BatchNorm2d(4)
    shared = nn.Sequential(nn.Conv2d(3, 4, 1, bias=False), bn, nn.Conv2d(4, 4, 1, bias=False), bn)
    result = fold_model(shared, torch.randn(2, 3, 4, 4))
    assert len(result.folded) == 0 and "called 2 times" in result.not_folded[0].reason
    seq = nn.Sequential(nn.Linear(5, 4, bias=False), nn.BatchNorm1d(4))  # on (N, L, C): not dim 1
    (plan,) = fold_model(seq, torch.randn(2, 4, 5)).not_folded
    assert "3-d tensor" in plan.reason


@pytest.mark.parametrize(
    "arch, order, shape, folded",
    [
        ("cnn2d", "standard", (3, 8, 8), 6),
        ("resnet", "original", (3, 8, 8), 9),
        ("resnet", "full-preact", (3, 8, 8), 3),
        ("mlp", "act-first", (12,), 2),
    ],
)
def test_layerorder_models_fold_and_match(arch, order, shape, folded):
    depth = 8 if arch == "resnet" else None
    model = build_model(arch, order, in_shape=shape, num_classes=3, depth=depth, width=8)
    lm.randomize_bn(model)
    before = copy.deepcopy(model.state_dict())
    result = fold_model(model, torch.randn(3, *shape))
    assert len(result.folded) == folded and result.max_abs_diff < 1e-5
    assert model.training and all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_fold_reasons_name_modules_by_class_and_path():
    """A bare Sequential index reads as a module: 'folds into Conv2d 0', not 'folds into 0'."""
    import torch.nn as tnn

    from layerorder import lint_model

    padded = tnn.Sequential(tnn.BatchNorm2d(3), tnn.Conv2d(3, 4, 3, padding=1))
    plain = tnn.Sequential(tnn.Conv2d(3, 4, 3), tnn.BatchNorm2d(4))
    assert lint_model(plain, (1, 3, 8, 8)).folds[0].reason == "folds into Conv2d 0 before it"
    (plan,) = lint_model(padded, (1, 3, 8, 8)).folds
    assert "Conv2d 1 pads with zeros" in plan.reason
