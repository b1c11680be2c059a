"""Role graph (fx and hooks), role mapping and the pattern census on layerorder's own models."""

import pytest
import torch
from torch import nn

from layerorder.lint import lint_model
from layerorder.modelgraph import LintError, build_role_graph
from layerorder.modelgraph.census import as_dict, census
from layerorder.models import build_model
from tests.lint import lint_models as lm


def roles(graph):
    return [(n.role, n.kind, n.label) for n in graph.nodes]


def test_functional_calls_methods_and_operators_get_roles():
    graph = build_role_graph(lm.Functional())
    assert roles(graph) == [
        ("input", "input", "x"),
        ("weight", "conv", "conv1"),
        ("norm", "bn", "bn1"),
        ("act", "relu", "relu#1"),  # F.relu
        ("weight", "conv", "conv2"),
        ("add", "add", "add"),  # operator.add of two tensors
        ("act", "relu", "relu#2"),  # x.relu()
        ("concat", "cat", "cat"),
        ("pool", "maxpool", "max_pool2d"),
        ("reshape", "view", "view"),  # x.size(0) is metadata, not data
        ("weight", "linear", "fc"),
        ("output", "output", "output"),
    ]
    add = graph.nodes[5]
    assert [n.label for n in graph.pred_nodes(add)] == ["conv2", "relu#1"]


def test_named_gives_class_and_path_of_a_module_and_path_of_a_function():
    graph = build_role_graph(lm.Functional())
    assert [n.named for n in graph.nodes[1:4]] == ["Conv2d conv1", "BatchNorm2d bn1", "relu#1"]


def test_data_flow_not_registration_order():
    graph = build_role_graph(lm.OutOfOrder())
    assert [n.label for n in graph.nodes[1:-1]] == ["conv", "bn", "relu"]
    assert as_dict(census(graph)) == {"conv→bn→relu": 1}


def test_fused_norm_act_module_is_looked_inside():
    graph = build_role_graph(lm.fused_norm_act())
    assert roles(graph)[1:-1] == [
        ("weight", "conv", "0"),
        ("norm", "bn", "1"),
        ("act", "relu", "1.act"),  # its .drop is an Identity: transparent
    ]
    assert graph.nodes[2].fused == "1"
    assert lint_model(lm.fused_norm_act()).pattern_count("conv→bn→relu") == 1


def test_identity_and_zero_dropout_are_transparent():
    model = nn.Sequential(nn.Linear(4, 4), nn.Identity(), nn.Dropout(0.0), nn.ReLU())
    graph = build_role_graph(model)
    assert [n.role for n in graph.nodes] == ["input", "weight", "act", "output"]


@pytest.mark.parametrize(
    "arch, order, shape",
    [
        ("cnn1d", "standard", (1, 40)),
        ("cnn1d", "preact", (1, 40)),
        ("mlp", "drop-before-bn", (40,)),
        ("cnn2d", "act-first", (3, 8, 8)),
        ("resnet", "full-preact", (3, 16, 16)),
        ("resnet", "bn-after-add", (3, 16, 16)),
    ],
)
def test_hooks_mode_matches_fx(arch, order, shape):
    depth = 8 if arch == "resnet" else None
    model = build_model(arch, order, in_shape=shape, num_classes=3, depth=depth, width=8)
    fx_graph = build_role_graph(model)
    hooks_graph = build_role_graph(model, example=torch.randn(2, *shape), mode="hooks")
    assert (fx_graph.mode, hooks_graph.mode) == ("fx", "hooks")
    assert roles(fx_graph)[1:] == roles(hooks_graph)[1:]
    assert fx_graph.preds == hooks_graph.preds
    assert model.training  # the hooks run restored train mode


def test_fallback_to_hooks_when_tracing_fails_and_says_so():
    with pytest.raises(LintError, match="cannot trace .* give --input-shape"):
        lint_model(lm.branchy())
    report = lint_model(lm.branchy(), input_shape=(1, 3, 8, 8))
    assert report.mode == "hooks" and "could not trace" in report.mode_note
    assert {(f.rule, f.path) for f in report.findings} == {("redundant-bias", "conv")}
    assert report.pattern_count("conv→bn→relu") == 1
    with pytest.raises(LintError, match="cannot trace"):
        lint_model(lm.branchy(), input_shape=(1, 3, 8, 8), mode="fx")


def test_census_cnn1d_standard():
    model = build_model("cnn1d", "standard", in_shape=(1, 40), num_classes=10)
    assert as_dict(lint_model(model).census) == {"conv→bn→relu": 3, "bn→relu→drop": 3}


def test_census_cnn1d_act_first():
    model = build_model("cnn1d", "act-first", in_shape=(1, 40), num_classes=10)
    counts = as_dict(lint_model(model).census)
    # the last block's dropout feeds the flatten before the head, the others the next conv
    assert counts == {"conv→relu→bn": 3, "bn→drop→conv": 2, "bn→drop→flatten": 1}


def test_census_resnet_full_preact_counts_residual_sums():
    """resnet-8: stem conv, 3 full-preact units (2nd and 3rd with 1x1 projections), final bn-relu.

    bn→relu→conv: norm1→act1→conv1 (3), norm1→act1→projection (2), norm2→act2→conv2 (3) = 8.
    conv→add→bn(→relu): the stem conv and unit 1's conv2 reach unit 2's norm1 through the sum,
    units 2 and 3 send conv2 and the projection into the next sum: 6.
    conv→bn→relu: stem→norm1→act1 of unit 1, conv1→norm2→act2 in each unit = 4.
    """
    model = build_model("resnet", "full-preact", in_shape=(3, 16, 16), num_classes=10, depth=8)
    assert as_dict(lint_model(model).census) == {
        "bn→relu→conv": 8,
        "conv→add→bn": 6,
        "conv→add→bn→relu": 6,
        "conv→bn→relu": 4,
        "bn→relu→avgpool": 1,
    }


def test_census_resnet_original_counts_bn_before_add():
    model = build_model("resnet", "original", in_shape=(3, 16, 16), num_classes=10, depth=8)
    counts = as_dict(lint_model(model).census)
    # conv2→bn2→add→relu in 3 units, plus the 2 projection shortcuts (conv→bn→add→relu)
    assert counts["conv→bn→add→relu"] == 5
    assert counts["conv→bn→relu"] == 4  # stem + conv1 of each unit


def test_shared_module_calls_are_separate_nodes():
    graph = build_role_graph(lm.shared_relu_block())
    relus = [n for n in graph.nodes if n.role == "act"]
    assert [n.label for n in relus] == ["relu#1", "relu#2"] and relus[0].calls == 2
    assert as_dict(census(graph)) == {
        "conv→bn→relu": 1,
        "bn→relu→conv": 1,
        "conv→bn→add": 1,
        "conv→bn→add→relu": 1,
        "bn→add→relu": 1,
    }
