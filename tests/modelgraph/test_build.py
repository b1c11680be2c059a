"""Building a model's role graph (``layerorder.modelgraph.build``): lazy layers are given their
shapes by the example input before anything reads their parameters."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from layerorder import lint_model
from layerorder.lint import fold_model, rewrite_model
from layerorder.modelgraph.errors import LintError


def _prototype():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                         nn.LazyLinear(10))


def test_lazy_layers_get_their_shapes_from_the_example_before_anything_reads_them():
    """A prototype's ``Flatten`` -> ``LazyLinear`` lints, folds and rewrites once an input is
    given (eval mode, no gradient, its flags restored); without one, one line asks for it."""
    with pytest.raises(LintError, match=r"lazy layers \(LazyLinear 4\).*give --input-shape"):
        lint_model(_prototype())
    model = _prototype().train()
    report = lint_model(model, (2, 3, 16, 16))
    assert report.roles and model.training and model[1].num_batches_tracked == 0
    assert model[4].weight.shape == (10, 8 * 14 * 14)
    x = torch.randn(2, 3, 16, 16)
    assert fold_model(_prototype(), x).folded
    assert rewrite_model(_prototype(), to="conv-relu-bn", example_input=x).changes
