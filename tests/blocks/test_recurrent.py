"""Recurrent layers with norm placements, against PyTorch's nn.LSTM and nn.GRU."""

import pytest
import torch
from torch import nn

from layerorder.blocks.recurrent import RecurrentLayer, from_torch
from layerorder.errors import BlockError
from layerorder.placements import RecurrentSpec, parse_recurrent, recurrent_specs


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU])
def test_no_norm_cells_equal_torchs(cls):
    torch.manual_seed(0)
    ref = cls(3, 8, batch_first=True)
    ours = from_torch(ref)
    x = torch.randn(4, 9, 3)
    torch.testing.assert_close(ours(x), ref(x)[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_layernorm_on_the_hidden_path_is_applied_at_every_step(cell):
    torch.manual_seed(1)
    layer = RecurrentLayer(RecurrentSpec(cell, "ln-hh"), 3, 6)
    assert layer.hh.bias is None and layer.ih.bias is not None
    seen = []
    layer.norm_hh.register_forward_hook(lambda m, a, out: seen.append(out.detach()))
    layer(torch.randn(2, 5, 3))
    assert len(seen) == 5  # one per step
    for out in seen:  # normalised per sample over the gates (weight 1, bias 0 at init)
        torch.testing.assert_close(out.mean(1), torch.zeros(2), atol=1e-5, rtol=0)


def test_bn_on_the_input_path_uses_batch_and_time_statistics():
    torch.manual_seed(2)
    layer = RecurrentLayer(parse_recurrent("lstm-bn-ih"), 3, 4).train()
    assert layer.ih.bias is None and layer.norm_hh is None
    x = torch.randn(6, 7, 3) * 3 + 2
    captured = []
    layer.norm_ih.register_forward_hook(lambda m, a, out: captured.append(out.detach()))
    layer(x)
    flat = captured[0].reshape(-1, 16)
    torch.testing.assert_close(flat.mean(0), torch.zeros(16), atol=1e-5, rtol=0)


def test_recurrent_specs_parse_and_bad_ones_suggest():
    for spec in recurrent_specs():
        assert parse_recurrent(spec).spec == spec
    with pytest.raises(BlockError, match="did you mean 'lstm-ln'"):
        parse_recurrent("lstm-lm")
