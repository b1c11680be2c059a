"""Claim evaluation on stored results prepared for each outcome: supported, contradicted,
undecided, for every test kind; intervals against scipy."""

import math

import numpy as np
import pytest
from scipy import stats

from layerorder.errors import ConfigError
from layerorder.studies.claim_tests import parse_test
from layerorder.studies.claims import TESTS, estimate
from tests.studies.helpers import evidence, paired_runs, probed, run


def _test(kind, **params):
    return parse_test(kind, params, "test claim")


def test_interval_is_scipys_90_percent_t_interval():
    values = [0.41, 0.52, 0.47, 0.55, 0.49]
    e = estimate("x", values)
    lo, hi = stats.t.interval(0.90, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert (e.low, e.high) == pytest.approx((lo, hi))


@pytest.mark.parametrize(
    "values,outcome",
    [
        ([0.50, 0.51, 0.49, 0.50, 0.50], "supported"),  # inside [0.45, 0.55]
        ([0.70, 0.71, 0.69, 0.70, 0.72], "contradicted"),  # wholly above the band
        ([0.40, 0.60, 0.52, 0.48, 0.66], "undecided"),  # straddles the edge
    ],
)
def test_value_between(values, outcome):
    runs, probes = probed({"conv-bn-relu": values})
    t = _test("value", measure={"order": "conv-bn-relu", "stage": "act",
                                "statistic": "frac_positive"}, between=[0.45, 0.55])
    v = t.evaluate(evidence(runs, probes), 0.05)
    assert v.outcome == outcome
    assert (v.decide != "") == (outcome == "undecided")


def test_value_reads_the_stage_that_feeds_a_role_and_the_chosen_epoch():
    runs, probes = probed({"a": [0.9, 0.9, 0.9]}, stat="skewness")
    ev = evidence(runs, probes)
    trained = {"order": "a", "stage": "act", "statistic": "skewness"}
    assert _test("value", measure=trained, above=0.5).evaluate(ev, 0.05).outcome == "supported"
    at_init = {**trained, "epoch": "init"}  # planted values are at the last epoch only
    assert _test("value", measure=at_init, above=0.5).evaluate(ev, 0.05).outcome == "contradicted"
    # the BN's input is the conv (the stage before it), whose skewness is 0
    feed = {"order": "a", "stage": "input:norm", "statistic": "skewness"}
    assert _test("value", measure=feed, below=0.5).evaluate(ev, 0.05).outcome == "supported"


@pytest.mark.parametrize(
    "a,b,expect,outcome",
    [
        ([0.6, 0.62, 0.61, 0.6], [0.5, 0.51, 0.5, 0.52], "greater", "supported"),
        ([0.4, 0.42, 0.41, 0.4], [0.5, 0.51, 0.5, 0.52], "greater", "contradicted"),
        ([0.5, 0.7, 0.3, 0.6], [0.5, 0.5, 0.5, 0.5], "greater", "undecided"),
    ],
)
def test_difference_between_orders_paired_by_seed(a, b, expect, outcome):
    runs, probes = probed({"x": a, "y": b})
    t = _test("difference", expect=expect,
              a={"order": "x", "stage": "act", "statistic": "frac_positive"}, b={"order": "y"})
    assert t.evaluate(evidence(runs, probes), 0.05).outcome == outcome


def test_no_difference_at_all_is_not_a_difference():
    runs, probes = probed({"x": [0.0] * 5, "y": [0.0] * 5}, stat="dead_units")
    t = _test("difference", expect="less",
              a={"order": "x", "stage": "act", "statistic": "dead_units"}, b={"order": "y"})
    v = t.evaluate(evidence(runs, probes), 0.05)
    assert v.outcome == "undecided" and "sign test" in v.evidence and "differ at all" in v.decide


def test_difference_on_the_log_scale_reads_as_a_ratio():
    runs, probes = probed({"x": [2.0, 2.1, 1.9, 2.0], "y": [1.0, 1.02, 0.98, 1.0]})
    t = _test("difference", expect="greater", log=True,
              a={"order": "x", "kind": "varshift", "statistic": "shift"}, b={"order": "y"})
    v = t.evaluate(evidence(runs, probes), 0.05)
    assert v.outcome == "supported" and "= 2" in v.evidence and "geometric mean" in v.evidence


def test_equivalence_needs_a_margin_and_uses_it():
    with pytest.raises(ConfigError, match="margin"):
        _test("difference", expect="equivalent",
              a={"order": "x", "stage": "act", "statistic": "mean"})
    runs, probes = probed({"x": [0.5, 0.52, 0.51, 0.5], "y": [0.5, 0.51, 0.5, 0.52]})
    t = _test("difference", expect="equivalent", margin=0.05,
              a={"order": "x", "stage": "act", "statistic": "frac_positive"}, b={"order": "y"})
    assert t.evaluate(evidence(runs, probes), 0.05).outcome == "supported"


def _acc_runs(shifts, seeds=8, sd=0.1, config=None, start=0):
    return paired_runs(shifts, seeds, sd, config, start)


@pytest.mark.parametrize(
    "shifts,seeds,outcome",
    [
        ({"a": 2.0, "b": 0.0}, 8, "supported"),
        ({"a": -2.0, "b": 0.0}, 8, "contradicted"),
        ({"a": 0.0, "b": 0.0}, 8, "undecided"),  # equivalent within 0.5: a smaller gain may be
        (None, 3, "undecided"),
    ],
)
def test_accuracy_better(shifts, seeds, outcome):
    if shifts is None:  # three noisy pairs: differences -0.2, +1.5, -0.3
        runs = [run(i * 2 + j, label, i, acc) for i, pair in enumerate(
            [(95.0, 95.2), (96.5, 95.0), (94.8, 95.1)]) for j, (label, acc) in
            enumerate(zip("ab", pair))]
    else:
        runs = _acc_runs(shifts, seeds)
    v = _test("accuracy", better="a", than="b").evaluate(evidence(runs), 0.05)
    assert v.outcome == outcome
    if shifts is None:
        assert "seeds per order" in v.decide


def test_equivalence_contradicts_a_claimed_advantage_larger_than_the_margin():
    ev = evidence(_acc_runs({"a": 0.0, "b": 0.0}))
    big = _test("accuracy", better="a", than="b", by=2.5).evaluate(ev, 0.05)
    assert big.outcome == "contradicted"
    small = _test("accuracy", better="a", than="b", by=0.2).evaluate(ev, 0.05)
    assert small.outcome == "undecided" and "smaller margin" in small.decide


def test_a_measure_matching_several_conditions_is_refused():
    runs, probes = probed({"x": [0.5, 0.5]})
    runs += [run(10 + i, "x", i, 95.0) for i in range(2)]  # a second run per seed
    probes.update({10 + i: probes[1 + i] for i in range(2)})
    t = _test("value", measure={"order": "x", "stage": "act", "statistic": "frac_positive"},
              above=0.1)
    with pytest.raises(ConfigError, match="name the condition"):
        t.evaluate(evidence(runs, probes), 0.05)


@pytest.mark.parametrize(
    "shift,outcome", [(0.0, "supported"), (3.0, "contradicted")]
)
def test_accuracy_equivalent(shift, outcome):
    ev = evidence(_acc_runs({"a": shift, "b": 0.0}))
    assert _test("accuracy", equivalent=["a", "b"]).evaluate(ev, 0.05).outcome == outcome


def test_accuracy_at_a_condition_and_at_every_condition():
    runs = (_acc_runs({"a": 2.0, "b": 0.0}, config={"depth": 8})
            + _acc_runs({"a": -2.0, "b": 0.0}, config={"depth": 32}, start=100))
    ev = evidence(runs, factors=["depth"])
    better = {"better": "a", "than": "b"}
    assert _test("accuracy", **better, condition={"depth": "min"}).evaluate(ev, 0.05).outcome \
        == "supported"
    assert _test("accuracy", **better, condition={"depth": 32}).evaluate(ev, 0.05).outcome \
        == "contradicted"
    # without a condition the claim must hold in each: it does not
    assert _test("accuracy", **better).evaluate(ev, 0.05).outcome == "contradicted"


@pytest.mark.parametrize(
    "shifts,outcome",
    [
        ({"a": 4.0, "b": 2.0, "c": 0.0}, "supported"),
        ({"a": 0.0, "b": 2.0, "c": 4.0}, "contradicted"),
        ({"a": 0.1, "b": 0.05, "c": 0.0}, "undecided"),
    ],
)
def test_ranking(shifts, outcome):
    seeds, sd = (8, 0.1) if outcome != "undecided" else (3, 0.5)
    ev = evidence(_acc_runs(shifts, seeds, sd))
    v = _test("ranking", ranking=["a", "b", "c"]).evaluate(ev, 0.05)
    assert v.outcome == outcome and "Kendall" in v.evidence


def test_a_ranking_tier_leaves_its_own_pairs_untested():
    """["a", ["b", "c"], "d"]: b and c are not ranked between themselves, so c ahead of b
    contradicts nothing (5 pairs, every one in the stated direction), while d ahead of c
    (across tiers) contradicts; Kendall's tau counts the tier as a tie (scipy's tau-b)."""
    from scipy import stats

    ranking = ["a", ["b", "c"], "d"]
    ev = evidence(_acc_runs({"a": 6.0, "b": 2.0, "c": 4.0, "d": 0.0}, 8, 0.1))
    v = _test("ranking", ranking=ranking).evaluate(ev, 0.05)
    assert v.outcome == "supported" and "of 5 pairs the ranking implies, 5 differ" in v.evidence
    means = [e.mean for e in v.estimates]
    tau = stats.kendalltau([0, 1, 1, 2], [-m for m in means]).statistic
    assert v.evidence.endswith(f"= {tau:+.2f}") and tau < 1  # the tie keeps tau-b below 1
    crossed = evidence(_acc_runs({"a": 6.0, "b": 2.0, "c": 4.0, "d": 5.0}, 8, 0.1))
    assert _test("ranking", ranking=ranking).evaluate(crossed, 0.05).outcome == "contradicted"
    for bad in (["a", []], ["a", ["b", 3]], ["a", ["a", "b"]]):
        with pytest.raises(ConfigError, match="'ranking'"):
            _test("ranking", ranking=bad)


def test_reliability():
    rng = np.random.default_rng(3)
    runs, i = [], 0
    for seed in range(12):
        for label, sd in (("wild", 4.0), ("calm1", 0.2), ("calm2", 0.2)):
            i += 1
            runs.append(run(i, label, seed, 95 + rng.normal(0, sd)))
    ev = evidence(runs)
    assert _test("reliability", less_reliable="wild").evaluate(ev, 0.05).outcome == "supported"
    # the calm orders are more reliable than the rest (which includes the wild one)
    v = _test("reliability", less_reliable="calm1").evaluate(ev, 0.05)
    assert v.outcome in ("contradicted", "undecided")
    few = evidence(runs[:9])  # three seeds: no test can tell
    assert _test("reliability", less_reliable="wild").evaluate(few, 0.05).outcome == "undecided"


def _lr_runs(limits, lrs=(0.01, 0.1, 1.0), seeds=5):
    """Each order diverges above its limit (None: never)."""
    runs, i = [], 0
    for label, limit in limits.items():
        for lr in lrs:
            for seed in range(seeds):
                i += 1
                bad = limit is not None and lr > limit
                runs.append(run(i, label, seed, None if bad else 95.0 + 0.1 * seed, lr=lr,
                                status="diverged" if bad else "done"))
    return runs


@pytest.mark.parametrize(
    "limits,outcome",
    [
        ({"bn": 1.0, "plain": 0.01}, "supported"),
        ({"bn": 0.01, "plain": 0.1}, "contradicted"),
        # the same limit within the sweep: a tie on the grid is never a contradiction
        ({"bn": 0.1, "plain": 0.1}, "undecided"),
        ({"bn": None, "plain": None}, "undecided"),  # both stable at the top: extend the sweep
        ({"bn": 0.001, "plain": 0.001}, "undecided"),  # neither stable anywhere
    ],
)
def test_stable_lr(limits, outcome):
    ev = evidence(_lr_runs(limits))
    v = _test("stable-lr", higher="bn", than="plain").evaluate(ev, 0.05)
    assert v.outcome == outcome
    if limits["bn"] == limits["plain"] == 0.1:
        assert "finer grid" in v.decide and "bootstrap interval +0 to +0" in v.evidence
    if outcome == "supported":  # 5 of 5 seeds: the exact sign test's p, not the bootstrap's
        assert v.p == pytest.approx(1 / 32) and "higher on 5, lower on 0" in v.evidence
        # the headline leads with the counts that decide it, then the means' limits
        assert v.effect == ("seeds' own limits higher on 5, lower on 0, tied on 0 (sign-test p"
                            " 0.0312); largest stable lr of the means 1.0 vs 0.01")


def test_stable_lr_with_three_seeds_cannot_be_decided_however_clear():
    ev = evidence(_lr_runs({"bn": 1.0, "plain": 0.01}, seeds=3))
    v = _test("stable-lr", higher="bn", than="plain").evaluate(ev, 0.05)
    assert v.outcome == "undecided" and v.p == pytest.approx(1 / 8)
    assert "at least 5 untied seeds" in v.decide


def test_interaction():
    strong = (_acc_runs({"a": 3.0, "b": 0.0}, config={"depth": 8})
              + _acc_runs({"a": -3.0, "b": 0.0}, config={"depth": 32}, start=100))
    t = _test("interaction", factor="depth")
    assert t.evaluate(evidence(strong, factors=["depth"]), 0.05).outcome == "supported"
    flat = (_acc_runs({"a": 0.0, "b": 0.0}, config={"depth": 8})
            + _acc_runs({"a": 0.0, "b": 0.0}, config={"depth": 32}, start=100))
    v = t.evaluate(evidence(flat, factors=["depth"]), 0.05)
    assert v.outcome == "undecided" and "not evidence of its absence" in v.evidence


def test_a_claim_without_runs_is_undecided_not_run():
    ev = evidence(_acc_runs({"a": 0.0, "b": 0.0}))
    v = _test("accuracy", better="a", than="missing").evaluate(ev, 0.05)
    assert v.outcome == "undecided" and "no finished runs" in v.evidence


def test_every_registered_kind_is_covered_here():
    assert set(TESTS) == {"value", "difference", "accuracy", "ranking", "reliability",
                          "stable-lr", "interaction", "trend", "shift-formula", "same-function",
                          "init-grad", "first-update"}


@pytest.mark.parametrize(
    "kind,params,message",
    [
        ("valu", {}, "did you mean 'value'"),
        ("value", {"measure": {"order": "a", "statistic": "frac_postive"}, "above": 1},
         "frac_positive"),
        ("value", {"measure": {"order": "a", "statistic": "mean", "stage": "norm"}},
         "exactly one of"),
        ("value", {"measure": {"order": "a", "statistic": "mean", "stage": "bogus"}, "above": 1},
         "stage must be a role"),
        ("accuracy", {"better": "a", "than": "b", "margin": 1}, "takes no key 'margin'"),
        ("ranking", {"ranking": ["a"]}, "two or more"),
    ],
)
def test_bad_claims_fail_with_one_clear_line(kind, params, message):
    with pytest.raises(ConfigError, match=message):
        _test(kind, **params)


def test_run_measures_read_final_metrics_and_within_filters_module_paths():
    runs = [run(i + 1, "a", i, 90.0 + i) for i in range(3)]
    ev = evidence(runs)
    acc = _test("value", measure={"order": "a", "kind": "run", "statistic": "final_test_acc"},
                above=85.0)
    v = acc.evaluate(ev, 0.05)
    assert v.outcome == "supported" and "= 91" in v.evidence
    with pytest.raises(ConfigError, match="final_test_acc"):
        _test("value", measure={"order": "a", "kind": "run", "statistic": "final_acc"}, above=1)
    grads, probes = probed({"b": [1.0, 1.0]})
    from layerorder.probe.records import GradFlow

    for rid in probes:  # a head layer after the encoder's: 'within' leaves it out
        probes[rid] += [(3, "grad", GradFlow("features.0.w", "Linear", 2.0, 1.0, 2.0, "ok")),
                        (3, "grad", GradFlow("head", "Linear", 9.0, 1.0, 9.0, "ok"))]
    last = {"order": "b", "kind": "grad", "statistic": "grad_norm", "layers": "last"}
    ev = evidence(grads, probes)
    assert ev.values(_test("value", measure=last, above=0).measure) == {0: 9.0, 1: 9.0}
    inside = {**last, "within": "features."}
    assert ev.values(_test("value", measure=inside, above=0).measure) == {0: 2.0, 1: 2.0}


def test_nan_values_are_left_out():
    e = estimate("x", [1.0, math.nan, 2.0])
    assert e.n == 2


@pytest.mark.parametrize("expect,shift,outcome", [
    ("not-greater", 0.0, "supported"), ("not-greater", 3.0, "contradicted"),
    ("not-greater", 1.0, "undecided"),
    ("not-less", 0.0, "supported"), ("not-less", -3.0, "contradicted"),
    ("not-less", -1.0, "undecided"),
])
def test_one_sided_margins_are_non_superiority_and_non_inferiority(expect, shift, outcome):
    """'a does not improve on b' (not-greater): the 90 % t interval of a - b (scipy's) lies below
    the margin (supported), above it (contradicted), or across it (undecided); 'a is no worse
    than b' (not-less): above minus the margin, below it, or across it."""
    runs = _acc_runs({"a": shift, "b": 0.0}, seeds=8, sd=0.3)
    t = _test("difference", expect=expect, margin=1.0,
              a={"order": "a", "kind": "run", "statistic": "final_test_acc"}, b={"order": "b"})
    v = t.evaluate(evidence(runs), 0.05)
    acc = {(r.label, r.seed): r.final_test_acc for r in runs}
    diffs = [acc["a", s] - acc["b", s] for s in range(8)]
    low, high = stats.t.interval(0.9, 7, loc=np.mean(diffs), scale=stats.sem(diffs))
    assert v.outcome == outcome
    inside, outside = (high < 1.0, low > 1.0) if expect == "not-greater" else (low > -1.0,
                                                                               high < -1.0)
    assert inside == (outcome == "supported") and outside == (outcome == "contradicted")
    for margin in ({"margin": -1.0}, {}):  # a negative margin, or none
        with pytest.raises(ConfigError, match=f"'{expect}' needs a positive margin"):
            _test("difference", expect=expect, **margin,
                  a={"order": "a", "kind": "run", "statistic": "final_test_acc"})


def test_run_measures_read_a_numbered_epoch():
    """``epoch = N`` reads the N-th epoch's record (the training loss over its batches);
    ``last`` the last one; a run without that epoch is left out."""
    from layerorder.store import EpochRecord

    runs = [run(i + 1, "a", i, 90.0) for i in range(3)]
    epochs = {r.id: [EpochRecord(e, 2.0 / e + r.seed, 50.0, 1.0, 90.0, 0.01, 1.0)
                     for e in range(1, 5 if r.seed < 2 else 3)] for r in runs}
    ev = evidence(runs, epochs=epochs)
    measure = {"order": "a", "kind": "run", "statistic": "train_loss"}
    at = _test("value", measure={**measure, "epoch": 2}, above=0).measure
    assert ev.values(at) == {0: 1.0, 1: 2.0, 2: 3.0} and "epoch 2" in at.describe()
    assert ev.values(_test("value", measure={**measure, "epoch": 4}, above=0).measure) == {
        0: 0.5, 1: 1.5}  # seed 2's run has 2 epochs
    assert ev.values(_test("value", measure=measure, above=0).measure) == {
        0: 0.5, 1: 1.5, 2: 3.0}
    # a run that diverged at epoch 3 is read at epoch 2, never at 3 or as its last epoch
    late = run(9, "b", 0, None, status="diverged")
    ev = evidence([*runs, late], epochs={**epochs, 9: [
        EpochRecord(1, 2.0, 50.0, 1.0, 60.0, 0.01, 1.0),
        EpochRecord(2, 1.5, 50.0, 1.0, 60.0, 0.01, 1.0),
        EpochRecord(3, math.nan, None, math.nan, None, 0.01, 1.0)]})
    on_b = {"order": "b", "kind": "run", "statistic": "train_loss"}
    assert ev.values(_test("value", measure={**on_b, "epoch": 2}, above=0).measure) == {0: 1.5}
    assert ev.values(_test("value", measure={**on_b, "epoch": 3}, above=0).measure) == {}
    assert ev.values(_test("value", measure=on_b, above=0).measure) == {}
    for bad in ({**measure, "epoch": 0}, {**measure, "statistic": "final_test_acc", "epoch": 2},
                {"order": "a", "statistic": "mean", "stage": "act", "epoch": 2}):
        with pytest.raises(ConfigError, match="an epoch number"):
            _test("value", measure=bad, above=0)
