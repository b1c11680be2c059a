"""``AnalysisPlan``: its stored form, its keywords, and a run's level of a factor."""

import subprocess
import sys
from types import SimpleNamespace

from layerorder.stats.plan import DEFAULT_MARGIN, AnalysisPlan
from layerorder.stats.sequential import Design


def _run(config, lr=0.01):
    """What ``level_of`` reads of a ``RunRecord``: its learning rate and stored key fields."""
    return SimpleNamespace(lr=lr, config=config)


def test_stored_form_round_trips_and_keywords_build_one():
    plan = AnalysisPlan.of(margin=0.3, baseline="standard", factors=["batch_size"],
                           defaults={"batch_size": 100}, design=Design((3, 6)),
                           seed_order=[2, 0, 1, 3, 4, 5], chance=10.5)
    assert plan.looks == (3, 6) and plan.factors == ("batch_size",)
    assert AnalysisPlan.from_stored(plan.to_stored()) == plan
    assert AnalysisPlan.from_stored({}) == AnalysisPlan()
    assert AnalysisPlan().margin == DEFAULT_MARGIN


def test_a_runs_level_of_a_factor():
    plan = AnalysisPlan.of(factors=["batch_size", "lr", "data_options.noise"],
                           defaults={"batch_size": 100})
    run = _run({"batch_size": 8, "data_options": {"noise": "0.4"}}, lr=0.1)
    assert [plan.level_of(run, f) for f in plan.factors] == [8, 0.1, "0.4"]
    # a setting left out of the run's key at its default has the default
    assert plan.level_of(_run({}), "batch_size") == 100


def test_the_plan_loads_no_statistics():
    code = ("import sys, layerorder.stats.plan, layerorder.experiment.configuration.config;"
            "print(any(m == 'scipy' or m.startswith('scipy.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
