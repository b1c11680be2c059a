"""The successive-halving plan: rounds, costs within the budget, seeds kept apart."""

import pytest

from layerorder.errors import ConfigError
from layerorder.search import SELECTION_SEED, plan_search


def test_rounds_shrink_by_eta_and_fit_the_budget():
    plan = plan_search(18, epochs=20, budget=30, eta=3, finalists=3, selection_seeds=2)
    assert [(r.candidates, r.keep) for r in plan.rounds] == [(18, 6), (6, 3)]
    assert [r.epochs for r in plan.rounds] == [2, 7]  # 20/9 and 20/3, rounded
    assert plan.round_cost() == pytest.approx((18 * 2 * 2 + 6 * 2 * 7) / 20)
    assert plan.cost() <= 30 and plan.max_seeds == int((30 - plan.round_cost()) // 3)
    assert all(s >= SELECTION_SEED for r in plan.rounds for s in r.seeds)
    assert plan.max_seeds < SELECTION_SEED  # final seeds 0.. never reach the selection seeds


def test_a_budget_too_small_says_what_would_do():
    # rounds 7.8 runs (18x2 seeds at 2 epochs, 6x2 at 7, of 20), final at least 3 x 3
    with pytest.raises(ConfigError, match="give --budget 17 or more"):
        plan_search(18, epochs=20, budget=10, eta=3, finalists=3, selection_seeds=2)


def test_few_candidates_go_straight_to_the_final():
    plan = plan_search(2, epochs=10, budget=20, finalists=3)
    assert plan.rounds == () and plan.finalists == 2


def test_rounds_never_repeat_a_length():
    """With 3 epochs, 18/9 and 18/3 both round to 1 epoch: one round keeps the finalists (a
    second 1-epoch round on the same seeds would only reread the same runs)."""
    plan = plan_search(18, epochs=3, budget=30, eta=3, finalists=3, selection_seeds=2)
    assert [(r.candidates, r.keep, r.epochs) for r in plan.rounds] == [(18, 3, 1)]
    assert plan.max_seeds == 6  # (30 - 12) / 3


def test_every_plan_checks_its_budget():
    with pytest.raises(ConfigError, match="too small"):
        plan_search(24, epochs=3, budget=1, finalists=1)
    with pytest.raises(ConfigError, match="positive number"):
        plan_search(4, epochs=3, budget=float("nan"))


def test_default_budget_is_a_third_or_what_the_plan_needs():
    assert plan_search(18, epochs=20, budget=None).budget == 30  # 18 x 5 / 3
    assert plan_search(35, epochs=20, budget=None).budget == 58  # whole runs, at most a third
    small = plan_search(4, epochs=3, budget=None, finalists=3)  # 4 x 5 / 3 would be too small
    assert small.cost() <= small.budget and small.max_seeds >= 3


def test_a_huge_budget_still_caps_the_final_seeds():
    from layerorder.search.budget import MAX_FINAL_SEEDS

    assert plan_search(18, epochs=20, budget=100_000).max_seeds == MAX_FINAL_SEEDS
