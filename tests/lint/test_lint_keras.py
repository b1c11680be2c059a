"""Lint of Keras 3 models (PyTorch backend, no TensorFlow): the same census and rules."""

import json
from pathlib import Path

import pytest

from layerorder.lint import LintError, lint_any
from tests.helpers import run_cli


@pytest.fixture(scope="module", autouse=True)
def km():
    """``tests/lint/keras_models.py``, imported before this file's first test runs, not when it is
    collected: Keras takes seconds to import, in every test process that collects the file."""
    try:
        from tests.lint import keras_models
    except LintError:  # Keras 3 is not installed
        pytest.skip("Keras 3 is not installed (pip install 'layerorder[keras]')")
    return keras_models


MODELS = Path(__file__).with_name("keras_models.py")


def found(model):
    report = lint_any(model)
    return {(f.rule, f.path) for f in report.findings}, report


@pytest.mark.parametrize(
    "make, expected",
    [
        # the article's conv2d -> BN -> relu -> dropout: only the conv's bias is wasted
        ("article", {("redundant-bias", "conv")}),
        ("dropout_bn", {("dropout-before-norm", "drop"), ("act-before-norm", "bn")}),
        # the fused activation sits between: its bias moves the ReLU threshold, not redundant
        ("conv_activation_bn", {("act-before-norm", "bn")}),
        ("residual", {("act-before-maxpool", "relu")}),  # the ReLU after the sum
        ("nested", {("redundant-bias", "block/conv")}),
        ("unbuilt", {("redundant-bias", "conv")}),  # channel counts unknown: assumed to match
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_exact_findings(km, make, expected):
    assert found(getattr(km, make)())[0] == expected


def test_census_reads_keras_layer_orders(km):
    report = lint_any(km.article())
    assert report.mode == "keras" and report.pattern_count("conv→bn→relu") == 1
    assert report.pattern_count("bn→relu→drop") == 1
    (finding,) = report.findings
    assert finding.wasted_params == 8 and "BatchNormalization bn" in finding.message
    assert [(p.norm, p.into, p.weight) for p in report.folds] == [("bn", "previous", "conv")]
    report = lint_any(km.conv_activation_bn())
    assert report.pattern_count("conv→relu→bn") == 1
    assert "conv.activation (relu)" in report.findings[0].message


def test_residual_sum_and_pool(km):
    report = lint_any(km.residual())
    assert report.pattern_count("conv→bn→add→relu") == 1
    assert report.pattern_count("bn→add→relu→maxpool") == 1
    # the ReLU after the sum is read by the pool only: pooling first is the same output
    (finding,) = report.findings
    assert "1,536 fewer activation evaluations" in finding.message  # 16*16*8 - 8*8*8


def test_saved_keras_file_from_the_cli(km, capsys, tmp_path):
    path = tmp_path / "article.keras"
    km.article().save(path)
    code, out, _ = run_cli(capsys, "lint", str(path), "-f", "json")
    assert code == 0
    data = json.loads(out)
    assert data["mode"] == "keras" and data["census"]["conv→bn→relu"] == 1
    assert [f["rule"] for f in data["findings"]] == ["redundant-bias"]
    code, out, _ = run_cli(capsys, "lint", str(path))
    assert "mode: Keras layer graph" in out and "redundant-bias" in out


def test_factory_target_from_the_cli(capsys):
    code, out, _ = run_cli(capsys, "lint", f"{MODELS}:dropout_bn", "--fail-on", "warning")
    assert code == 1 and "dropout-before-norm" in out


def test_keras_refused_where_only_pytorch_works(km, capsys, tmp_path):
    path = tmp_path / "m.keras"
    km.article().save(path)
    code, _, err = run_cli(capsys, "rewrite", str(path), "--to", "conv-relu-bn")
    assert code == 2 and "is a Keras model" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "lint", f"{MODELS}:article", "--mode", "fx")
    assert code == 2 and "leave them out" in err
    code, _, err = run_cli(capsys, "lint", str(tmp_path / "missing.keras"))
    assert code == 2 and "does not exist" in err


def test_channels_first_norm_and_instance_norm(km):
    keras, layers = km.keras, km.layers
    model = keras.Sequential([
        keras.Input((3, 12, 12)),
        layers.Conv2D(8, 3, data_format="channels_first", name="conv"),
        layers.BatchNormalization(axis=1, name="bn"),
        layers.ReLU(name="relu"),
        layers.Conv2D(8, 3, data_format="channels_first", name="conv2"),
        layers.GroupNormalization(groups=-1, axis=1, name="inorm"),
    ])
    report = lint_any(model)
    bn = next(n for n in report.folds if n.norm == "bn")
    assert bn.into == "previous"  # 8 channels on axis 1, as the conv writes them
    # GroupNormalization(groups=-1) is an instance norm: it subtracts the conv's bias too
    assert {(f.rule, f.path) for f in report.findings} == {
        ("redundant-bias", "conv"), ("redundant-bias", "conv2")}
    assert report.pattern_count("conv→bn→relu") == 1


def test_subclassed_model_is_refused(km, capsys):
    keras, layers = km.keras, km.layers

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.a, self.b = layers.Dense(4), layers.Dense(4)

        def call(self, x):
            return self.a(x) + self.b(x)

    net = Net()
    net(km.keras.ops.ones((1, 4)))
    with pytest.raises(LintError, match="subclassed keras.Model"):
        lint_any(net)


def test_loading_keras_leaves_the_environment_alone(km, monkeypatch):
    import os

    from layerorder.modelgraph.keras_graph import keras_backend

    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.delitem(__import__("sys").modules, "keras")  # as if Keras were not imported
    with keras_backend():
        assert os.environ.get("KERAS_BACKEND") in ("torch", None)
    assert "KERAS_BACKEND" not in os.environ


def test_mobilenet_v2_folds_every_bn_after_a_depthwise_conv():
    import keras

    report = lint_any(keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3)))
    assert not [f for f in report.findings if f.rule == "bn-not-foldable"]
    depthwise = [p for p in report.folds if "depthwise" in p.weight]
    assert len(depthwise) == 17 and all(p.into == "previous" for p in depthwise)
    assert all(p.foldable for p in report.folds)


