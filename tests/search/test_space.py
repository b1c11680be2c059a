"""The order space: every arrangement the architecture accepts; merged spellings compute the
same function (checked by running them), unmerged ones do not."""

import pytest
import torch

from layerorder.errors import LayerorderError
from layerorder.models import build_model
from layerorder.order import parse_order
from layerorder.search import canonical, order_space


def outputs(spec: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = build_model("cnn2d", spec, in_shape=(1, 8, 8), num_classes=3, width=4, depth=1,
                        p_drop=0.3)
    torch.manual_seed(1)
    train = model.train()(x)  # dropout masks from the same random numbers
    return train, model.eval()(x)


def test_standard_block_space():
    space = order_space("standard", "cnn2d")
    assert space.specs[0] == "conv-bn-relu-drop"  # the base first
    assert len(space.candidates) == 18 and space.merged == 6  # 4! arrangements
    assert len(set(space.specs)) == 18
    first = order_space("standard", "cnn2d", weight_first=True)
    assert all(s.startswith("conv-") for s in first.specs) and len(first.candidates) == 4


@pytest.mark.parametrize("base", ["conv-bn-relu-drop", "conv-bn-relu-drop-maxpool"])
def test_merged_spellings_compute_the_same_function(base):
    x = torch.randn(4, 1, 8, 8)
    space = order_space(base, "cnn2d")
    assert space.merged > 0
    for candidate in space.candidates:
        ref_train, ref_eval = outputs(candidate.spec, x)
        for other in candidate.same_as:
            train, evaluated = outputs(other, x)
            assert torch.equal(train, ref_train), (candidate.spec, other)
            assert torch.equal(evaluated, ref_eval), (candidate.spec, other)


def test_unmerged_orders_differ():
    x = torch.randn(4, 1, 8, 8)
    space = order_space("conv-bn-relu-drop", "cnn2d")
    first = [outputs(s, x)[0] for s in space.specs[:4]]
    for i in range(len(first)):
        for j in range(i + 1, len(first)):
            assert not torch.allclose(first[i], first[j])


def test_only_exact_identities_merge():
    stages = parse_order("conv-gelu-maxpool").stages  # GELU is not monotone
    assert canonical(stages) == stages
    stages = parse_order("conv-gelu-drop").stages  # nor positively homogeneous
    assert canonical(stages) == stages
    assert canonical(parse_order("conv-relu-maxpool").stages) == parse_order(
        "conv-maxpool-relu").stages


def test_norm_and_activation_lists_and_limits():
    space = order_space("conv-bn-relu", "cnn2d", norms=("bn", "gn"), acts=("relu", "gelu"),
                        weight_first=True)
    # 4 norm/act combinations x 2 arrangements after the weight layer
    assert len(space.candidates) == 8
    assert {"conv-gn-gelu", "conv-gelu-bn"} <= set(space.specs)
    with pytest.raises(LayerorderError, match="more than 500"):
        order_space("conv-bn-relu-drop-maxpool", "cnn2d", norms=("bn", "gn", "ln"),
                    acts=("relu", "gelu", "silu"))


def test_learned_slopes_and_leaky_relu_are_not_merged():
    """PReLU may learn a negative slope (then max-pooling does not commute); LeakyReLU's slope
    rounds differently before and after a dropout mask."""
    assert order_space("conv-prelu-maxpool", "cnn2d", weight_first=True).merged == 0
    assert order_space("conv-leakyrelu-drop", "cnn2d", weight_first=True).merged == 0
    assert order_space("conv-relu-maxpool", "cnn2d", weight_first=True).merged == 1


def test_norm_and_act_lists_must_name_their_role():
    with pytest.raises(LayerorderError, match="'maxpool' is pool, not norm"):
        order_space("conv-bn-relu", "cnn2d", norms=("maxpool",))
    with pytest.raises(LayerorderError, match="has none; add one to --base"):
        order_space("conv-relu", "cnn2d", norms=("bn",))


def test_named_orders_are_the_space_of_their_architecture():
    from layerorder.placements import placement_specs
    from layerorder.search import named_space

    space = named_space("transformer")
    assert space.specs == tuple(placement_specs()) and space.merged == 0
    assert named_space("transformer", norms=("ln", "none")).specs == (
        "post-ln", "pre-ln", "sandwich-ln", "no-norm")
    assert len(named_space("resnet").specs) == 5
    with pytest.raises(LayerorderError, match="residual units fix their norms"):
        named_space("resnet", norms=("gn",))
    with pytest.raises(LayerorderError, match="has no norm 'gn'"):
        named_space("transformer", norms=("gn",))
