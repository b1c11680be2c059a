"""``benchmarks/gpu_check.py`` keeps working where there is no GPU: its CPU path, tiny (the
synthetic data set, one epoch, two seeds), runs every check and writes the report the GPU run
fills in."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


@pytest.mark.slow
def test_the_gpu_check_runs_on_the_cpu(tmp_path):
    out = tmp_path / "check"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--device", "cpu", "--out", str(out), "--epochs", "1",
         "--seeds", "2", "--grid-seeds", "2", "--grid-epochs", "1", "--workers", "2",
         "--image-dataset", "synthetic", "--dataset", "synthetic"],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((out / "gpu_check.json").read_text())
    grid = report["default_grid"]
    assert grid["runs"] == 10
    for name in ("process", "stacked_batched", "stacked_exact"):
        assert grid[name]["runs"] == 10 and grid[name]["runs_per_hour"] > 0
    # on the CPU, at the same thread count, the exact mode gives the sequential runs bit for bit
    assert grid["stacked_exact"]["bit_for_bit"]
    assert grid["stacked_batched"]["max_rel_train_loss_diff"] < 1e-3
    assert report["caller_rng_unchanged"] and report["amp_bf16"]["all_finite"]
    assert report["cnn1d_stacked_vs_sequential"]["device_in_provenance"] == ["cpu"]
