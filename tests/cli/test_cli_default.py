"""The main job: ``layerorder compare`` with no arguments, then again (nothing to train).

In this process (``run_cli``): the command's code is the same as in a fresh interpreter, and its
pool workers are fresh interpreters either way."""

import sqlite3

import pytest

from tests.helpers import run_cli


@pytest.mark.slow
def test_default_compare_then_rerun(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "compare")
    assert code == 0, err
    for label in ("standard", "act-first", "preact", "drop-before-bn", "no-norm"):
        assert label in out
    assert "Verdict" in out and "25 to train" in err
    with sqlite3.connect(tmp_path / "layerorder.db") as conn:
        rows = conn.execute("SELECT status, final_test_acc FROM runs").fetchall()
    assert len(rows) == 25 and {s for s, _ in rows} == {"done"}
    # MNIST-1D with BN: the reference plain loop reaches about 97-98 %
    assert min(acc for _, acc in rows) > 90

    report = tmp_path / "layerorder-report.html"
    assert "report: layerorder-report.html" in err
    assert 10_000 < report.stat().st_size < 2 * 1024 * 1024  # self-contained, under 2 MB

    code, again, err = run_cli(capsys, "compare")
    assert code == 0 and "0 to train" in err
    assert again == out
