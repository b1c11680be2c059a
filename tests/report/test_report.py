import math
import re

import pytest
import scipy.stats

from layerorder.errors import ConfigError
from layerorder.report import build_info, write_report
from layerorder.report.html import render_html
from layerorder.store import Store
from tests.helpers import SECTIONS, TINY, run_cli

pytestmark = pytest.mark.filterwarnings("ignore")


def _info(db):
    with Store.open(db) as store:
        return build_info(store, store.latest_experiment()), store


def test_curves_are_means_with_t_intervals(probed_store):
    info, _ = _info(probed_store)
    with Store.open(probed_store) as store:
        exp = store.latest_experiment()
        runs = [r for r in store.runs(exp.id) if r.label == "standard" and r.lr == 0.1]
        series = [[e.test_acc for e in store.epochs(r.id)] for r in runs]
    curve = next(c for c in info.acc_curves if c.label == "standard")
    assert curve.epochs == (1, 2, 3) and curve.n == 3
    for k in range(3):
        vals = [s[k] for s in series]
        mean = sum(vals) / 3
        lo, hi = scipy.stats.t.interval(0.95, 2, loc=mean, scale=scipy.stats.sem(vals))
        assert curve.mean[k] == pytest.approx(mean)
        if scipy.stats.sem(vals) > 0:
            assert (curve.low[k], curve.high[k]) == pytest.approx((lo, hi))


def test_info_holds_finals_lr_probes_and_every_run(probed_store):
    info, _ = _info(probed_store)
    assert {f.label for f in info.finals} == {"standard", "no-norm"}
    assert len(info.lr_series) == 2 and all(s.lrs == (0.1, 1000.0) for s in info.lr_series)
    no_norm = next(s for s in info.lr_series if s.label == "no-norm")
    assert no_norm.diverged[1] >= 1 and no_norm.diverged[0] == 0
    statuses = [r.status for r in info.runs]
    assert len(statuses) == 12 and "failed" in statuses and "diverged" in statuses
    failed = next(r for r in info.runs if r.status == "failed")
    assert "simulated failure" in failed.note
    probes = info.probes
    assert probes is not None and {o.label for o in probes.orders} == {"standard", "no-norm"}
    std = next(o for o in probes.orders if o.label == "standard")
    assert [s.kind for s in std.stages[:4]] == ["Conv1d", "BatchNorm1d", "ReLU", "Dropout"]
    assert std.final_epoch == 3 and std.stages[0].hist_range == (-6.0, 6.0)
    assert len(std.varshift) == 3 and len(std.grads) == 4
    assert info.provenance["torch"] and info.provenance["report generated"]


def test_html_escapes_user_strings_and_lists_bad_runs(probed_store):
    info, _ = _info(probed_store)
    page = render_html(info)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in page
    assert page.count("<svg") >= 6
    assert 'class="diverged"' in page and 'class="failed"' in page
    assert "simulated failure" in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing fetched from anywhere


def test_markdown_with_figures_beside_it(probed_store, tmp_path):
    files = write_report(probed_store, tmp_path / "summary.md", fmt="md")
    md = files[0].read_text()
    assert "**Verdict.**" in md and "\\<script\\>" in md
    assert "a first / b first / tied" in md and "the question is when" in md  # speed table
    pngs = [f for f in files if f.suffix == ".png"]
    assert len(pngs) >= 4 and all(f.read_bytes()[:4] == b"\x89PNG" for f in pngs)
    for f in pngs:
        assert f"](<{f.name}>)" in md


def test_report_cli_and_errors(probed_store, tmp_path, capsys):
    target = tmp_path / "r.html"
    code, _, err = run_cli(capsys, "report", "--store", probed_store, "-o", target)
    assert code == 0 and target.exists() and "wrote" in err
    code, _, err = run_cli(capsys, "report", "--store", tmp_path / "nope.db")
    assert code == 2 and "no store" in err
    code, _, err = run_cli(capsys, "report", "--store", probed_store, "-o", tmp_path)
    assert code == 2 and "is a directory" in err
    code, _, err = run_cli(capsys, "report", "--store", probed_store, "-e", "missing-name")
    assert code == 2 and len(err.strip().splitlines()) == 1
    with pytest.raises(ConfigError, match="does not exist"):
        write_report(probed_store, tmp_path / "no" / "dir" / "r.html")


