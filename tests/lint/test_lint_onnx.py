"""Lint of ONNX models: layerorder models exported by torch.onnx, read back from the file."""

import json
import logging
import warnings

import pytest
import torch

from layerorder.lint import lint_any, lint_model
from layerorder.models import build_model
from tests.helpers import run_cli

onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install 'layerorder[onnx]')")


def export(model, path, shape, **kwargs):
    """torch.onnx.export, quietly: the exporter logs every step."""
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (torch.randn(shape),), str(path), **kwargs)
    return str(path)


@pytest.fixture(scope="module")
def act_first(tmp_path_factory):
    """A cnn2d in conv-relu-bn-drop order, exported with the TorchScript exporter in training
    mode, which keeps BatchNorm and Dropout as nodes."""
    torch.manual_seed(0)
    model = build_model("cnn2d", "conv-relu-bn-drop", in_shape=(1, 8, 8), num_classes=4,
                        width=8, depth=2, p_drop=0.2)
    path = tmp_path_factory.mktemp("onnx") / "act_first.onnx"
    kwargs = {"dynamo": False, "training": torch.onnx.TrainingMode.TRAINING,
              "do_constant_folding": False}
    return model, export(model, path, (2, 1, 8, 8), **kwargs)


def test_exported_layerorder_model_reads_like_the_module(act_first):
    model, path = act_first
    report = lint_any(path)
    direct = lint_model(model)
    assert report.mode == "onnx"
    for pattern in ("conv→relu→bn", "bn→drop→conv", "bn→drop→maxpool"):
        assert report.pattern_count(pattern) == direct.pattern_count(pattern) > 0, pattern
    assert {f.rule for f in report.findings} == {f.rule for f in direct.findings}
    assert sorted(p.into or "" for p in report.folds) == sorted(p.into or "" for p in direct.folds)


def test_dynamo_export_without_optimisation_keeps_bn(tmp_path):
    torch.manual_seed(0)
    model = build_model("cnn2d", "conv-bn-relu", in_shape=(1, 8, 8), num_classes=4, width=8,
                        depth=2)
    kept = lint_any(export(model, tmp_path / "kept.onnx", (2, 1, 8, 8), dynamo=True,
                           optimize=False))
    assert kept.pattern_count("conv→bn→relu") == 4  # depth 2: two blocks per stage
    assert [p.into for p in kept.folds] == ["previous"] * 4
    assert kept.folds[0].weight == "features.0.weight"
    # layerorder drops the bias before BN and the export shows it: the same findings as the
    # module itself (the ReLU before each max-pool)
    rules = sorted(f.rule for f in kept.findings)
    assert rules == sorted(f.rule for f in lint_model(model).findings)
    assert rules == ["act-before-maxpool"] * 2
    folded = lint_any(export(model, tmp_path / "folded.onnx", (2, 1, 8, 8), dynamo=True))
    assert folded.pattern_count("conv→bn→relu") == 0 and folded.folds == ()


def test_residual_sum_and_constant_bias(tmp_path):
    """A residual sum of two data paths is an add; adding a constant is an affine step."""

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(4, 4, 3, padding=1)
            self.bn = torch.nn.BatchNorm2d(4)
            self.shift = torch.nn.Parameter(torch.ones(1, 4, 1, 1))

        def forward(self, x):
            return torch.relu(self.bn(self.conv(x)) + x) + self.shift

    report = lint_any(export(Block(), tmp_path / "block.onnx", (1, 4, 6, 6), dynamo=True,
                             optimize=False))
    assert report.pattern_count("conv→bn→add→relu") == 1
    assert {(f.rule, f.path) for f in report.findings} == {("redundant-bias", "conv")}
    assert dict(report.roles)["add"] == 1


def test_onnx_from_the_cli(capsys, act_first):
    _, path = act_first
    code, out, _ = run_cli(capsys, "lint", path, "-f", "json")
    assert code == 0
    data = json.loads(out)
    assert data["mode"] == "onnx" and data["census"]["conv→relu→bn"] == 4
    code, _, err = run_cli(capsys, "fold", path, "-i", "1,1,8,8")
    assert code == 2 and "is a ONNX model" not in err and "is an ONNX model" in err


def test_split_embedding_and_relu6(tmp_path):
    """Every output of a Split is data; a Gather from a constant table is an embedding lookup;
    Clip(0, 6) is ReLU6."""

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(10, 8)
            self.fc_a, self.fc_b = torch.nn.Linear(4, 4), torch.nn.Linear(4, 4)
            self.act = torch.nn.ReLU6()

        def forward(self, ids):
            a, b = self.emb(ids).chunk(2, dim=-1)
            return self.act(self.fc_a(a)) + self.fc_b(b)

    path = str(tmp_path / "split.onnx")
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Net().eval(), (torch.randint(0, 10, (2, 3)),), path, dynamo=True,
                          optimize=False)
    report = lint_any(path)
    roles = dict(report.roles)
    assert roles["weight"] == 2 and roles["add"] == 1, report.roles
    assert report.pattern_count("linear→relu6→add") == 1
    kinds = {n for n, _ in report.roles}
    assert "other" in kinds  # the embedding lookup


def test_unreadable_or_empty_files_exit_2(tmp_path, capsys):
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    code, _, err = run_cli(capsys, "lint", str(empty))
    assert code == 2 and "no ONNX layers" in err and "Traceback" not in err
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08\x07garbage that is not a protobuf \xff\xfe")
    code, _, err = run_cli(capsys, "lint", str(broken))
    assert code == 2 and "Traceback" not in err


def test_an_export_that_folded_bn_and_dropped_dropout_says_so(tmp_path):
    """The eval-mode dynamo export folds BatchNorm into the conv and leaves Dropout out: the
    dropout before the BN is invisible, and the report's note says so; the export that kept
    both (the training-mode one) has no such note."""
    torch.manual_seed(0)
    model = build_model("cnn2d", "conv-drop-bn-relu", in_shape=(1, 8, 8), num_classes=4,
                        width=8, depth=1, p_drop=0.2)
    assert "dropout-before-norm" in {f.rule for f in lint_model(model).findings}
    folded = lint_any(export(model, tmp_path / "folded.onnx", (2, 1, 8, 8), dynamo=True))
    assert "dropout-before-norm" not in {f.rule for f in folded.findings}
    assert "2 BatchNorms were folded into the layer before by the exporter" in folded.mode_note
    assert "no Dropout nodes" in folded.mode_note
    kept = lint_any(export(model, tmp_path / "kept.onnx", (2, 1, 8, 8), dynamo=False,
                           training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False))
    assert "dropout-before-norm" in {f.rule for f in kept.findings} and kept.mode_note == ""
