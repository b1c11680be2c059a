import pytest
import torch

from layerorder.models import RESIDUAL_VARIANTS, ModelError, build_model
from layerorder.order import PRESETS

ARCH_ORDERS = [(a, o) for a in ("mlp", "cnn1d", "cnn2d") for o in PRESETS] + [
    ("resnet", v) for v in RESIDUAL_VARIANTS
]
SHAPES = [(1, 40), (1, 28, 28), (1, 8, 8), (3, 8, 8)]


@pytest.mark.parametrize("arch,order", ARCH_ORDERS)
def test_build_forward_backward_all_shapes(arch, order):
    torch.manual_seed(0)
    for shape in SHAPES:
        kwargs = {"depth": 8} if arch == "resnet" else {}
        model = build_model(arch, order, in_shape=shape, num_classes=7, **kwargs)
        out = model(torch.randn(4, *shape))
        assert out.shape == (4, 7)
        out.sum().backward()


@pytest.mark.parametrize("arch", ["mlp", "cnn1d", "cnn2d"])
def test_preact_repr_says_final_norm(arch):
    model = build_model(arch, "preact", in_shape=(1, 40), num_classes=10)
    assert "final bn-relu" in repr(model)
    assert len(model.final) == 2
    std = build_model(arch, "standard", in_shape=(1, 40), num_classes=10)
    assert "final" not in std.note and isinstance(std.final, torch.nn.Identity)


@pytest.mark.parametrize("arch", ["mlp", "cnn1d", "cnn2d"])
def test_preact_without_final_norm_feeds_the_head_the_last_weight_layer(arch):
    """``final_norm=False``: the same weights (same seed), no final BN-ReLU; the output is the
    head applied to the pooled features, computed here by hand."""
    torch.manual_seed(0)
    with_final = build_model(arch, "bn-relu-conv", in_shape=(1, 40), num_classes=10)
    torch.manual_seed(0)
    without = build_model(arch, "bn-relu-conv", in_shape=(1, 40), num_classes=10,
                          final_norm=False)
    assert len(with_final.final) == 2 and isinstance(without.final, torch.nn.Identity)
    assert "without its final norm" in without.note
    without.eval()
    x = torch.randn(3, 1, 40)
    by_hand = without.head(without.pool(without.features(without.reshape(x))))
    assert torch.equal(without(x), by_hand)
    shared = {k for k in with_final.state_dict() if not k.startswith("final.")}
    assert shared == set(without.state_dict())
    std = build_model(arch, "conv-bn-relu", in_shape=(1, 40), num_classes=10, final_norm=False)
    assert isinstance(std.final, torch.nn.Identity) and std.note == ""


def test_cnn1d_shape_matches_issue():
    model = build_model("cnn1d", "standard", in_shape=(1, 40), num_classes=10)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv1d)]
    assert [c.out_channels for c in convs] == [32, 32, 32]
    assert [c.kernel_size[0] for c in convs] == [5, 5, 5]
    assert [c.stride[0] for c in convs] == [1, 2, 2]
    assert model.head.in_features == 32 * 10


def test_resnet_depth_and_presets():
    model = build_model("resnet", "full-preact", in_shape=(3, 32, 32), num_classes=10, depth=20)
    units = [m for m in model.modules() if type(m).__name__ == "ResidualUnit"]
    assert len(units) == 9
    assert build_model("resnet", "standard", in_shape=(3, 8, 8), num_classes=2, depth=8).label == (
        "original"
    )
    with pytest.raises(ModelError, match="6n\\+2"):
        build_model("resnet", "original", in_shape=(3, 8, 8), num_classes=2, depth=10)
    with pytest.raises(ModelError, match="residual unit"):
        build_model("resnet", "act-first", in_shape=(3, 8, 8), num_classes=2)


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"arch": "cnn3d"}, "unknown architecture 'cnn3d'; did you mean"),
        ({"width": 0}, "width must be a positive integer"),
        ({"depth": -1}, "depth must be"),
        ({"p_drop": 1.5}, "dropout probability"),
    ],
)
def test_model_errors(kwargs, fragment):
    args = {"arch": "cnn1d", "order": "standard", "in_shape": (1, 40), "num_classes": 10} | kwargs
    with pytest.raises(ModelError, match=fragment):
        build_model(**args)


def test_model_error_wraps_block_error():
    with pytest.raises(ModelError, match="instance norm"):
        build_model("mlp", "linear-in-relu", in_shape=(1, 40), num_classes=3)


@pytest.fixture(scope="module")
def embedded():
    from layerorder.data import load_dataset

    return {
        name: load_dataset(name, **opts)
        for name, opts in [
            ("mnist1d", {"num_samples": 500}),
            ("mnist5k", {}),
            ("digits", {}),
            ("synthetic", {}),
        ]
    }


@pytest.mark.parametrize("arch,order", ARCH_ORDERS)
def test_one_optimizer_step_on_each_embedded_dataset(arch, order, embedded):
    for name, data in embedded.items():
        torch.manual_seed(0)
        kwargs = {"depth": 8} if arch == "resnet" else {}
        model = build_model(
            arch, order, in_shape=data.in_shape, num_classes=data.num_classes, **kwargs
        )
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        before = [p.detach().clone() for p in model.parameters()]
        loss = torch.nn.functional.cross_entropy(model(data.x_train[:16]), data.y_train[:16])
        loss.backward()
        opt.step()
        assert torch.isfinite(loss), (arch, order, name)
        changed = sum(not torch.equal(b, p) for b, p in zip(before, model.parameters()))
        assert changed == len(before), (arch, order, name)


def test_resnet_dropout_at_places_dropout_in_the_branches_or_before_the_head():
    from layerorder.blocks.dropout import Dropout
    from layerorder.blocks.residual import ResidualUnit
    from layerorder.experiment.configuration.config import make_config

    kw = {"in_shape": (1, 40), "num_classes": 10, "depth": 14, "p_drop": 0.3}
    none = build_model("resnet", "original", **kw)
    branch = build_model("resnet", "original", dropout_at="branch", **kw)
    head = build_model("resnet", "original", dropout_at="head", **kw)
    count = lambda m: sum(isinstance(x, Dropout) for x in m.modules())  # noqa: E731
    units = [u for u in branch.modules() if isinstance(u, ResidualUnit)]
    assert count(none) == 0 and count(head) == 1 and count(branch) == 2 * len(units) == 12
    assert isinstance(head.head[0], Dropout) and head.head[0].p == 0.3
    assert "dropout 0.3 at the branch" in branch.note
    with pytest.raises(ModelError, match="dropout_at must be one of none, branch, head"):
        build_model("resnet", "original", dropout_at="everywhere", **kw)
    # the run key of a resnet without dropout is what it was before dropout_at existed
    plain = make_config({"arch": "resnet"}).runs()[0].to_dict()
    assert "p_drop" not in plain and "dropout_at" not in plain
    dropped = make_config({"arch": "resnet", "dropout_at": "head", "p_drop": 0.3}).runs()[0]
    assert dropped.to_dict()["dropout_at"] == "head" and dropped.to_dict()["p_drop"] == 0.3
