"""Lint over torchvision and timm models (optional extra ``zoo``; skipped without the packages).

No weights are downloaded: ``torchvision:NAME`` builds ``get_model(NAME, weights=None)``.
"""

import pytest
from torch import nn

from layerorder.lint import lint_model, load_target

SHAPE = (1, 3, 224, 224)  # used only when torch.fx cannot trace a model
HUGE = {"vit_h_14", "regnet_y_128gf", "regnet_y_32gf", "vit_l_16", "vit_l_32"}


@pytest.fixture(scope="module")
def torchvision():
    return pytest.importorskip(
        "torchvision", reason="torchvision is not installed (pip install 'layerorder[zoo]')"
    )


@pytest.mark.parametrize("name", ["vgg11_bn", "vgg16_bn"])
def test_vgg_bn_conv_biases_are_redundant(torchvision, name):
    model = load_target(f"torchvision:{name}").model
    report = lint_model(model, input_shape=SHAPE)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    biased = [f for f in report.findings if f.rule == "redundant-bias"]
    assert len(biased) == len(convs)
    assert sum(f.wasted_params for f in biased) == sum(c.out_channels for c in convs)
    assert report.pattern_count("conv→bn→relu") == len(convs)


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "resnext50_32x4d"])
def test_resnets_have_no_warnings(torchvision, name):
    report = lint_model(load_target(f"torchvision:{name}").model, input_shape=SHAPE)
    assert report.counts()["warning"] == 0, report.findings
    assert report.pattern_count("conv→bn→add→relu") > 0
    assert all(plan.into == "previous" for plan in report.folds)


def test_densenet_preactivation_is_counted(torchvision):
    model = load_target("torchvision:densenet121").model
    report = lint_model(model, input_shape=(1, 3, 64, 64))
    convs = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    # every conv except the stem reads bn -> relu (dense layers and transitions)
    assert report.pattern_count("bn→relu→conv") == convs - 1
    assert report.counts()["warning"] == 0


@pytest.mark.slow
def test_every_classification_model_lints(torchvision):
    names = [n for n in torchvision.models.list_models(module=torchvision.models) if n not in HUGE]
    for name in names:
        report = lint_model(load_target(f"torchvision:{name}").model, input_shape=SHAPE)
        assert report.census, name


def test_timm_fused_norm_act():
    timm = pytest.importorskip("timm", reason="timm is not installed (pip install timm)")
    layer = timm.layers.BatchNormAct2d(8, act_layer=nn.ReLU)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), layer)
    report = lint_model(model)
    assert report.pattern_count("conv→bn→relu") == 1
    assert [p.into for p in report.folds] == ["previous"]
    report = lint_model(load_target("timm:resnet18").model, input_shape=SHAPE)
    assert report.counts()["warning"] == 0


# before residual sums, bottlenecks and depthwise factorisations were exempt, no-nonlinearity
# reported 28 notes on timm's convnext_atto, 30 on efficientnet_b0, 33 on torchvision's
# mobilenet_v2, 19 on mobilenet_v3_small, 17 on convnext_tiny, 16 on efficientnet_b0
NO_FALSE_NOTES = {
    "torchvision": ["resnet18", "resnet50", "vgg11", "vgg11_bn", "mobilenet_v2",
                    "mobilenet_v3_small", "densenet121", "vit_b_16", "convnext_tiny",
                    "efficientnet_b0"],
    "timm": ["convnext_atto", "vit_tiny_patch16_224", "efficientnet_b0", "resnet18"],
}


@pytest.mark.parametrize(
    "target", [f"{zoo}:{name}" for zoo, names in NO_FALSE_NOTES.items() for name in names]
)
def test_no_missing_nonlinearity_in_zoo_models(target):
    """Residual sums and MobileNet-style linear bottlenecks are not missing nonlinearities."""
    zoo = target.split(":")[0]
    pytest.importorskip(zoo, reason=f"{zoo} is not installed (pip install 'layerorder[zoo]')")
    report = lint_model(load_target(target).model, input_shape=SHAPE)
    notes = [f.message for f in report.findings if f.rule == "no-nonlinearity"]
    assert notes == [], notes
