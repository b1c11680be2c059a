"""Target strings with keyword arguments for the factory: TARGET(key=value, ...)."""

import pytest
from torch import nn

from layerorder.errors import ConfigError
from layerorder.experiment.configuration.config import make_config
from layerorder.modelgraph.errors import LintError
from layerorder.modelgraph.target import load_target, split_kwargs
from tests.helpers import TINY, run_cli

FACTORY = """
from torch import nn
def make(width=4, classes=3, act="relu"):
    act_layer = nn.ReLU() if act == "relu" else nn.GELU()
    return nn.Sequential(nn.Flatten(), nn.Linear(64, width), nn.BatchNorm1d(width), act_layer,
                         nn.Linear(width, classes))
net = make()
"""


@pytest.fixture
def factory(tmp_path):
    path = tmp_path / "models.py"
    path.write_text(FACTORY)
    return path


def test_keyword_arguments_reach_the_factory(factory):
    model = load_target(f"{factory}:make(width=8, classes=5, act='gelu')").model
    assert model[1].out_features == 8 and model[-1].out_features == 5
    assert isinstance(model[3], nn.GELU)
    assert split_kwargs("timm:resnet18(in_chans=1,num_classes=10)") == (
        "timm:resnet18", {"in_chans": 1, "num_classes": 10})
    assert split_kwargs("pkg.mod:make") == ("pkg.mod:make", {})


@pytest.mark.parametrize(
    "suffix,message",
    [
        ("make(8)", "keyword arguments only"),
        ("make(width=eight)", "literal values"),
        ("make(width=8", "parentheses"),
        ("net(width=8)", "not a factory"),
    ],
)
def test_bad_keyword_arguments_say_how_to_write_them(factory, suffix, message):
    with pytest.raises(LintError, match=message):
        load_target(f"{factory}:{suffix}")


def test_one_spelling_per_model_in_run_keys():
    cfg = make_config({"model": "m.py:make( width = 8,classes=4 )"})
    assert cfg.model == "m.py:make(width=8, classes=4)"
    with pytest.raises((ConfigError, LintError), match="keyword arguments only"):
        make_config({"model": "m.py:make(8)"})


def test_compare_and_lint_take_them(factory, tmp_path, capsys):
    target = f"{factory}:make(width=16, classes=4)"  # synthetic has 4 classes of 8x8 images
    code, _, err = run_cli(capsys, "compare", *TINY, "--model", target, "--order", "as-is",
                           "--seeds", "1", "--store", tmp_path / "s.db", "--no-report")
    assert code == 0, err
    code, out, err = run_cli(capsys, "lint", target, "--input-shape", "2,1,8,8")
    assert code == 0, err
    code, _, err = run_cli(capsys, "compare", *TINY, "--model", f"{factory}:make(classes=3)",
                           "--order", "as-is", "--seeds", "1", "--store", tmp_path / "t.db",
                           "--no-report")
    assert code == 2 and "the data set has 4 classes" in err and "Traceback" not in err
