"""The main job: ``layerorder compare`` with no arguments, then again (nothing to train)."""

import sqlite3

import pytest

from tests.helpers import run_subprocess


@pytest.mark.slow
def test_default_compare_then_rerun(tmp_path):
    first = run_subprocess("compare", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    for label in ("standard", "act-first", "preact", "drop-before-bn", "no-norm"):
        assert label in out
    assert "Verdict" in out and "25 to train" in first.stderr
    with sqlite3.connect(tmp_path / "layerorder.db") as conn:
        rows = conn.execute("SELECT status, final_test_acc FROM runs").fetchall()
    assert len(rows) == 25 and {s for s, _ in rows} == {"done"}
    # MNIST-1D with BN: the reference plain loop reaches about 97-98 %
    assert min(acc for _, acc in rows) > 90

    report = tmp_path / "layerorder-report.html"
    assert "report: layerorder-report.html" in first.stderr
    assert 10_000 < report.stat().st_size < 2 * 1024 * 1024  # self-contained, under 2 MB

    second = run_subprocess("compare", cwd=tmp_path)
    assert second.returncode == 0
    assert "0 to train" in second.stderr
    assert second.stdout == out
