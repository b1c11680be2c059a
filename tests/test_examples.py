"""The examples in ``examples/`` run as ``compare --command`` runs them: a plain PyTorch script
with its own augmentation (on its loss, lower is better), the Keras 3 script with Dropout after
or before BN, and a Lightning module built from the trial's blocks."""

import json
import os
import sys
from pathlib import Path

import pytest

from tests.helpers import run_cli

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _compare(capsys, tmp_path, script: str, orders: str, seeds: int, *extra):
    command = f"{sys.executable} {EXAMPLES / script} --order {{order}} --seed {{seed}}"
    code, out, err = run_cli(capsys, "compare", "--command", command, "--order", orders,
                             "--seeds", seeds, "--store", tmp_path / "s.db", "--no-report",
                             "--executor", "process", "--workers", "2", "--json", *extra)
    assert code == 0, err
    result = json.loads(out)
    assert result["counts"] == {"done": len(orders.split(",")) * seeds}, result["counts"]
    return result


@pytest.mark.slow
def test_the_pytorch_script_on_its_loss(capsys, tmp_path):
    result = _compare(capsys, tmp_path, "torch_order.py", "conv-bn-relu,conv-relu-bn", 1,
                      "--metric", "val_loss", "--goal", "min")
    assert "lower is better" in result["verdict"]["text"]
    assert all(0 < r["summary"]["mean"] < 1.386 for r in result["rows"])  # below ln 4: learned


@pytest.mark.slow
def test_the_keras_script_with_dropout_after_or_before_bn(capsys, tmp_path):
    pytest.importorskip("keras")
    result = _compare(capsys, tmp_path, "keras_order.py", "conv-bn-relu-drop,conv-relu-drop-bn",
                      1, "--metric", "val_accuracy", "--metric-range", "0,1")
    assert {r["label"] for r in result["rows"]} == {"conv-bn-relu-drop", "conv-relu-drop-bn"}
    assert all(0.25 < r["summary"]["mean"] <= 1 for r in result["rows"])  # above chance


@pytest.mark.slow
def test_the_lightning_module(capsys, tmp_path):
    pytest.importorskip("lightning")
    _compare(capsys, tmp_path, "lightning_order.py", "conv-bn-relu,bn-relu-conv", 1,
             "--metric", "val_loss", "--goal", "min")


def test_each_example_runs_alone(tmp_path):
    """Without a driver, a script trains its default order and prints its metrics."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("LAYERORDER_")}
    proc = subprocess.run([sys.executable, EXAMPLES / "torch_order.py", "--epochs", "1"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "conv-bn-relu seed 0: val_loss" in proc.stdout
