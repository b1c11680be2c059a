"""The comparison behind the results table: best learning rate per order."""

from layerorder.stats.analysis import analyze
from layerorder.store import RunRecord


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
