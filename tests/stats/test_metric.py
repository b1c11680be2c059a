"""Any metric, either direction: a metric where lower is better gives the analysis of its
negation (the same tests, p-values and decisions, mirrored differences), with its own wording;
intervals are clipped only to a declared range; no margin means no equivalence test."""

import math
import random

import pytest
from scipy import stats

from layerorder.stats.analysis import analyze
from layerorder.stats.metric import ACCURACY_METRIC, Metric, looks_lower_is_better
from layerorder.stats.plan import AnalysisPlan
from layerorder.store import RunRecord


def _run(i, label, seed, value, status="done", name="loss"):
    return RunRecord(i, 1, f"k{i}", label, seed, 0.01, {}, status, None, 1, None, None, None,
                     None, None, None, None, None, None, metrics={name: value})


def _runs(sign=1.0, name="loss", shift=0.3):
    rng = random.Random(0)
    runs, i = [], 0
    for seed in range(8):
        common = rng.gauss(0, 1)
        for label, mean in (("a", 2.0), ("b", 2.0 + shift), ("c", 2.05)):
            i += 1
            runs.append(_run(i, label, seed, sign * (mean + common + rng.gauss(0, 0.05)),
                             name=name))
    return runs


def test_min_goal_is_the_mirror_of_max_on_negated_values():
    low = analyze(_runs(), metric="loss", goal="min", margin=0.2)
    high = analyze(_runs(-1.0), metric="loss", goal="max", margin=0.2)
    assert low.verdict.best == high.verdict.best == "a"
    assert [d.decision for d in low.decisions] == [d.decision for d in high.decisions]
    for d_low, d_high in zip(low.decisions, high.decisions):
        assert d_low.p_holm == pytest.approx(d_high.p_holm)
        assert d_low.mean_diff == pytest.approx(-d_high.mean_diff)
    assert "lower is better" in low.verdict.text and "higher is better" in high.verdict.text


def test_the_paired_test_is_scipys_on_the_metric():
    runs = _runs()
    analysis = analyze(runs, metric="loss", goal="min", margin=0.2)
    pair = next(p for p in analysis.pairs if {p.a, p.b} == {"a", "b"})
    a = [r.metrics["loss"] for r in runs if r.label == "a"]
    b = [r.metrics["loss"] for r in runs if r.label == "b"]
    assert pair.p_t == pytest.approx(stats.ttest_rel(a, b).pvalue)


def test_intervals_are_clipped_only_to_a_declared_range():
    runs = [_run(i, label, seed, v, name="score") for i, (label, seed, v) in enumerate(
        [("a", 0, 140.0), ("a", 1, 170.0), ("b", 0, 100.0), ("b", 1, 90.0)])]
    free = analyze(runs, metric="score", goal="max")
    assert max(r.summary.ci_high for r in free.rows) > 100
    clipped = analyze(runs, metric="score", goal="max", metric_range=(0, 160))
    assert max(r.summary.ci_high for r in clipped.rows) == 160
    accuracy = analyze([_run(i, r.label, r.seed, None) for i, r in enumerate(runs)])
    assert accuracy.plan.metric == ACCURACY_METRIC


def test_no_margin_tests_no_equivalence():
    analysis = analyze(_runs(shift=0.0), metric="loss", goal="min", margin=0.0)
    assert all(d.decision != "equivalent" and math.isnan(d.p_tost) for d in analysis.decisions)
    assert "No equivalence margin was given" in analysis.verdict.text
    with_margin = analyze(_runs(shift=0.0), metric="loss", goal="min", margin=0.5)
    assert any(d.decision == "equivalent" for d in with_margin.decisions)


def test_a_run_that_never_reported_the_metric_counts_as_failed():
    runs = _runs()
    runs[0] = _run(1, "a", 0, 1.0, name="other")
    analysis = analyze(runs, metric="loss", goal="min")
    row = next(r for r in analysis.rows if r.label == "a")
    assert row.summary.n == 7 and row.summary.n_failed == 1


def test_built_in_metrics_and_names_that_need_a_direction():
    assert Metric.named("test_loss") == Metric("test_loss", "min", (0.0, math.inf))
    assert Metric.named(None) == ACCURACY_METRIC
    assert Metric.named("f1", None, (0, 1)) == Metric("f1", "max", (0, 1))
    assert looks_lower_is_better("val_loss") and looks_lower_is_better("word_error")
    assert not looks_lower_is_better("val_accuracy") and not looks_lower_is_better("closs")
    assert Metric.from_stored(Metric("m", "min", None).to_stored()) == Metric("m", "min", None)
    assert AnalysisPlan.from_stored(AnalysisPlan.of(metric="m", goal="min").to_stored()).metric \
        == Metric("m", "min", None)
