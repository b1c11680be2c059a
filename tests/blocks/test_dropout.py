"""layerorder's Dropout: nn.Dropout exactly without a stream; with one, the same distribution."""

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from layerorder.blocks import Dropout, DropoutStream, block, seed_dropout
from layerorder.models import build_model


def test_without_a_stream_it_is_nn_dropout_bit_for_bit():
    x = torch.randn(64, 16, 20)
    torch.manual_seed(5)
    ref = nn.Dropout(0.3)(x)
    torch.manual_seed(5)
    ours = Dropout(0.3)(x)
    torch.testing.assert_close(ours, ref, rtol=0, atol=0)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_drop_rate_and_scale(p):
    drop = Dropout(p)
    seed_dropout(drop, 0)
    out = drop(torch.ones(1_000_000))
    threshold = round(p * 65536)
    scale = 65536 / (65536 - threshold)
    values = torch.unique(out)
    torch.testing.assert_close(values, torch.tensor([0.0, scale]))
    dropped = int((out == 0).sum())
    test = stats.binomtest(dropped, out.numel(), threshold / 65536)
    assert test.pvalue > 1e-3, (dropped, test.pvalue)
    assert abs(threshold / 65536 - p) <= 0.5 / 65536
    # the expected output is the input: the mean of the mask is 1 within its 99.9% interval
    se = out.std().item() / out.numel() ** 0.5
    assert abs(out.mean().item() - 1.0) < 3.3 * se


def test_neighbouring_elements_are_independent():
    """The four 16-bit uniforms of one 64-bit word, and neighbouring words, decide independently."""
    stream = DropoutStream(1)
    keep = (stream.mask((400_000,), 0.5) > 0).numpy().reshape(-1, 4)
    for a, b in [(0, 1), (1, 2), (2, 3), (0, 3)]:
        table = np.histogram2d(keep[:, a], keep[:, b], bins=2)[0]
        assert stats.chi2_contingency(table).pvalue > 1e-3
    across = np.histogram2d(keep[:-1, 3], keep[1:, 0], bins=2)[0]
    assert stats.chi2_contingency(across).pvalue > 1e-3


def test_gradient_is_the_mask():
    drop = Dropout(0.4)
    seed_dropout(drop, 3)
    x = torch.randn(32, 8, requires_grad=True)
    out = drop(x)
    out.sum().backward()
    mask = out.detach() / x.detach()
    torch.testing.assert_close(x.grad, mask)


def test_same_seed_same_masks_other_seed_other_masks():
    def masks(seed):
        drop = Dropout(0.5)
        seed_dropout(drop, seed)
        return [drop(torch.ones(100)) for _ in range(3)]

    a, b, c = masks(7), masks(7), masks(8)
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    assert not torch.equal(a[0], a[1])  # the stream moves on between calls
    assert not torch.equal(a[0], c[0])


def test_eval_zero_p_dtype_and_inplace():
    drop = Dropout(0.5)
    seed_dropout(drop, 0)
    x = torch.randn(10, 10)
    drop.eval()
    assert drop(x) is x or torch.equal(drop(x), x)
    drop.train()
    zero = Dropout(0.0)
    seed_dropout(zero, 0)
    assert torch.equal(zero(x), x)
    assert drop(x.double()).dtype == torch.float64
    assert drop(x.bfloat16()).dtype == torch.bfloat16
    inplace = Dropout(0.5, inplace=True)
    seed_dropout(inplace, 0)
    y = x.clone()
    out = inplace(y)
    assert out.data_ptr() == y.data_ptr() and (out == 0).any()


def test_one_stream_per_model_shared_by_every_dropout():
    model = build_model("cnn1d", "standard", in_shape=(40,), num_classes=10, p_drop=0.1)
    drops = [m for m in model.modules() if isinstance(m, Dropout)]
    assert len(drops) == 3 and all(d.stream is None for d in drops)
    stream = seed_dropout(model, 4)
    assert all(d.stream is stream for d in drops)
    assert isinstance(block("conv-bn-relu-drop", 3, 4, ndim=2).drop, nn.Dropout)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_tensors_use_torch_dropout():
    drop = Dropout(0.5).cuda()
    seed_dropout(drop, 0)
    x = torch.ones(1000, device="cuda")
    torch.manual_seed(0)
    ref = nn.functional.dropout(x, 0.5, True)
    torch.manual_seed(0)
    torch.testing.assert_close(drop(x), ref, rtol=0, atol=0)


def test_p_next_to_one_drops_everything_and_tiny_p_nothing():
    stream = DropoutStream(0)
    assert torch.count_nonzero(stream.mask((1000,), 0.999999)) == 0
    assert torch.all(stream.mask((1000,), 1e-7) == 1.0)
