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


def test_a_condition_is_at_the_levels_a_study_file_names():
    """Levels compare as text, as a study file may write them ("8" is the stored 8), and naming
    no level matches every condition."""
    runs = [RunRecord(i, 1, f"k{i}", label, 0, 0.01, {"depth": depth}, "done", None, 1, None,
                      None, 90.0, None, None, 1.0, None, None, None)
            for i, (label, depth) in enumerate([("a", 8), ("b", 8), ("a", 32), ("b", 32)], 1)]
    conditions = analyze(tuple(runs), factors=["depth"]).conditions
    assert [c.at({"depth": 32}) for c in conditions] == [dict(c.levels)["depth"] == 32
                                                         for c in conditions]
    assert [c.at({"depth": "8"}) for c in conditions] == [dict(c.levels)["depth"] == 8
                                                          for c in conditions]
    assert all(c.at({}) for c in conditions) and not any(c.at({"depth": 9}) for c in conditions)
