"""The group-sequential design: boundaries against scipy's multivariate normal, and simulations
of the whole procedure (``decide_pairs`` over looks) for its error rates."""

import math

import numpy as np
import pytest
from scipy import stats

from layerorder.stats.decisions import decide_pairs
from layerorder.stats.sequential import (
    Design,
    boundaries,
    look_schedule,
    nominal_levels,
    spent,
)

SIMS = 2000
LOOKS = look_schedule(5, 20)  # 5, 10, 15, 20 seeds: the default until-decided design


@pytest.mark.parametrize("sides", [1, 2])
@pytest.mark.parametrize("fractions", [(0.5, 1.0), (0.25, 0.5, 0.75, 1.0), (0.3, 0.7, 1.0)])
def test_boundaries_spend_alpha_as_the_multivariate_normal_says(fractions, sides):
    c = boundaries(0.05, fractions, sides)
    t = np.asarray(fractions)
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    for k in range(len(t)):
        upper = np.array(c[: k + 1])
        lower = -upper if sides == 2 else np.full(k + 1, -np.inf)
        inside = stats.multivariate_normal.cdf(
            upper, np.zeros(k + 1), cov[: k + 1, : k + 1], lower_limit=lower,
            rng=np.random.default_rng(0),
        )
        assert 1 - inside == pytest.approx(spent(0.05, t[k]), abs=2e-4)


def test_one_look_is_the_fixed_test_and_interim_levels_are_stricter():
    assert nominal_levels(0.05, (1.0,)) == pytest.approx((0.05,))
    assert Design().level(0.05, 0) == 0.05
    levels = Design(LOOKS).level
    interim = [levels(0.05, k) for k in range(len(LOOKS))]
    assert interim == sorted(interim) and interim[-1] < 0.05 and interim[0] < 0.001
    assert look_schedule(3, 10) == (3, 6, 9, 10)


def _simulate(delta: float, margin: float, sd_seed=1.0, sd_noise=0.7, sims=SIMS, seed=0):
    """Two orders sharing a per-seed effect (as a shared initialisation does); true difference
    ``delta``. Returns the decisions and the seeds each comparison used."""
    rng = np.random.default_rng(seed)
    design = Design(LOOKS)
    decisions, used = [], []
    for _ in range(sims):
        shared = rng.normal(0, sd_seed, LOOKS[-1])
        a = shared + rng.normal(0, sd_noise, LOOKS[-1]) + delta
        b = shared + rng.normal(0, sd_noise, LOOKS[-1])
        (d,) = decide_pairs(
            {"a": dict(enumerate(a)), "b": dict(enumerate(b))}, [("a", "b")], margin=margin,
            design=design, estimate_seeds=False,
        )
        decisions.append(d.decision)
        used.append(d.decided_at or LOOKS[-1])
    return np.array(decisions), np.array(used)


def _bound(rate=0.05, sims=SIMS):
    return rate + 3 * math.sqrt(rate * (1 - rate) / sims)


def test_no_true_difference_keeps_false_different_at_alpha_over_the_looks():
    decisions, used = _simulate(0.0, margin=0.5)
    false_different = np.mean(decisions == "different")
    print(f"false 'different' rate {false_different:.4f} over {SIMS} sequential comparisons")
    assert false_different <= _bound()


def test_a_difference_of_one_sd_is_found_with_fewer_seeds_on_average():
    sd_diff = 0.7 * math.sqrt(2)
    decisions, used = _simulate(sd_diff, margin=0.5)
    power = np.mean(decisions == "different")
    print(f"true difference of 1 SD: found in {power:.1%}, {used.mean():.1f} seeds on average")
    assert power > 0.95 and used.mean() < 15  # a fixed design would use all 20


def test_a_difference_at_the_margin_is_rarely_called_equivalent():
    sd_diff = 0.7 * math.sqrt(2)
    decisions, _ = _simulate(1.0 * sd_diff, margin=1.0 * sd_diff, seed=1)
    false_equivalent = np.mean(decisions == "equivalent")
    print(f"false 'equivalent' rate at the margin {false_equivalent:.4f}")
    assert false_equivalent <= _bound()


def test_looking_at_every_round_at_level_alpha_would_not_hold():
    """The check above can fail: the same simulation with alpha at every look exceeds it."""

    class Naive(Design):
        def level(self, alpha, look, sides=2):
            return alpha

    rng = np.random.default_rng(2)
    hits = 0
    for _ in range(SIMS // 2):
        a, b = rng.normal(0, 1, 20), rng.normal(0, 1, 20)
        (d,) = decide_pairs({"a": dict(enumerate(a)), "b": dict(enumerate(b))}, [("a", "b")],
                            design=Naive(LOOKS), estimate_seeds=False)
        hits += d.decision == "different"
    assert hits / (SIMS // 2) > _bound(sims=SIMS // 2)


def test_small_family_levels_over_many_looks_stay_finite():
    """alpha / 10 pairs over ten looks: the first looks spend (almost) nothing."""
    levels = nominal_levels(0.005, tuple(n / 50 for n in look_schedule(5, 50)))
    assert all(0.0 <= p < 0.005 for p in levels) and levels[0] < 1e-12
    assert boundaries(0.05, (0.05, 1.0))[0] <= 10.0


def _adaptive(values, family, design, margin):
    """``--until-decided`` training only the orders of undecided pairs: each round's look on what
    has been trained, then the next round's seeds for those orders alone."""
    from layerorder.stats.decisions import decide_pairs

    seeds = sorted(next(iter(values.values())))
    trained = {label: {} for label in values}
    wanted = set(values)
    for n in design.looks:
        for label in wanted:
            trained[label].update({s: values[label][s] for s in seeds[:n]})
        # the seeds trained so far, as the analysis of a round sees them
        decisions = decide_pairs(trained, family, margin=margin, design=design,
                                 seed_order=seeds[:n], estimate_seeds=False)
        wanted = {x for d in decisions if d.decision == "undecided" for x in (d.a, d.b)}
        if not wanted:
            break
    return decisions, trained


def test_training_only_undecided_orders_reaches_the_full_designs_decisions():
    """The decisions on what the adaptive rounds trained equal the decisions on every seed of
    every order, pair by pair and look by look, while fewer runs are trained."""
    rng = np.random.default_rng(7)
    design, labels = Design(LOOKS), ["a", "b", "c", "d"]
    family = [(x, y) for i, x in enumerate(labels) for y in labels[i + 1:]]
    saved = 0
    for _ in range(150):
        shared = rng.normal(0, 1.0, LOOKS[-1])
        shift = dict(zip(labels, rng.choice([0.0, 0.0, 0.3, 1.5], size=4)))
        values = {x: dict(enumerate(shared + rng.normal(0, 0.7, LOOKS[-1]) + shift[x]))
                  for x in labels}
        full = decide_pairs(values, family, margin=0.5, design=design, estimate_seeds=False)
        adaptive, trained = _adaptive(values, family, design, 0.5)
        assert [(d.a, d.b, d.decision, d.decided_at) for d in adaptive] == [
            (d.a, d.b, d.decision, d.decided_at) for d in full]
        saved += len(labels) * max(len(v) for v in trained.values()) - sum(
            len(v) for v in trained.values())
    assert saved > 0  # some rounds left decided orders out
