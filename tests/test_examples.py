"""The examples in ``examples/`` run as ``compare --command`` runs them: a plain PyTorch script
with its own augmentation through ``compare`` (on its loss, lower is better), the Keras 3 script
with Dropout after or before BN and a Lightning module built from the trial's blocks as one run
each."""

import importlib.util
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
                             "--executor", "sequential", "--json", *extra)
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


def _one_run(script: str, order: str, metric: str):
    """One run of an example exactly as each run of ``compare --command`` is made (its guard,
    environment, metrics file and judgement), without a driver and a pool around it: ``compare``
    itself is covered by the PyTorch script above and by tests/cli/test_cli_command.py."""
    from layerorder.experiment.configuration.config import make_config
    from layerorder.experiment.training.user_runs import run_command

    command = f"{sys.executable} {EXAMPLES / script} --order {{order}} --seed {{seed}}"
    run = make_config({"command": command, "metric": metric, "orders": [order]}).runs()[0]
    return run_command(run, "cpu", metric)


@pytest.mark.slow
def test_the_keras_script_with_dropout_after_or_before_bn():
    if importlib.util.find_spec("keras") is None:  # (importing it here would pick a backend)
        pytest.skip("keras is not installed (pip install 'layerorder[keras]')")
    # Dropout before BN, the placement the comparison questions (its counterpart,
    # conv-bn-relu-drop, is the script's default, run alone by the same code path)
    result = _one_run("keras_order.py", "conv-relu-drop-bn", "val_accuracy")
    assert result.status == "done", result.error
    assert 0.25 < result.metrics["val_accuracy"] <= 1  # above chance (4 classes)
    assert [e.epoch for e in result.epochs] == [1, 2, 3, 4]


@pytest.mark.slow
def test_the_lightning_module():
    pytest.importorskip("lightning")
    result = _one_run("lightning_order.py", "bn-relu-conv", "val_loss")
    assert result.status == "done", result.error
    assert 0 < result.metrics["val_loss"] < 1.386  # below ln 4: it learned


def test_each_example_runs_alone(tmp_path):
    """Without a driver, a script trains its default order and prints its metrics."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("LAYERORDER_")}
    proc = subprocess.run([sys.executable, EXAMPLES / "torch_order.py", "--epochs", "1"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "conv-bn-relu seed 0: val_loss" in proc.stdout
