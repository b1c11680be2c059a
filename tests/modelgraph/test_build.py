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
    # an input shape without its batch dimension: the shape tried, and that the batch comes first
    with pytest.raises(LintError, match=r"once on a random input of shape 3,16,16 to give its lazy"
                       r" layers \(LazyLinear 4\) their shapes: .*expected 4D.*; check"
                       r" --input-shape \(batch first"):
        lint_model(_prototype(), (3, 16, 16))
    report = lint_model(model, (2, 3, 16, 16))
    assert report.roles and model.training and model[1].num_batches_tracked == 0
    assert model[4].weight.shape == (10, 8 * 14 * 14)
    x = torch.randn(2, 3, 16, 16)
    assert fold_model(_prototype(), x).folded
    assert rewrite_model(_prototype(), to="conv-relu-bn", example_input=x).changes


class _Counting(nn.Module):
    """A conv, BN, ReLU and max-pool whose forward passes are counted."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.act = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.runs = 0

    def forward(self, x):
        self.runs += 1
        return self.pool(self.act(self.bn(self.conv(x))))


# fx calls forward once on proxies to trace it, then runs it once for the sizes
@pytest.mark.parametrize("mode,runs", [("hooks", 1), ("fx", 2)])
def test_lint_runs_the_model_once_and_sizes_every_stage_as_a_separate_run_does(mode, runs):
    """The hooks mode measures each stage's output size in the run that records the graph (it
    used to run the model a second time for them); fx traces, then measures in one run. Either
    way the sizes are those of ``module_output_sizes`` on its own run."""
    from layerorder.modelgraph.build import build_role_graph, module_output_sizes

    model, x = _Counting(), torch.randn(2, 3, 8, 8)
    report = lint_model(model, example=x, mode=mode)
    assert model.runs == runs
    assert "fewer activation evaluations per forward pass" in " ".join(
        f.message for f in report.findings if f.rule == "act-before-maxpool")
    expected = module_output_sizes(_Counting(), x)
    graph = build_role_graph(model, example=x, mode="hooks")
    sized = {n.path: n.numel for n in graph.nodes if n.source == "module"}
    assert sized == expected == {"conv": 1024, "bn": 1024, "act": 1024, "pool": 256}
