"""Rewrites compared with hand-built references made of the same modules."""

import copy
import re

import pytest
import torch
from torch import nn

from layerorder.lint import lint_model, save_model
from layerorder.modelgraph import LintError, rewrite_model, rewritten
from layerorder.modelgraph.census import as_dict
from layerorder.models import build_model
from tests.lint import lint_models as lm
from tests.modelgraph.test_plans import flat_conv_bn_relu, nested_conv_bn_relu


def _conv_bn_relu():
    torch.manual_seed(0)
    return lm.randomize_bn(
        nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
    )


@pytest.mark.parametrize("how", [{"swap": "norm,act"}, {"to": "conv-relu-bn"}])
@pytest.mark.parametrize("train", [False, True])
def test_conv_bn_relu_to_conv_relu_bn_matches_hand_built(how, train):
    model = _conv_bn_relu()
    x = torch.randn(4, 3, 6, 6)
    result = rewrite_model(model, example_input=x, **how)
    conv, bn, relu = copy.deepcopy(list(model))
    reference = nn.Sequential(conv, relu, bn)
    rewritten = result.model
    reference.train(train)
    rewritten.train(train)
    torch.testing.assert_close(rewritten(x), reference(x), rtol=0, atol=0)
    assert torch.equal(rewritten.get_submodule("0").weight, model[0].weight)  # weights kept
    assert len(result.changes) == 1 and result.checked_shape == (4, 3, 6, 6)
    assert as_dict(lint_model(rewritten).census) == {"conv→relu→bn": 1}


def test_original_model_is_untouched():
    model = _conv_bn_relu()
    before = copy.deepcopy(model.state_dict())
    result = rewrite_model(model, swap=("norm", "act"))
    assert result.model is not model
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])
    assert [type(m) for m in model] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]


def test_move_dropout_after_norm_matches_hand_built():
    model = lm.randomize_bn(lm.linear_relu_dropout_bn())
    result = rewrite_model(model, move_dropout_after_norm=True)
    (change,) = result.changes
    assert (change.place, change.before, change.after) == ("2", "drop→bn", "bn→drop")
    linear, relu, drop, bn = copy.deepcopy(list(model))
    reference = nn.Sequential(linear, relu, bn, drop).eval()
    x = torch.randn(5, 6)
    torch.testing.assert_close(result.model.eval()(x), reference(x), rtol=0, atol=0)
    assert not [f for f in lint_model(result.model).findings if f.rule == "dropout-before-norm"]


def test_move_dropout_goes_after_the_norm_and_its_activation():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(6, 8, bias=False), nn.Dropout(0.1), nn.BatchNorm1d(8), nn.ReLU()
    )
    (change,) = rewrite_model(model, move_dropout_after_norm=True).changes
    assert (change.before, change.after) == ("drop→bn→relu", "bn→relu→drop")


def test_dropout_reaching_bn_through_a_sum_is_skipped_with_reason():
    result = rewrite_model(lm.DenseDrop(), move_dropout_after_norm=True)
    assert result.changes == ()
    (skip,) = result.skipped
    assert skip.place == "dropout" and "residual sum" in skip.reason


def test_shared_relu_module_moves_per_call():
    model = lm.randomize_bn(lm.shared_relu_block())
    result = rewrite_model(model, swap="norm,act", example_input=torch.randn(2, 4, 5, 5))
    assert [c.place for c in result.changes] == ["bn1"]  # bn2 feeds the sum, not the relu
    m = copy.deepcopy(model).eval()
    x = torch.randn(2, 4, 5, 5)
    out = m.bn1(m.relu(m.conv1(x)))  # the swapped first call
    reference = m.relu(m.bn2(m.conv2(out)) + x)  # the second call is unchanged
    torch.testing.assert_close(result.model.eval()(x), reference, rtol=0, atol=0)


def test_to_preact_on_layerorder_cnn():
    model = build_model("cnn1d", "standard", in_shape=(1, 40), num_classes=10)
    result = rewrite_model(model, to="preact", example_input=torch.randn(2, 1, 40))
    assert [c.place for c in result.changes] == ["features.1.weight", "features.2.weight"]
    assert {(c.before, c.after) for c in result.changes} == {
        ("conv→bn→relu→drop", "bn→relu→conv→drop")
    }
    (skip,) = result.skipped  # the first block reads the raw input
    assert skip.place == "features.0.weight" and "first weight layer" in skip.reason
    counts = as_dict(lint_model(result.model).census)
    assert counts["bn→relu→conv"] == 2
    # the weight layers lost the BN right after them: their missing bias is pointed out
    assert any("features.1.weight has no bias" in n for n in result.notes)


