"""``layerorder lint``, ``rewrite`` and ``fold`` through the CLI, in-process."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers import run_cli
from tests.lint import lint_models as lm

MODELS = Path(__file__).with_name("lint_models.py")


def target(name: str) -> str:
    return f"{MODELS}:{name}"


def test_lint_text_groups_findings_by_rule(capsys):
    code, out, _ = run_cli(capsys, "lint", target("linear_relu_dropout_bn"))
    assert code == 0
    assert "dropout-before-norm" in out and "act-before-norm" in out
    assert "2: Dropout (p=0.5) reaches BatchNorm 3" in out
    assert "Li, Chen, Hu, Yang 2019" in out and "mode: torch.fx trace" in out
    assert "1 warning, 1 info" in out


def test_lint_json(capsys):
    code, out, _ = run_cli(capsys, "lint", "tests.lint.lint_models:conv_bias_bn", "-f", "json")
    assert code == 0
    data = json.loads(out)
    assert data["census"] == {"conv→bn→relu": 1}
    assert data["counts"] == {"info": 0, "warning": 1, "error": 0}
    (finding,) = data["findings"]
    assert finding["rule"] == "redundant-bias" and finding["wasted_params"] == 8
    assert data["folds"][0]["into"] == "previous" and data["mode"] == "fx"


def test_lint_sarif_structure(capsys):
    code, out, _ = run_cli(capsys, "lint", target("conv_bias_relu_bn"), "--format", "sarif")
    assert code == 0
    log = json.loads(out)
    assert log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert run["tool"]["driver"]["name"] == "layerorder"
    assert {"redundant-bias", "dropout-before-norm"} <= {r["id"] for r in rules}
    (result,) = run["results"]
    assert result["ruleId"] == "act-before-norm" and result["level"] == "note"
    assert rules[result["ruleIndex"]]["id"] == "act-before-norm"
    assert result["message"]["text"]
    (location,) = result["locations"]
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "2"
    assert location["physicalLocation"]["artifactLocation"]["uri"] == str(MODELS)


@pytest.mark.parametrize(
    "name, fail_on, expected",
    [
        ("conv_bias_bn", "warning", 1),  # one warning
        ("conv_bias_bn", "error", 0),
        ("conv_bias_relu_bn", "warning", 0),  # one info
        ("conv_bias_relu_bn", "info", 1),
        ("conv_bias_gn", "info", 0),  # clean
    ],
)
def test_fail_on_sets_exit_code(capsys, name, fail_on, expected):
    code, _, _ = run_cli(capsys, "lint", target(name), "--fail-on", fail_on, "-f", "json")
    assert code == expected


def test_lint_falls_back_to_hooks_with_input_shape(capsys):
    code, out, _ = run_cli(capsys, "lint", target("branchy"), "--input-shape", "1,3,8,8")
    assert code == 0 and "forward hooks" in out and "could not trace" in out


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("no_such_package.models:make", "cannot import module 'no_such_package.models'"),
        ("missing/file.py:make", "does not exist"),
        (target("not_a_module"), "returned a int, not a torch.nn.Module"),
        (target("number"), "is a int, not a torch.nn.Module"),
        (target("raises"), "factory exploded"),
        (target("conv_bias_bnn"), "did you mean 'conv_bias_bn'"),
        ("no-colon", "has no ':'"),
        (target("branchy"), "cannot trace"),
    ],
)
def test_bad_targets_are_one_line_exit_2(capsys, spec, fragment):
    code, _, err = run_cli(capsys, "lint", spec)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and fragment in err
    assert "Traceback" not in err


def test_unrunnable_model_is_one_line_exit_2(capsys):
    code, _, err = run_cli(capsys, "lint", target("branchy"), "--input-shape", "1,5,8,8")
    assert code == 2 and err.count("\n") == 1 and "failed: RuntimeError" in err
    code, _, err = run_cli(capsys, "lint", target("branchy"), "--input-shape", "1,x")
    assert code == 2 and "positive integers" in err


@pytest.mark.parametrize("zoo", ["torchvision", "timm"])
def test_zoo_target_without_the_package_says_how_to_install(capsys, zoo):
    if importlib.util.find_spec(zoo) is not None:
        pytest.skip(f"{zoo} is installed")
    code, _, err = run_cli(capsys, "lint", f"{zoo}:resnet18")
    assert code == 2 and f"needs {zoo}; pip install {zoo}" in err


def test_module_object_target(capsys):
    code, out, _ = run_cli(capsys, "lint", target("instance"), "-f", "json")
    assert code == 0 and json.loads(out)["census"] == {}


def test_help_says_loading_runs_code(capsys):
    for command in ("lint", "rewrite", "fold"):
        code, out, _ = run_cli(capsys, command, "--help")
        assert code == 0 and "runs its code" in " ".join(out.replace("│", " ").split())


def test_rewrite_writes_a_loadable_graph_module(capsys, tmp_path):
    dest = tmp_path / "rewritten.pt"
    code, out, err = run_cli(
        capsys, "rewrite", target("conv_bias_bn"), "--swap", "norm,act", "-i", "2,3,5,5", "-o", dest
    )
    assert code == 0, err
    assert "0: conv→bn→relu" not in out and "1: bn→relu -> relu→bn" in out
    assert "checked: the rewritten model runs" in out
    assert dest.exists() and dest.with_suffix(".py").exists()
    loaded = torch.load(dest, weights_only=False)
    x = torch.randn(2, 3, 5, 5)
    model = lm.conv_bias_bn().eval()
    torch.testing.assert_close(loaded.eval()(x), model[1](model[2](model[0](x))))


def test_saved_model_loads_without_the_source(capsys, tmp_path):
    dest = tmp_path / "folded.pt"
    code, _, err = run_cli(capsys, "fold", target("act_bn_linear"), "-i", "4,6", "-o", dest)
    assert code == 0 and "wrote" in err
    script = (
        f"import torch; m = torch.load({str(dest)!r}, weights_only=False);"
        " print(type(m).__name__, m(torch.randn(2, 6)).shape)"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path
    )
    assert loaded.returncode == 0, loaded.stderr
    assert "torch.Size([2, 2])" in loaded.stdout and "GraphModule" in loaded.stdout


def test_fold_cli_reports_folded_and_not_folded(capsys):
    code, out, _ = run_cli(capsys, "fold", target("norm_norm"), "--input-shape", "2,3,6,6")
    assert code == 0
    assert "1 BatchNorm folded" in out and "1: -> 0" not in out
    assert "1 -> 0 (the layer before)" in out and "1 not folded" in out
    assert "outputs match within 1e-05" in out


def test_rewrite_and_fold_errors(capsys):
    code, _, err = run_cli(capsys, "rewrite", target("branchy"), "--swap", "norm,act")
    assert code == 2 and "needs a model torch.fx can trace" in err
    code, _, err = run_cli(capsys, "rewrite", target("conv_bias_bn"), "--to", "conv-bnn")
    assert code == 2 and "did you mean 'bn'" in err
    code, _, err = run_cli(capsys, "fold", target("conv_bias_bn"))
    assert code == 2 and "--input-shape" in err


def test_a_rewrite_that_changes_nothing_exits_1_unless_allowed(tmp_path, capsys):
    """torchvision's resnet18 --to preact used to print '0 places rewritten', exit 0 and write
    the model unchanged; now that is exit 1 and no file, unless --allow-noop."""
    out = tmp_path / "out.pt"
    code, text, err = run_cli(capsys, "rewrite", target("act_act"), "--to", "preact", "-o", out)
    assert code == 1 and "0 places rewritten" in text and "nothing was rewritten" in err
    assert not out.exists()
    code, _, err = run_cli(capsys, "rewrite", target("act_act"), "--to", "preact", "-o", out,
                           "--allow-noop")
    assert code == 0 and out.exists(), err


TOKEN_MODEL = '''from torch import nn


class LM(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 32)
        self.block = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True, norm_first=True)
        self.head = nn.Linear(32, 100)

    def forward(self, ids):
        return self.head(self.block(self.emb(ids)))


def make():
    return LM()
'''


def test_a_token_model_gets_token_ids_with_vocab(tmp_path, capsys):
    """A model that starts with an embedding runs on token ids below --vocab (a LongTensor);
    given floats, the error names --vocab as the fix."""
    path = tmp_path / "lm.py"
    path.write_text(TOKEN_MODEL)
    model = f"{path}:make"
    code, _, err = run_cli(capsys, "lint", model, "-i", "1,16", "--mode", "hooks")
    assert code == 2 and "needs --vocab N" in err
    code, out, err = run_cli(capsys, "lint", model, "-i", "1,16", "--vocab", "100", "--mode",
                             "hooks")
    assert code == 0 and "forward hooks" in out, err
    code, _, err = run_cli(capsys, "lint", model, "--vocab", "100")
    assert code == 2 and "give both" in err