def test_compare_writes_the_report_by_default(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "compare", *TINY, "--order", "standard", "--seeds", "2")
    assert code == 0 and "report: layerorder-report.html" in err
    assert (tmp_path / "layerorder-report.html").stat().st_size > 10_000
    code, _, err = run_cli(
        capsys,
        "compare",
        *TINY,
        "--order",
        "standard",
        "--seeds",
        "2",
        "--no-report",
        "--report-path",
        "other.html",
    )
    assert code == 0 and not (tmp_path / "other.html").exists()


def test_figures_draw_all_diverged_points():
    from layerorder.report import figures
    from layerorder.report.info import LrSeries

    series = [LrSeries("a", (0.01, 1.0), (97.0, math.nan), (0, 3))]
    svg = figures.svg(figures.lr_robustness(series))
    assert svg.startswith("<svg") and "</svg>" in svg


def _factor_runs(effects, seeds=4):
    """Runs of two orders over the conditions in ``effects`` ({(batch_size, p_drop): effect})."""
    import numpy as np

    from layerorder.store import RunRecord

    rng = np.random.default_rng(0)
    runs, i = [], 0
    for (bs, p), effect in effects.items():
        for seed in range(seeds):
            shared = rng.normal(95, 0.5)
            for label, shift in (("standard", 0.0), ("act-first", effect)):
                i += 1
                acc = shared + shift + rng.normal(0, 0.2)
                runs.append(RunRecord(i, 1, f"k{i}", label, seed, 0.01,
                                      {"batch_size": bs, "p_drop": p}, "done", None, 1, None,
                                      None, acc, None, None, None, None, None, None))
    return runs


def test_effect_by_condition_panels_and_heatmaps():
    from layerorder.report import figures
    from layerorder.stats.analysis import analyze

    one = analyze(_factor_runs({(8, 0.1): -2.0, (128, 0.1): 0.0}), factors=["batch_size"],
                  baseline="standard")
    assert [c.name for c in one.conditions] == ["batch_size=8", "batch_size=128"]
    assert one.interactions[0].p < 0.05 and "depends on batch_size" in one.verdict.text
    assert "At batch_size=8: act-first is 2.0 points worse than standard" in one.verdict.text
    fig = figures.effect_by_condition(one, "standard")
    assert len(fig.axes) == 1 and fig.axes[0].get_xlabel() == "batch_size"
    two = analyze(
        _factor_runs({(8, 0.1): -2.0, (8, 0.5): -3.0, (128, 0.1): 0.0, (128, 0.5): -0.1}),
        factors=["batch_size", "p_drop"],
    )
    assert {i.factor for i in two.interactions} == {"batch_size", "p_drop"}
    heat = figures.effect_by_condition(two, "standard")
    image = heat.axes[0].images[0].get_array()  # rows: p_drop levels, columns: batch sizes
    assert image.shape == (2, 2) and image[1][0] < image[0][0] < -1.5 < image[0][1]
    assert figures.svg(figures.differences(two.decisions, two.margin)).startswith("<svg")


def test_a_condition_without_the_baseline_is_left_without_comparisons():
    from layerorder.stats.analysis import analyze

    runs = _factor_runs({(8, 0.1): -2.0, (128, 0.1): 0.0})
    runs = [r for r in runs if not (r.config["batch_size"] == 128 and r.label == "standard")]
    analysis = analyze(runs, factors=["batch_size"], baseline="standard")
    by_name = {c.name: c for c in analysis.conditions}
    assert by_name["batch_size=128"].decisions == ()
    assert by_name["batch_size=8"].decisions[0].decision == "different"
    with pytest.raises(ValueError, match="baseline 'preact' is not among the orders"):
        analyze(runs, factors=["batch_size"], baseline="preact")


@pytest.mark.parametrize("goal", ["max", "min"])
def test_pairwise_heat_map_draws_the_better_order_blue_whichever_way_the_metric_goes(goal):
    """A row order better than its column is blue: a higher accuracy, or a lower loss."""
    from types import SimpleNamespace

    from layerorder.report import figures
    from layerorder.stats.metric import Metric

    metric = Metric.named("val_loss" if goal == "min" else None, goal)
    better, worse = (1.0, 0.0) if goal == "max" else (0.0, 1.0)  # a's value, b's value
    pair = SimpleNamespace(a="a", b="b", mean_diff=better - worse, p_holm=0.01)
    fig = figures.pairwise_matrix(["a", "b"], [pair], metric)
    image = fig.axes[0].images[0]
    red, green, blue, _ = image.cmap(image.norm(image.get_array()[0][1]))  # row a, column b
    assert blue > red
    assert fig.axes[0].texts[0].get_text().startswith("+1" if goal == "max" else "-1")