def test_rewritten_layerorder_model_saves_and_loads(tmp_path):
    model = build_model("cnn1d", "standard", in_shape=(1, 40), num_classes=10).eval()
    result = rewrite_model(model, swap="norm,act")
    files = save_model(result.model, tmp_path / "m.pt", source="test")
    assert [f.name for f in files] == ["m.pt", "m.py"]
    loaded = torch.load(files[0], weights_only=False).eval()
    x = torch.randn(2, 1, 40)
    torch.testing.assert_close(loaded(x), result.model.eval()(x), rtol=0, atol=0)
    assert "def forward" in files[1].read_text()


def test_to_order_reference_forward():
    """conv-bn-relu-drop blocks rewritten to conv-relu-drop-bn equal a hand-built Sequential."""
    model = lm.randomize_bn(build_model("mlp", "standard", in_shape=(6,), num_classes=3, width=8))
    result = rewrite_model(model, to="linear-relu-drop-bn")
    assert len(result.changes) == 2
    m = copy.deepcopy(model)
    blocks = [nn.Sequential(b.weight, b.act, b.drop, b.norm) for b in m.features]
    reference = nn.Sequential(m.reshape, *blocks, m.head).eval()
    x = torch.randn(3, 6)
    torch.testing.assert_close(result.model.eval()(x), reference(x), rtol=0, atol=0)


def test_norm_cannot_cross_a_layer_that_changes_channels():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8)))
    result = rewrite_model(model, to="bn-linear")
    (skip,) = [s for s in result.skipped if s.place == "1.0"]
    assert "channels differ (3 -> 8)" in skip.reason


def test_blocks_whose_roles_do_not_match_are_skipped():
    model = build_model("cnn1d", "standard", in_shape=(1, 40), num_classes=10)
    result = rewrite_model(model, to="conv-relu-bn")  # the blocks also have a dropout
    assert len(result.changes) == 0 and len(result.skipped) == 3
    assert "needs act, norm" in result.skipped[0].reason


def test_roles_decide_and_the_model_keeps_its_kinds():
    model = build_model("cnn1d", "conv-bn-relu", in_shape=(1, 40), num_classes=10)
    result = rewrite_model(model, to="conv-gelu-gn")
    assert {(c.before, c.after) for c in result.changes} == {("conv→bn→relu", "conv→relu→bn")}


def test_fused_modules_are_skipped_with_reason():
    result = rewrite_model(lm.fused_norm_act(), swap="norm,act")
    (skip,) = result.skipped
    assert skip.reason == "BatchNormAct2d 1 is inside the fused module 1"


def test_rewrite_errors():
    with pytest.raises(LintError, match="needs a model torch.fx can trace"):
        rewrite_model(lm.branchy(), swap="norm,act")
    with pytest.raises(LintError, match="nothing to rewrite"):
        rewrite_model(_conv_bn_relu())
    with pytest.raises(LintError, match="did you mean 'norm'"):
        rewrite_model(_conv_bn_relu(), swap="nrom,act")
    with pytest.raises(LintError, match="does not work|failed"):
        rewrite_model(_conv_bn_relu(), swap="norm,act", example_input=torch.randn(1, 5, 4, 4))


BARE_INDEX = re.compile(r"(?<![\w.])\d+: \d+\b")  # '4: 5 would move across 4'


def test_refused_order_names_modules_by_their_path():
    x = torch.randn(2, 3, 16, 16)
    with pytest.raises(LintError, match="does not apply to any block") as caught:
        rewritten(nested_conv_bn_relu(), "bn-relu-conv", x)
    message = str(caught.value)
    assert "features.3: BatchNorm2d features.4 would move across Conv2d features.3" in message
    assert "features.0: first weight layer" in message
    assert not BARE_INDEX.search(message)


def test_refused_order_on_a_flat_sequential_reads_its_indices_as_modules():
    x = torch.randn(2, 3, 16, 16)
    with pytest.raises(LintError) as caught:
        rewritten(flat_conv_bn_relu(), "bn-relu-conv", x)
    message = str(caught.value)
    assert "4: BatchNorm2d 5 would move across Conv2d 4" in message
    assert not BARE_INDEX.search(message)
