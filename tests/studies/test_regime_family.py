"""Verdicts that respect the source's regime, reliability that means reliability, exact tests
where a t-test does not fit, and Holm across the primary claims (planted stores)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from statsmodels.stats.multitest import multipletests
from torch import nn

from layerorder.errors import ConfigError
from layerorder.experiment.configuration.config import make_config
from layerorder.probe.records import VarianceShift
from layerorder.probe.variance import variance_shift
from layerorder.stats.analysis import analyze
from layerorder.stats.reliability import Outcomes, compare_spread
from layerorder.studies import load_study
from layerorder.studies.claim_tests import parse_test
from layerorder.studies.claims import Verdict
from layerorder.studies.family import control_primary
from layerorder.studies.regime import in_regime, parse_regime, scale_regime
from layerorder.studies.run import ClaimResult, StudyResult
from layerorder.studies.spec import parse_study
from tests.studies.helpers import (
    WARMUP_MEANS,
    evidence,
    paired_runs,
    run,
    warmup_claim,
    warmup_runs,
)


def _test(kind, **params):
    return parse_test(kind, params, "test claim")


def _pairs(shifts, seeds=8, sd=0.1, start=0, config=None):
    return paired_runs(shifts, seeds, sd, config, start, center=80.0, rng_seed=3)


HE = parse_regime({"depth": 110, "optimizer": "sgd"},
                  {"depth": {"min": 56}, "optimizer": ["sgd"]}, "test")


def _regime_verdict(shift: float, depth: int):
    ev = evidence(_pairs({"a": shift, "b": 0.0}))
    v = _test("accuracy", better="a", than="b").evaluate(ev, 0.05)
    config = make_config({"orders": ["conv-bn-relu"], "arch": "resnet", "depth": depth,
                          "optimizer": "sgd"})
    match = scale_regime(HE, config, [], 80.0)
    return v, in_regime(v, match)


def test_a_claim_outside_its_regime_is_not_reproduced_never_contradicted():
    plain, outside = _regime_verdict(-2.0, depth=8)
    assert plain.outcome == "contradicted"
    assert outside.outcome == "not reproduced"
    assert "depth >= 56 needed, this scale has 8" in outside.decide
    agrees, agrees_outside = _regime_verdict(2.0, depth=8)
    assert agrees.outcome == "supported" and agrees_outside.outcome == "agrees outside regime"
    inside = _regime_verdict(-2.0, depth=110)[1]
    assert inside.outcome == "contradicted" and inside.regime.meets


def test_a_regime_need_on_a_setting_the_scale_leaves_unset_is_not_met():
    config = make_config({"orders": ["conv-bn-relu"], "arch": "cnn1d"})
    match = scale_regime(HE, config, [], 97.0)
    assert not match.meets and "none set" in match.unmet[0]
    assert scale_regime(parse_regime(None, None, "x"), config, [], 97.0).meets


def test_a_claim_made_of_batchnorm_read_with_layernorm_is_never_in_its_regime():
    """The norm a scale has is read from the orders the claim compares: hh-norm-helps's sources
    speak of BatchNorm, the study compares LayerNorm placements, so the scale never meets it."""
    study = load_study("rnn-norm")
    claim = next(c for c in study.claims if c.id == "hh-norm-helps")
    config = study.config("lstm", "cpu")
    match = scale_regime(claim.regime, config, [], 90.0, ["lstm-ln", "lstm-ln-ih"])
    assert dict(match.values)["norm"] == "ln" and not match.meets
    assert match.unmet == ("norm bn needed, the claim's orders use ln",)
    v = in_regime(Verdict("contradicted", "planted"), match)
    assert v.outcome == "not reproduced"
    bn = scale_regime(claim.regime, config, [], 90.0, ["lstm-bn-ih", "lstm-none"])
    assert dict(bn.values)["norm"] == "bn" and bn.meets
    mixed = scale_regime(claim.regime, config, [], 90.0, ["lstm-bn-ih", "lstm-ln"])
    assert dict(mixed.values)["norm"] == "bn and ln" and not mixed.meets
    plain = make_config({"orders": ["conv-bn-relu", "conv-relu"], "arch": "cnn1d"})
    need = parse_regime(None, {"norm": ["bn"]}, "x")
    assert scale_regime(need, plain, [], 90.0, ["conv-bn-relu", "conv-relu"]).meets
    assert not scale_regime(need, plain, [], 90.0, ["conv-relu", "no-norm"]).meets  # none
    assert not scale_regime(need, plain, [], 90.0, ["a user's label"]).meets  # not an order


def test_a_claims_regime_reads_the_norm_of_the_orders_it_compares():
    """``claim_regime`` hands the claim's own orders to the regime: hh-norm-helps compares the
    LayerNorm placements even where the stored experiment also holds lstm-bn-ih and lstm-none,
    so 'bn' (which lstm-bn-ih would add) is never read for it."""
    from layerorder.studies.run import claim_regime

    study = load_study("rnn-norm")
    claim = next(c for c in study.claims if c.id == "hh-norm-helps")
    config = study.config("lstm", "cpu")
    ev = evidence(paired_runs({"lstm-ln": 1.0, "lstm-ln-ih": 0.0, "lstm-bn-ih": 0.5,
                               "lstm-none": 0.0}, center=90.0))
    match = claim_regime(claim, ev, config)
    assert dict(match.values)["norm"] == "ln"
    assert "norm bn needed, the claim's orders use ln" in match.unmet
    faster = next(c for c in study.claims if c.id == "bn-ih-faster-training")
    assert "norm" not in dict(claim_regime(faster, ev, config).values)  # read where needed


def test_best_reads_each_arm_at_its_own_better_level_and_the_regime_those_cells():
    """pre-ln-without-warmup reads pre-LN without warmup and post-LN with it, each at its better
    learning rate (1e-3 for both here): the difference is of those cells (82 - 83 = -1, within
    the 2-point margin), the page names the rate each read, and the regime's accuracy is the
    better of those two cells (83.2), never a cell the claim does not read (pre-LN with warmup,
    86.2)."""
    from layerorder.studies.run import claim_regime

    claim, config = warmup_claim("pre-ln-without-warmup")
    ev = evidence(warmup_runs(WARMUP_MEANS), factors=["warmup", "depth", "lr"])
    v = claim.test.evaluate(ev, 0.05)
    assert v.outcome == "supported"
    assert v.estimates[0].mean == pytest.approx(-1.0)
    assert "lr=best (0.001)" in v.evidence
    match = claim_regime(claim, ev, config)
    assert dict(match.values)["accuracy"] == pytest.approx(83.2) and match.meets
    # at the larger rate alone the same arms read 70 against 75, and neither cell reaches 80
    larger = replace(claim.test, a=replace(claim.test.a, condition={
        "warmup": "min", "depth": "max", "lr": "max"}), b=replace(claim.test.b, condition={
            "warmup": "max", "depth": "max", "lr": "max"}))
    assert larger.evaluate(ev, 0.05).outcome == "contradicted"
    at_max = claim_regime(replace(claim, test=larger), ev, config)
    assert at_max.unmet == ("accuracy >= 80 needed, this scale has 75.2",)
    # a claim of orders at a condition still reads every order there
    better, _ = warmup_claim("pre-ln-better-without-warmup")
    assert dict(claim_regime(better, ev, config).values)["accuracy"] == pytest.approx(70.2)


def _units_over_depth(at_110: dict[str, float]) -> list:
    """original and bn-after-add over depths 20 and 110 (5 seeds, near 92 % at depth 20), each
    at ``at_110`` (its mean) at depth 110."""
    runs = paired_runs({"original": 0.0, "bn-after-add": 0.0}, 5, 0.1, {"depth": 20},
                       center=92.0, rng_seed=3)
    for label, mean in at_110.items():
        runs += [replace(r, id=r.id + 100, config={"depth": 110}, final_test_acc=mean + r.seed)
                 for r in runs[:10] if r.label == label]
    return runs


def test_an_interaction_of_units_that_do_not_train_is_outside_its_sources_regime():
    """depth-changes-answer's source (gcr/torch-residual-networks) saw every unit train at
    depth 110 (the worst to 86.4 %): where a unit collapses there, the interaction is one of
    training failures, and the verdict agrees outside that regime; where every unit trains and
    still differs, it is supported."""
    from layerorder.studies.run import claim_regime

    study = load_study("residual-units")
    claim = next(c for c in study.claims if c.id == "depth-changes-answer")
    config = study.config("units", "cpu")
    collapsed = evidence(_units_over_depth({"original": 70.0, "bn-after-add": 12.0}),
                         factors=["depth"])
    v = claim.test.evaluate(collapsed, 0.05)
    match = claim_regime(claim, collapsed, config)
    assert v.outcome == "supported"
    assert dict(match.values)["worst_accuracy"] == pytest.approx(14.0)  # 12 + mean seed 2
    assert match.unmet == ("worst_accuracy >= 50 needed, this scale has 14",)
    assert in_regime(v, match).outcome == "agrees outside regime"
    trained = evidence(_units_over_depth({"original": 88.0, "bn-after-add": 80.0}),
                       factors=["depth"])
    v = claim.test.evaluate(trained, 0.05)
    match = claim_regime(claim, trained, config)
    assert dict(match.values)["worst_accuracy"] == pytest.approx(82.0) and match.meets
    assert in_regime(v, match).outcome == "supported"
    # a claim whose needs do not name it does not show it
    other = next(c for c in study.claims if c.id == "preact-gradient-flow")
    assert "worst_accuracy" not in dict(claim_regime(other, trained, config).values)


def test_a_check_on_built_models_reads_the_norm_of_the_orders_it_builds():
    from layerorder.studies.regime import untrained_regime

    need = parse_regime(None, {"norm": ["bn"]}, "x")
    config = make_config({"orders": ["conv-bn-relu"], "arch": "cnn1d"})
    assert untrained_regime(need, config, 3.0, ["conv-bn-relu", "conv-relu-bn"]).meets
    match = untrained_regime(need, config, 3.0, ["conv-ln-relu"])
    assert match.unmet == ("norm bn needed, the claim's orders use ln",)


def test_regime_tables_are_checked():
    with pytest.raises(ConfigError, match="needs has no field 'dept'.*depth"):
        parse_regime({}, {"dept": {"min": 3}}, "x")
    with pytest.raises(ConfigError, match="min = N"):
        parse_regime({}, {"depth": 56}, "x")
    with pytest.raises(ConfigError, match="list of choices"):
        parse_regime({}, {"optimizer": "sgd"}, "x")


def test_seeds_at_chance_count_as_failed():
    o = Outcomes((10.4, 95.0, 95.2, 94.8), chance=10.0)
    assert o.failed == 1 and o.trained == (95.0, 95.2, 94.8) and o.bad == 1
    assert Outcomes((10.4, 95.0), chance=math.nan).failed == 0  # unknown chance: not counted
    runs = [run(i + 1, "x" if i < 8 else "y", i % 8, 10.0 if i < 6 else 90.0 + i * 0.1)
            for i in range(16)]
    a = analyze(tuple(runs), chance=10.0)
    x = next(r for r in a.reliability if r.label == "x")
    assert x.failed == 6 and x.chance == 10.0 and x.less_reliable


def test_slower_but_stable_orders_are_not_called_less_reliable():
    rng = np.random.default_rng(0)
    runs, i = [], 0
    for seed in range(8):  # "slow" learns to 67 % with a small spread; the others reach 85 %
        for label, mean, sd in (("slow", 67.0, 0.3), ("a", 85.0, 1.0), ("b", 86.0, 1.0)):
            i += 1
            runs.append(run(i, label, seed, mean + rng.normal(0, sd)))
    ev = evidence(runs)
    v = _test("reliability", less_reliable="slow").evaluate(ev, 0.05)
    assert v.outcome != "supported"
    assert "0/8 failed or collapsed" in v.evidence
    assert "slower training is not counted" in v.evidence
    # the old definition (10 points below the condition's median) counted all eight as collapsed
    pooled = np.median([r.final_test_acc for r in runs])
    assert all(r.final_test_acc < pooled - 10 for r in runs if r.label == "slow")
    assert not compare_spread({"slow": Outcomes(tuple(r.final_test_acc for r in runs
                                                     if r.label == "slow")),
                               "a": Outcomes(tuple(r.final_test_acc for r in runs
                                                   if r.label == "a"))})[0].less_reliable


def test_a_wider_spread_where_the_order_is_the_slowest_is_not_read_as_unreliability():
    """'wide' ends with four times the others' spread. Where it reaches the speed target as
    fast as the others that spread is read (supported); where it is the slowest order, still
    learning, it is not (undecided), and the evidence says so."""
    from layerorder.store import EpochRecord

    def planted(wide_needs: int):
        rng = np.random.default_rng(5)
        runs, epochs, i = [], {}, 0
        for seed in range(16):
            for label, sd, needs in (("wide", 2.0, wide_needs), ("a", 0.5, 3), ("b", 0.5, 3)):
                i += 1
                final = 90.0 + rng.normal(0, sd)
                curve = [10.0 + (final - 10.0) * min(1.0, e / needs) for e in range(1, 11)]
                runs.append(run(i, label, seed, curve[-1]))
                epochs[i] = tuple(EpochRecord(e, 0.1, a, 0.1, a, 0.01, 1.0)
                                  for e, a in enumerate(curve, start=1))
        return evidence(runs, epochs=epochs)

    claim = _test("reliability", less_reliable="wide")
    same_speed = claim.evaluate(planted(3), 0.05)
    assert same_speed.outcome == "supported"
    slowest = claim.evaluate(planted(9), 0.05)
    assert slowest.outcome == "undecided" and "here overall (slowest)" in slowest.evidence


def test_a_bimodal_outcome_is_decided_by_the_sign_test():
    runs, i = [], 0
    chance_runs = {1, 3}  # "b" fails (ends at chance) on two of five seeds
    for seed in range(5):
        i += 1
        runs.append(run(i, "a", seed, 90.0 + 0.05 * seed))
        i += 1
        runs.append(run(i, "b", seed, 10.0 if seed in chance_runs else 89.9 + 0.05 * seed))
    ev = evidence(runs)
    ev = replace(ev, results=replace(ev.results, analysis=analyze(tuple(runs), chance=10.0)))
    d = ev.results.analysis.decisions[0]
    assert d.decision == "undecided"  # the t-test cannot read a bimodal difference
    v = _test("accuracy", better="a", than="b").evaluate(ev, 0.05)
    assert v.outcome == "supported" and v.decided_by == "exact sign test"
    assert v.p == pytest.approx(1 / 32)
    assert "Fisher" in v.evidence and "b 2/5" in v.evidence


def test_dead_units_pinned_at_zero_get_the_exact_sign_test():
    from tests.studies.helpers import probed

    runs, probes = probed({"bn": [0.0] * 6, "plain": [1.0, 1.0, 0.0, 2.0, 1.0, 1.0]},
                          stat="dead_units")
    t = _test("difference", expect="less", method="sign",
              a={"order": "bn", "stage": "act", "statistic": "dead_units"},
              b={"order": "plain"})
    v = t.evaluate(evidence(runs, probes), 0.05)
    assert v.outcome == "supported" and v.p == pytest.approx(1 / 32)
    assert "5 below, 1 tied" in v.evidence
    assert v.effect == "5 seeds on the claim's side, 0 against, 1 tied"  # the headline's cell


def test_holm_across_primary_claims_matches_statsmodels():
    study = load_study("residual-units")
    ps = {"preact-beats-original-deep": 0.012, "bn-after-add-worst-deep": 0.03}
    claims = tuple(
        ClaimResult(study.name, c, "x", Verdict("supported", "planted", p=ps.get(c.id, 0.001)))
        for c in study.claims)
    other = load_study("bn-activation")
    more = tuple(ClaimResult(other.name, c, "x",
                             Verdict("supported", "planted", p=0.02 if c.primary else 0.5))
                 for c in other.claims)
    results = [StudyResult(study, "quick", "s.db", claims, (), "", ""),
               StudyResult(other, "quick", "s.db", more, (), "", "")]
    f = control_primary(results, 0.05)
    raw = [p for _, _, p, _ in f.family]
    assert len(raw) == 4
    reject, adjusted, _, _ = multipletests(raw, alpha=0.05, method="holm")
    assert [q for *_, q in f.family] == pytest.approx(list(adjusted))
    by = {(c.study, c.claim.id): c for r in f.results for c in r.claims}
    for (study_name, cid, _p, _q), rej in zip(f.family, reject):
        outcome = by[(study_name, cid)].verdict.outcome
        assert outcome == ("supported" if rej else "undecided")
    # secondary claims keep their own verdicts, and checks are not counted
    assert all(c.verdict.outcome == "supported" for c in f.counted() if not c.claim.primary)
    assert not any(c.claim.kind == "check" for c in f.counted())


def test_claims_that_share_a_comparison_must_say_so(tmp_path: Path):
    base = {"name": "s", "title": "t", "scales": {"quick": {"dataset": "digits", "arch": "mlp"}},
            "experiments": [{"id": "e", "orders": ["linear-bn-relu", "linear-relu-bn"]}]}
    eq = {"id": "eq", "statement": "s", "source": "s", "experiment": "e", "test": "accuracy",
          "equivalent": ["linear-bn-relu", "linear-relu-bn"]}
    better = {"id": "better", "statement": "s", "source": "s", "experiment": "e",
              "test": "accuracy", "better": "linear-relu-bn", "than": "linear-bn-relu"}
    with pytest.raises(ConfigError, match='add shares = "eq" to better'):
        parse_study({**base, "claims": [eq, better]}, tmp_path / "s.toml")
    s = parse_study({**base, "claims": [eq, {**better, "shares": "eq"}]}, tmp_path / "s.toml")
    assert [c.counted for c in s.claims] == [True, False]
    with pytest.raises(ConfigError, match="a check is never primary"):
        parse_study({**base, "claims": [{**eq, "kind": "check", "primary": True}]},
                    tmp_path / "s.toml")


def _varshift_runs(shifts, msqs):
    runs, probes = [], {}
    for seed, (s, m) in enumerate(zip(shifts, msqs)):
        runs.append(run(seed + 1, "x", seed, 90.0, config={"p_drop": 0.5}))
        probes[seed + 1] = [(3, "varshift", VarianceShift("f.0.norm", s, 1.0, s, True, m))]
    return runs, probes


def test_li_formula_uses_the_measured_mean_and_variance():
    t = _test("shift-formula", within=0.1,
              measure={"order": "x", "kind": "varshift", "statistic": "shift",
                       "layers": "first", "condition": {"p_drop": 0.5}})
    msq = [0.6, 0.62, 0.58, 0.61, 0.59]
    formula = [2.0 + m * 1.0 + d for m, d in zip(msq, (0.01, -0.02, 0.0, 0.015, -0.01))]
    runs, probes = _varshift_runs(formula, msq)
    v = t.evaluate(evidence(runs, probes, factors=["p_drop"]), 0.05)
    assert v.outcome == "supported" and "c^2/v = 0.6" in v.evidence
    runs, probes = _varshift_runs([2.0, 2.01, 1.99, 2.0, 2.02], msq)  # the zero-mean 1/q only
    v = t.evaluate(evidence(runs, probes, factors=["p_drop"]), 0.05)
    assert v.outcome == "contradicted"


def test_variance_shift_measures_c2_over_v_and_matches_li_by_simulation():
    g = torch.Generator().manual_seed(0)
    c, v, p = 1.5, 2.0, 0.5
    model = nn.Sequential(nn.Dropout(p), nn.BatchNorm1d(4, momentum=None))
    model.train()
    with torch.no_grad():
        for _ in range(200):
            model(c + math.sqrt(v) * torch.randn(512, 4, generator=g))
    x = c + math.sqrt(v) * torch.randn(20000, 4, generator=g)
    (rec,) = variance_shift(model, x)
    assert rec.mean_sq_ratio == pytest.approx(c * c / v, rel=0.03)
    assert rec.shift == pytest.approx(rec.predicted_shift(1 - p), rel=0.03)
    assert rec.shift > 1 / (1 - p) * 1.3  # well above the zero-mean 1/q


def test_trend_reads_the_direction_of_an_interaction():
    runs = []
    for k, (level, cost) in enumerate(((0.1, 0.0), (0.3, 1.0), (0.5, 2.0))):
        runs += _pairs({"after": cost, "before": 0.0}, seeds=6, start=100 * k,
                       config={"p_drop": level})
    t = _test("trend", better="after", than="before", factor="p_drop")
    v = t.evaluate(evidence(runs, factors=["p_drop"]), 0.05)
    assert v.outcome == "supported" and len(v.estimates) == 3
    assert [e.mean for e in v.estimates] == pytest.approx([0.0, 1.0, 2.0], abs=0.2)
    flipped = _test("trend", better="before", than="after", factor="p_drop")
    assert flipped.evaluate(evidence(runs, factors=["p_drop"]), 0.05).outcome == "contradicted"


def test_li_formula_reads_the_experiments_p_drop_where_it_is_not_varied():
    """A fixed p_drop (the ResNet arm: 0.5 at every condition) comes from the experiment's
    config; without a config and without a named p_drop the claim says what is missing."""
    import dataclasses

    from layerorder.experiment.configuration.config import make_config

    t = _test("shift-formula", within=0.1,
              measure={"order": "x", "kind": "varshift", "statistic": "shift", "layers": "first"})
    msq = [0.6, 0.62, 0.58, 0.61, 0.59]
    formula = [2.0 + m + d for m, d in zip(msq, (0.01, -0.02, 0.0, 0.015, -0.01))]
    runs, probes = _varshift_runs(formula, msq)
    ev = evidence(runs, probes)
    assert "name p_drop" in t.evaluate(ev, 0.05).evidence
    ev = dataclasses.replace(ev, config=make_config({"p_drop": 0.5}))
    v = t.evaluate(ev, 0.05)
    assert v.outcome == "supported" and "q = 0.5" in v.evidence


def test_train_test_gap_is_read_from_the_last_epoch():
    from layerorder.store.records import EpochRecord

    t = _test("difference", expect="less",
              a={"order": "bn", "kind": "run", "statistic": "train_test_gap"},
              b={"order": "plain"})
    runs, epochs = [], {}
    for seed in range(6):
        for k, (label, gap) in enumerate((("bn", 2.0), ("plain", 6.0))):
            i = 2 * seed + k + 1
            runs.append(run(i, label, seed, 90.0))
            last = 90.0 + gap + 0.1 * seed
            epochs[i] = (EpochRecord(1, 0.5, 50.0, 0.4, 60.0, 0.01, 1.0),
                         EpochRecord(2, 0.1, last, 0.3, 90.0, 0.01, 2.0))
    v = t.evaluate(evidence(runs, epochs=epochs), 0.05)
    assert v.outcome == "supported" and "means 2.25 and 6.25" in v.evidence  # + 0.1 * seed


def test_a_claim_on_untrained_models_reads_only_data_arch_and_its_depth():
    from layerorder.experiment.configuration.config import make_config
    from layerorder.studies.regime import Need, Regime, untrained_regime

    config = make_config({"arch": "resnet", "epochs": 12, "optimizer": "sgd",
                          "data_options": {"corr_noise": 0.45}})
    m = untrained_regime(Regime(needs=(Need("depth", low=56),)), config, 998.0)
    assert dict(m.values) == {"dataset": "mnist1d (corr_noise=0.45)", "arch": "resnet",
                              "depth": 998.0}
    assert m.meets
    shallow = untrained_regime(Regime(needs=(Need("depth", low=56),)), config, 20.0)
    assert shallow.unmet == ("depth >= 56 needed, this claim has 20",)
