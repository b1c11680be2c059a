"""Skip reasons of the rewrite plans name each stage by its class and its path in the model."""

from collections import OrderedDict

import torch
from torch import nn

from layerorder.modelgraph import rewrite_model
from tests.lint import lint_models as lm


def nested_conv_bn_relu():
    """Two conv-bn-relu blocks under ``features``; the second conv changes channels 8 -> 16."""
    torch.manual_seed(0)
    features = nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 16, 3), nn.BatchNorm2d(16), nn.ReLU(),
    )  # fmt: skip
    parts = OrderedDict(
        features=features, pool=nn.AdaptiveAvgPool2d(1), flat=nn.Flatten(), head=nn.Linear(16, 10)
    )
    return nn.Sequential(parts)


def flat_conv_bn_relu():
    """The same blocks in one flat Sequential: every module path is a bare index."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3), nn.BatchNorm2d(16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10),
    )  # fmt: skip


class Fork(nn.Module):
    """The BatchNorm under ``block`` feeds both the relu and a residual sum."""

    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4))
        self.relu = nn.ReLU()

    def forward(self, x):
        y = self.block(x)
        return self.relu(y) + y


def _skip_at(result, place):
    (skip,) = [s for s in result.skipped if s.place == place]
    return skip


def test_norm_crossing_a_channel_change_names_both_modules_by_path():
    result = rewrite_model(nested_conv_bn_relu(), to="bn-relu-conv")
    skip = _skip_at(result, "features.3")
    assert skip.reason == (
        "BatchNorm2d features.4 would move across Conv2d features.3, whose input and output"
        " channels differ (8 -> 16)"
    )


def test_bare_sequential_indices_read_as_modules():
    result = rewrite_model(flat_conv_bn_relu(), to="bn-relu-conv")
    skip = _skip_at(result, "4")
    line = f"{skip.place}: {skip.reason}"
    assert line.startswith("4: BatchNorm2d 5 would move across Conv2d 4,")
    assert "4: 5" not in line


def test_block_that_does_not_match_names_its_stages_by_path():
    result = rewrite_model(nested_conv_bn_relu(), to="conv-relu-drop-bn")
    skip = _skip_at(result, "features.0")
    assert "its block has BatchNorm2d features.1, ReLU features.2 (act, norm)" in skip.reason
    assert "needs act, dropout, norm" in skip.reason


def test_dropout_reaching_bn_through_a_sum_names_the_bn():
    (skip,) = rewrite_model(lm.DenseDrop(), move_dropout_after_norm=True).skipped
    assert skip.place == "dropout"  # a functional call: named by its path alone
    assert skip.reason.startswith("it reaches BatchNorm2d bn2 through a branch or a residual sum")


def test_swap_off_a_fork_names_both_stages_by_path():
    (skip,) = rewrite_model(Fork(), swap="norm,act").skipped
    assert skip.place == "block.1"
    assert skip.reason == "BatchNorm2d block.1 and ReLU relu are not a simple chain"
