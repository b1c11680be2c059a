"""The main job: ``layerorder compare`` with no arguments, then again (nothing to train).

The README's command trains the default grid (five orders x 5 seeds, 20 epochs each): that grid is
checked as the command stores it (``--plan-only``, nothing trained), and trained whole at 2 seeds
per order (the same data, model, training and 20 epochs, 10 runs), which is where the value
claims are made: every order reaches the accuracy of the reference loop, a verdict is printed,
the report is self-contained, and a rerun trains nothing and prints the same.

In this process (``run_cli``): the command's code is the same as in a fresh interpreter, and its
pool workers are fresh interpreters either way."""

import sqlite3

import pytest

from layerorder.experiment.configuration.settings import DEFAULT_ORDERS
from tests.helpers import run_cli


def _stored(db, what: str = "label, seed, status, final_test_acc") -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT {what} FROM runs").fetchall()


def test_the_default_grid_is_five_orders_of_five_seeds(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "compare", "--plan-only")
    assert code == 0, err
    assert "stored 25 runs (25 new) of experiment 'default'" in out
    rows = _stored(tmp_path / "layerorder.db")
    assert sorted((label, seed) for label, seed, _, _ in rows) == sorted(
        (order, seed) for order in DEFAULT_ORDERS for seed in range(5))
    assert {status for _, _, status, _ in rows} == {"pending"}


@pytest.mark.slow
def test_default_compare_then_rerun(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "compare", "--seeds", "2")
    assert code == 0, err
    for label in DEFAULT_ORDERS:
        assert label in out
    assert "Verdict" in out and "10 to train" in err
    rows = _stored(tmp_path / "layerorder.db")
    assert len(rows) == 10 and {status for _, _, status, _ in rows} == {"done"}
    assert {label for label, *_ in rows} == set(DEFAULT_ORDERS)
    # MNIST-1D with BN: the reference plain loop reaches about 97-98 %
    assert min(acc for *_, acc in rows) > 90
    # the very runs of the README's grid: their keys (everything a run is) are among its 25
    assert run_cli(capsys, "compare", "--plan-only", "--store", tmp_path / "plan.db")[0] == 0
    keys = set(_stored(tmp_path / "layerorder.db", "run_key"))
    assert len(keys) == 10 and keys <= set(_stored(tmp_path / "plan.db", "run_key"))

    report = tmp_path / "layerorder-report.html"
    assert "report: layerorder-report.html" in err
    assert 10_000 < report.stat().st_size < 2 * 1024 * 1024  # self-contained, under 2 MB

    code, again, err = run_cli(capsys, "compare", "--seeds", "2")
    assert code == 0 and "0 to train" in err
    assert again == out
