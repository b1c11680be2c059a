"""Budgets in full runs or wall-clock time; a time budget sets the final stage's seeds from the
rounds' measured time."""

import pytest

from layerorder.errors import ConfigError
from layerorder.search import plan_search
from layerorder.search.budget import Budget, capped_for_time, parse_budget
from tests.helpers import run_cli


@pytest.mark.parametrize(
    "text, expected",
    [(None, Budget()), ("30", Budget(runs=30.0)), ("12.5", Budget(runs=12.5)),
     ("45m", Budget(seconds=2700.0)), ("2h", Budget(seconds=7200.0)),
     ("900s", Budget(seconds=900.0))],
)
def test_parse_budget(text, expected):
    assert parse_budget(text) == expected


@pytest.mark.parametrize("text", ["abc", "0", "-5", "nan", "3d", "1e9x"])
def test_bad_budgets_are_refused(text):
    with pytest.raises(ConfigError, match="neither a number of full runs"):
        parse_budget(text)


def test_time_left_sets_the_final_seeds():
    plan = plan_search(18, epochs=10, budget=None, eta=3, finalists=3, selection_seeds=2)
    # 600 s left, 2 s per epoch (wall, all workers), 10 epochs x 3 finalists per seed: 10 seeds
    capped = capped_for_time(plan, seconds=1000, spent_seconds=400, seconds_per_epoch=2.0)
    assert capped.max_seeds == 10
    assert capped.budget == pytest.approx(plan.round_cost() + 3 * 10)
    # too little time left: the final stage still takes its first look (3 seeds)
    assert capped_for_time(plan, 500, 490, 2.0).max_seeds == 3


def test_time_budget_from_the_cli(capsys):
    code, out, err = run_cli(capsys, "search", "--budget", "10m", "--dry-run")
    assert code == 0, err
    assert "time budget 600 s" in " ".join(out.split())
    code, _, err = run_cli(capsys, "search", "--budget", "soon", "--dry-run")
    assert code == 2 and "neither a number of full runs" in err
