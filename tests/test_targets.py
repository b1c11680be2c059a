"""Target strings are read torch-free, by ``layerorder.targets``; lint and the ``model``
setting report a bad one in one line."""

import subprocess
import sys

import pytest

from layerorder.errors import ConfigError
from layerorder.experiment.configuration.config import make_config
from layerorder.targets import TargetError, split_kwargs, split_target


def test_a_target_and_its_keyword_arguments():
    assert split_kwargs("timm:resnet18(in_chans=1, num_classes=10)") == (
        "timm:resnet18", {"in_chans": 1, "num_classes": 10})
    assert split_kwargs("models.py:make") == ("models.py:make", {})
    assert split_target("path/to/models.py:make") == ("path/to/models.py", "make")
    for bad, fragment in [("timm:resnet18(in_chans=1", "one pair of parentheses"),
                          ("timm:resnet18(1)", "keyword arguments only"),
                          ("timm:resnet18(x=open)", "cannot read its keyword arguments")]:
        with pytest.raises(TargetError, match=fragment):
            split_kwargs(bad)
    with pytest.raises(TargetError, match="has no ':'"):
        split_target("models.py")


def test_the_model_setting_spells_its_arguments_one_way():
    cfg = make_config({"model": "timm:resnet18( num_classes = 10 ,in_chans=1)"})
    assert cfg.model == "timm:resnet18(num_classes=10, in_chans=1)"
    with pytest.raises(ConfigError, match="one pair of parentheses"):
        make_config({"model": "timm:resnet18(in_chans=1"})


def test_reading_a_target_loads_no_torch():
    code = "import sys, layerorder.targets; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
