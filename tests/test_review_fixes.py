"""Edge cases found in review: each would have crashed or misreported."""

import math

import torch
from torch import nn

from layerorder.probe import record, variance_shift
from layerorder.probe.accumulate import Accumulator
from layerorder.stats.analysis import analyze
from layerorder.store import RunRecord
from tests.cli.helpers import TINY, run_cli


def test_dead_channel_does_not_make_the_layer_look_shifted():
    lin = nn.Linear(4, 3)
    with torch.no_grad():
        lin.bias[0] = -100.0
    model = nn.Sequential(lin, nn.ReLU(), nn.BatchNorm1d(3)).train()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _ in range(100):
            model(torch.randn(256, 4, generator=gen))
    (shift,) = variance_shift(model, torch.randn(20_000, 4, generator=gen))
    assert math.isfinite(shift.shift) and shift.shift < 1.1 and not shift.flagged


def test_a_module_reused_at_two_widths_is_recorded():
    acc = Accumulator("relu", "ReLU", 10, (-6, 6))
    acc.add(torch.randn(4, 8))
    acc.add(torch.randn(4, 16).abs())
    stats = acc.finish()
    assert stats.units == 24 and stats.count == 96
    shared = nn.ReLU()
    model = nn.Sequential(nn.Linear(3, 8), shared, nn.Linear(8, 16), shared)
    with record(model) as rec:
        model(torch.randn(5, 3))
    assert rec.stage("1").units == 24


def _run(i, label, lr, seed, status, acc):
    return RunRecord(
        i,
        1,
        f"k{i}",
        label,
        seed,
        lr,
        {},
        status,
        None,
        1,
        None,
        None,
        acc,
        None,
        None,
        None,
        None,
        None,
        None,
    )


def test_best_learning_rate_ignores_rates_where_runs_diverged():
    runs, i = [], 0
    for seed in range(3):
        for label, lr, status, acc in [
            ("A", 0.01, "done", 90.1),
            ("B", 0.01, "done", 91.1),
            ("A", 1.0, "done" if seed == 0 else "diverged", 95.0),
        ]:
            i += 1
            runs.append(_run(i, label, lr, seed, status, acc + 0.01 * seed))
    result = analyze(runs)
    rows = {r.label: r for r in result.rows}
    assert rows["A"].lr == 0.01 and result.verdict.best == "B"


def test_markup_in_names_is_printed_as_text(tmp_path, capsys):
    db = tmp_path / "s.db"
    name = "[/x] exp [bold]"
    code, out, err = run_cli(
        capsys,
        "compare",
        *TINY,
        "--order",
        "standard",
        "--seeds",
        "1",
        "--name",
        name,
        "--store",
        db,
        "--no-report",
    )
    assert code == 0, err
    assert name in err
    code, out, err = run_cli(capsys, "runs", "--store", db)
    assert code == 0 and "[/x] exp" in out


def test_paths_that_cannot_be_written_fail_before_anything_runs(tmp_path, capsys):
    db = tmp_path / "s.db"
    code, _, err = run_cli(
        capsys,
        "compare",
        *TINY,
        "--order",
        "standard",
        "--seeds",
        "1",
        "--store",
        db,
        "--report-path",
        tmp_path / "no" / "r.html",
    )
    assert code == 2 and "--report-path" in err and not db.exists()
    run_cli(
        capsys,
        "compare",
        *TINY,
        "--order",
        "standard",
        "--seeds",
        "1",
        "--store",
        db,
        "--no-report",
    )
    code, _, err = run_cli(capsys, "export", "--store", db, "-o", tmp_path / "no" / "x.csv")
    assert code == 2 and "does not exist" in err


def test_report_of_an_experiment_without_finished_runs(tmp_path, capsys):
    from layerorder.store import RunSpec, Store

    db = tmp_path / "s.db"
    with Store.open(db) as store:
        exp = store.experiment("empty", {"a": 1})
        store.add_runs(exp.id, [RunSpec("k1", "standard", 0, 0.01, {"epochs": 1})])
    code, _, err = run_cli(capsys, "report", "--store", db, "-o", tmp_path / "r.html")
    assert code == 2 and "no finished runs" in err
