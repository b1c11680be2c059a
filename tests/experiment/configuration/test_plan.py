"""One analysis plan: made from the experiment's grid the same way for ``compare`` and
``report``, stored with the experiment, read back by ``report`` (whose flags win)."""

import dataclasses

from layerorder.data import chance_level
from layerorder.experiment.configuration.config import make_config
from layerorder.experiment.configuration.plan import analysis_plan, plan_of_grid, stored_plan
from layerorder.report.info import build_info
from layerorder.stats.plan import AnalysisPlan
from layerorder.store import Store
from tests.helpers import run_cli, tiny_store


def test_the_plan_of_a_config_is_the_plan_of_its_grid():
    cfg = make_config({"vary": ["batch_size=8,32"], "until_decided": True, "seeds": 3,
                       "max_seeds": 6, "margin": 1.5, "baseline": "standard"})
    plan = analysis_plan(cfg)
    assert plan == AnalysisPlan(margin=1.5, baseline="standard", factors=("batch_size",),
                                defaults=(("batch_size", 100),), looks=(3, 6),
                                seed_order=(0, 1, 2, 3, 4, 5), chance=plan.chance)
    assert plan == plan_of_grid(cfg.grid(), margin=1.5, baseline="standard", chance=plan.chance)
    assert plan.chance is not None and 0 < plan.chance < 100  # mnist1d's most frequent class
    # a varied data option: the chance level of the options as given, one for the plan
    noisy = make_config({"data_options": ["num_samples=500"], "vary": ["p_drop=0.1,0.2"]})
    assert analysis_plan(noisy).chance == chance_level("mnist1d", (("num_samples", "500"),))
    assert AnalysisPlan.from_stored(plan.to_stored()) == plan


def test_compare_stores_its_plan_and_report_reads_it_back(tmp_path, capsys):
    db = tiny_store(capsys, tmp_path / "s.db", "--margin", "2", orders="standard,no-norm",
                    seeds=2)
    with Store.open(db, read_only=True) as store:
        exp = store.latest_experiment()
        assert exp.plan is not None and exp.plan["margin"] == 2.0
        plan = stored_plan(exp)
        assert plan == dataclasses.replace(plan_of_grid(exp.config, margin=2.0),
                                           chance=plan.chance) and plan.chance > 0
        assert stored_plan(exp, margin="0.25").margin == 0.25  # the caller's setting wins
        info = build_info(store, exp)
        assert info.analysis.plan == plan
        assert all(d.margin == 2.0 for d in info.analysis.decisions)
    page = tmp_path / "r.html"
    code, _, err = run_cli(capsys, "report", "--store", db, "--output", page)
    assert code == 0, err
    assert "±2 points" in page.read_text()
    code, _, err = run_cli(capsys, "report", "--store", db, "--output", page, "--margin", "0")
    assert code == 2 and "margin must be a number > 0" in err


def test_an_experiment_stored_before_plans_gets_the_plan_of_its_grid(tmp_path, capsys):
    db = tiny_store(capsys, tmp_path / "s.db", "--vary", "batch_size=50,100", seeds=1)
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE experiments SET plan_json = NULL")
    with Store.open(db, read_only=True) as store:
        exp = store.latest_experiment()
        assert exp.plan is None
        assert stored_plan(exp) == plan_of_grid(exp.config)  # as analysed before plans were
        assert stored_plan(exp).factors == ("batch_size",) and stored_plan(exp).chance is None


def test_analysis_records_its_plan(tmp_path, capsys):
    from layerorder.stats.analysis import analyze

    db = tiny_store(capsys, tmp_path / "s.db", orders="standard,no-norm", seeds=2)
    with Store.open(db, read_only=True) as store:
        runs = store.runs(store.latest_experiment().id)
    a = analyze(runs, margin=0.3, baseline="standard")
    assert a.plan == AnalysisPlan(margin=0.3, baseline="standard") and a.margin == 0.3
    assert analyze(runs, a.plan) == a
    wider = analyze(runs, dataclasses.replace(a.plan, margin=50.0))
    assert wider.decisions[0].margin == 50.0