def test_vgg16_activation_inside_the_conv_before_each_max_pool():
    import keras

    report = lint_any(keras.applications.VGG16(weights=None, include_top=False,
                                               input_shape=(32, 32, 3)))
    pools = [f for f in report.findings if f.rule == "act-before-maxpool"]
    assert [f.related for f in pools] == [(f"block{i}_pool",) for i in range(1, 6)]
    assert pools[0].path == "block1_conv2.activation"
    assert "the relu inside Conv2D block1_conv2" in pools[0].message


def test_zero_padding_between_the_activation_and_the_pool(km):
    (pool,) = [f for f in lint_any(km.padded_pool("relu")).findings
               if f.rule == "act-before-maxpool"]
    assert "through zero padding" in pool.message
    assert not [f for f in lint_any(km.padded_pool("sigmoid")).findings
                if f.rule == "act-before-maxpool"]  # sigmoid(0) != 0: the padding does not commute


def test_a_relu_layers_threshold_and_an_elus_alpha_decide_what_commutes(km):
    """keras's ReLU gives ``negative_slope * (x - threshold)`` below its threshold, so with both
    set it moves 0 and zero padding no longer commutes with it; ELU with alpha < 0 falls, so a
    max-pool does not commute with it either (checked on numbers)."""
    import keras
    import numpy as np

    layers = km.layers

    def fires(act, pad: bool) -> bool:
        model = keras.Sequential([keras.Input((12, 12, 1)), layers.Conv2D(4, 3), act,
                                  *([layers.ZeroPadding2D(1)] if pad else []),
                                  layers.MaxPooling2D(2)])
        return any(f.rule == "act-before-maxpool" for f in lint_any(model).findings)

    assert fires(layers.ReLU(threshold=0.5), pad=True)  # slope 0: 0 still goes to 0
    assert not fires(layers.ReLU(threshold=0.5, negative_slope=0.1), pad=True)
    assert fires(layers.ReLU(threshold=0.5, negative_slope=0.1), pad=False)
    # the slope's part is subtracted after the clip at max_value: 0 still goes to -0.05
    capped = layers.ReLU(max_value=0.0, threshold=0.5, negative_slope=0.1)
    assert not fires(capped, pad=True) and float(np.asarray(capped(np.zeros(1)))[0]) != 0
    assert float(np.asarray(layers.ReLU(threshold=0.5, negative_slope=0.1)(np.zeros(1)))[0]) != 0
    assert fires(layers.ELU(), pad=False) and not fires(layers.ELU(alpha=-0.5), pad=False)
    y = np.asarray(layers.ELU(alpha=-0.5)(np.linspace(-3, 0, 7, dtype="float32")))
    assert (np.diff(y) < 0).any()


@pytest.mark.parametrize("kind", [lambda km: km.layers.PReLU, lambda km: km.MyPReLU],
                         ids=["PReLU", "subclass"])
def test_prelu_fires_only_while_its_learned_slopes_are_non_negative(km, kind):
    """As for a torch ``nn.PReLU`` (tests/lint/test_lint_pool.py): the slopes are read from the
    layer's alpha, a user's subclass included, since a learned slope can turn negative and
    max-pooling then no longer commutes with the activation."""
    import numpy as np

    model = km.prelu_pool(kind(km))
    assert ("act-before-maxpool", "prelu") in found(model)[0]
    prelu = model.get_layer("prelu")
    (alpha,) = prelu.get_weights()
    prelu.set_weights([np.where(np.arange(alpha.size).reshape(alpha.shape) == 3, -0.5, alpha)])
    assert ("act-before-maxpool", "prelu") not in found(model)[0]


def test_keras_applications_from_the_cli(tmp_path, capsys):
    """As a user types it: a factory file returning keras.applications models."""
    src = tmp_path / "apps.py"
    src.write_text(
        "import keras\n"
        "def vgg():\n"
        "    return keras.applications.VGG16(weights=None, include_top=False,"
        " input_shape=(32, 32, 3))\n"
        "def mobilenet():\n"
        "    return keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3))\n"
    )
    code, out, err = run_cli(capsys, "lint", f"{src}:vgg", "--format", "json")
    assert code == 0, err
    rules = [f["rule"] for f in json.loads(out)["findings"]]
    assert rules.count("act-before-maxpool") == 5
    code, out, err = run_cli(capsys, "lint", f"{src}:mobilenet", "--format", "json")
    assert code == 0, err
    assert "bn-not-foldable" not in [f["rule"] for f in json.loads(out)["findings"]]
