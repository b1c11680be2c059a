"""Norm placements around residual sublayers, against PyTorch's own Transformer layer."""

import pytest
import torch
from torch import nn

from layerorder.blocks.registry import BlockError
from layerorder.blocks.sublayer import Residual, TokenBatchNorm, from_torch_layer
from layerorder.placements import Placement, parse_placement, placement_specs


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_post_and_pre_ln_equal_torch_encoder_layer(norm_first, activation):
    torch.manual_seed(0)
    ref = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.1, activation=activation,
                                     batch_first=True, norm_first=norm_first)
    ours = from_torch_layer(ref)
    assert ours.attention.placement.spec == ("pre-ln" if norm_first else "post-ln")
    x = torch.randn(5, 7, 32)
    ref.eval(), ours.eval()
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-6)
    ref.train(), ours.train()  # dropout masks drawn in the same order from the same stream
    torch.manual_seed(1)
    expected = ref(x)
    torch.manual_seed(1)
    torch.testing.assert_close(ours(x), expected, rtol=1e-5, atol=1e-6)


def test_pre_ln_stack_with_final_norm_equals_torch_encoder():
    torch.manual_seed(2)
    layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True, norm_first=True)
    ref = nn.TransformerEncoder(layer, num_layers=3, norm=nn.LayerNorm(16),
                                enable_nested_tensor=False).eval()
    ours = nn.Sequential(*(from_torch_layer(m) for m in ref.layers), ref.norm).eval()
    x = torch.randn(4, 6, 16)
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-6)


def test_sandwich_and_no_norm_follow_their_formulas():
    torch.manual_seed(3)
    branch = nn.Linear(8, 8)
    x = torch.randn(3, 5, 8)
    sandwich = Residual(branch, Placement("sandwich", "ln"), 8, 0.0)
    expected = x + sandwich.norm_out(branch(sandwich.norm_in(x)))
    torch.testing.assert_close(sandwich(x), expected)
    plain = Residual(branch, Placement("none", "none"), 8, 0.0)
    assert plain.norm_in is None and plain.norm_out is None
    torch.testing.assert_close(plain(x), x + branch(x))
    rms = Residual(branch, parse_placement("pre-rmsnorm"), 8, 0.0)
    assert isinstance(rms.norm_in, nn.RMSNorm) and rms.norm_out is None


def test_token_batchnorm_normalises_each_feature_over_batch_and_positions():
    x = torch.randn(6, 5, 4) * torch.tensor([1.0, 2.0, 3.0, 4.0]) + 7
    y = TokenBatchNorm(4).train()(x)
    flat = x.reshape(-1, 4)
    expected = (flat - flat.mean(0)) / torch.sqrt(flat.var(0, unbiased=False) + 1e-5)
    torch.testing.assert_close(y.reshape(-1, 4), expected, rtol=1e-4, atol=1e-5)


def test_placement_specs_parse_and_bad_ones_suggest():
    for spec in placement_specs():
        assert parse_placement(spec).spec == spec
    assert parse_placement("preln").spec == "pre-ln"
    with pytest.raises(BlockError, match="did you mean 'pre-ln'"):
        parse_placement("pre-lm")
    with pytest.raises(BlockError, match="PLACEMENT-NORM"):
        parse_placement("conv-bn-relu")
