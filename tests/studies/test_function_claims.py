"""The same-function check: dropout before or after ReLU is one function, bit for bit; orders
that differ are told apart; an identity is only ever a check."""

from __future__ import annotations

import math

import pytest
import torch

from layerorder.blocks import block, seed_dropout
from layerorder.errors import ConfigError
from layerorder.experiment.configuration.config import make_config
from layerorder.order import parse_order
from layerorder.studies import load_study
from layerorder.studies.claim_tests import parse_test
from layerorder.studies.evidence import Evidence
from layerorder.studies.function_claims import InitGradient
from layerorder.studies.spec import parse_study


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("seed", range(3))
def test_dropout_before_and_after_relu_are_bit_identical(p, seed):
    """ReLU(m x) = m ReLU(x) for a mask m in {0, 1/q}: the outputs and the input gradients of the
    two blocks are equal bit for bit (torch.equal), not merely close."""
    x = torch.randn(64, 8, 20, dtype=torch.float32, generator=torch.Generator().manual_seed(seed))
    outs, grads = [], []
    for spec in ("conv-bn-relu-drop", "conv-bn-drop-relu"):
        torch.manual_seed(seed)
        blk = block(parse_order(spec), 8, 16, ndim=1, kernel_size=3, p_drop=p)
        seed_dropout(blk, seed)
        xi = x.clone().requires_grad_(True)
        y = blk.train()(xi)
        y.square().sum().backward()
        outs.append(y.detach())
        grads.append(xi.grad)
    assert torch.equal(outs[0], outs[1])
    assert torch.equal(grads[0], grads[1])
    assert (outs[0] == 0).float().mean() > p / 2  # the masks did drop units


def _evidence(orders, **settings) -> Evidence:
    config = make_config({"dataset": "synthetic", "data_options": {"num_samples": 300},
                          "arch": "cnn1d", "orders": list(orders), "p_drop": 0.5, **settings})
    return Evidence("check", None, {}, config)


def test_same_function_supported_for_the_identity_and_leaves_the_global_rng():
    test = parse_test("same-function", {"a": "conv-bn-relu-drop", "b": "conv-bn-drop-relu",
                                        "seeds": 3}, "here")
    state = torch.get_rng_state()
    verdict = test.evaluate(_evidence(["conv-bn-relu-drop"]), 0.05)
    assert verdict.outcome == "supported"
    assert "equal bit for bit" in verdict.evidence and "3 seeds" in verdict.evidence
    assert torch.equal(torch.get_rng_state(), state)


def test_same_function_contradicted_where_dropout_moves_across_bn():
    """Dropout before BN changes BN's batch statistics: not the same function."""
    test = parse_test("same-function", {"a": "conv-bn-relu-drop", "b": "conv-drop-bn-relu",
                                        "seeds": 2}, "here")
    verdict = test.evaluate(_evidence(["conv-bn-relu-drop"]), 0.05)
    assert verdict.outcome == "contradicted"
    assert "differ for seeds [0, 1]" in verdict.evidence


def test_builtin_identity_check_is_a_check_and_holds():
    study = load_study("dropout-bn")
    (claim,) = [c for c in study.claims if c.test.kind == "same-function"]
    assert claim.kind == "check" and not claim.counted
    verdict = claim.test.evaluate(
        Evidence("x", None, {}, study.config(claim.experiment, "quick")), 0.05)
    assert verdict.outcome == "supported"


def test_an_identity_is_never_a_claim(tmp_path):
    study = load_study("dropout-bn")
    data = {
        "name": "identity", "title": "t", "scales": {"quick": {"epochs": 1, "seeds": 2}},
        "experiments": [{"id": "e", "orders": ["conv-bn-relu-drop"]}],
        "claims": [{"id": "same", "statement": "s", "source": "s", "experiment": "e",
                    "test": "same-function", "a": "conv-bn-relu-drop",
                    "b": "conv-bn-drop-relu"}],
    }
    with pytest.raises(ConfigError, match="shows an identity: it is a check"):
        parse_study(data, tmp_path / "identity.toml")
    assert study.name == "dropout-bn"


@pytest.mark.parametrize(("params", "message"), [
    ({"a": "conv-bn-relu-drop"}, "'b' must be an order spec string"),
    ({"a": "conv-bn-relu-drop", "b": " "}, "'b' must be an order spec string"),
    ({"a": "conv-relu", "b": "conv-relu", "seeds": 0}, "'seeds' must be a positive integer"),
])
def test_bad_same_function_keys(params, message):
    with pytest.raises(ConfigError, match=message):
        parse_test("same-function", params, "here")


def test_same_false_checks_that_two_placements_differ():
    """Average pooling does not commute with ReLU; max pooling does (both checked bit for bit)."""
    differ = parse_test("same-function", {"a": "conv-bn-relu-avgpool", "b": "conv-bn-avgpool-relu",
                                          "seeds": 2, "same": False}, "here")
    assert differ.evaluate(_evidence(["conv-bn-relu"]), 0.05).outcome == "supported"
    same = parse_test("same-function", {"a": "conv-bn-relu-maxpool", "b": "conv-bn-maxpool-relu",
                                        "seeds": 2}, "here")
    assert same.evaluate(_evidence(["conv-bn-relu"]), 0.05).outcome == "supported"
    wrong = parse_test("same-function", {"a": "conv-bn-relu-maxpool",
                                         "b": "conv-bn-maxpool-relu", "seeds": 2,
                                         "same": False}, "here")
    assert wrong.evaluate(_evidence(["conv-bn-relu"]), 0.05).outcome == "contradicted"


def test_orders_that_differ_by_rounding_alone_do_not_differ(monkeypatch):
    """``same = false`` needs more than unequal bits: logits moved by a float32 rounding's size
    (a product computed in float64 and rounded back, or b's outputs scaled by 1 + 1e-6) are one
    function, so "they differ" is contradicted; a real difference passes; outputs that are not
    finite decide neither way."""
    from layerorder.studies import function_claims

    x = torch.randn(256, 40, generator=torch.Generator().manual_seed(0))
    w = torch.randn(40, 10, generator=torch.Generator().manual_seed(1))
    float32, float64 = x @ w, (x.double() @ w.double()).float()
    assert not torch.equal(float32, float64)
    assert 0 < function_claims._largest_share(float32, float64) < 1e-5
    assert function_claims._largest_share(float32, float32) == 0.0

    real = function_claims._outputs

    def rounded(config, order, *args):
        outs = real(config, order, *args)
        return [t * (1 + 1e-6) for t in outs] if order.endswith("maxpool-relu") else outs

    monkeypatch.setattr(function_claims, "_outputs", rounded)
    pair = {"a": "conv-bn-relu-maxpool", "b": "conv-bn-maxpool-relu", "seeds": 2}
    differ = parse_test("same-function", {**pair, "same": False}, "here")
    verdict = differ.evaluate(_evidence(["conv-bn-relu"]), 0.05)
    assert verdict.outcome == "contradicted"
    assert "rounding, not another function" in verdict.evidence
    same = parse_test("same-function", pair, "here")  # the identity check stays bit for bit
    assert same.evaluate(_evidence(["conv-bn-relu"]), 0.05).outcome == "contradicted"
    avg = parse_test("same-function", {"a": "conv-bn-relu-avgpool", "b": "conv-bn-avgpool-relu",
                                       "seeds": 2, "same": False}, "here")
    verdict = avg.evaluate(_evidence(["conv-bn-relu"]), 0.05)
    assert verdict.outcome == "supported" and "by at least" in verdict.evidence

    def broken(config, order, *args):
        outs = real(config, order, *args)
        return [outs[0] * math.nan, *outs[1:]]

    monkeypatch.setattr(function_claims, "_outputs", broken)
    for test in (differ, same):
        verdict = test.evaluate(_evidence(["conv-bn-relu"]), 0.05)
        assert verdict.outcome == "undecided" and "not finite" in verdict.evidence


def _init_test(**params):
    base = {"a": "post-ln", "b": "pre-ln", "depths": [1, 3], "width": 16, "heads": 2,
            "layers": "last", "within": "features.", "seeds": 2}
    return parse_test("init-grad", {**base, **params}, "here")


def _transformer_evidence() -> Evidence:
    config = make_config({"dataset": "mnist1d", "data_options": {"num_samples": 200, "patch": 5},
                          "arch": "transformer", "orders": ["post-ln", "pre-ln"]})
    return Evidence("init", None, {}, config)


def test_init_grad_log_ratios_equal_a_hand_computation(tmp_path, monkeypatch):
    """log(|grad W_last| post-LN / |grad W_last| pre-LN) per seed, against the same numbers from
    plain PyTorch (build from the seed without dropout, one train-mode pass on the probe
    batch)."""
    from layerorder.data import CACHE_ENV_VAR, load_dataset
    from layerorder.models import build_model
    from layerorder.probe import probe_batch

    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path))
    test = _init_test()
    ratios = test.log_ratios(_transformer_evidence().config)
    data = load_dataset("mnist1d", num_samples=200, patch=5)
    x, y = probe_batch(data.x_train, data.y_train)

    def last_grad(order, depth, seed):
        torch.manual_seed(seed)
        model = build_model("transformer", order, in_shape=data.in_shape, num_classes=10,
                            width=16, depth=depth, heads=2, p_drop=0.0)
        model.train()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        linears = [m for n, m in model.named_modules()
                   if n.startswith("features.") and isinstance(m, torch.nn.Linear)]
        return float(linears[-1].weight.grad.norm())

    for depth in (1, 3):
        for seed in range(2):
            post, pre = last_grad("post-ln", depth, seed), last_grad("pre-ln", depth, seed)
            expected = math.log(post / pre)
            assert ratios[depth][seed] == pytest.approx(expected, rel=1e-5)
    # the measurement is cached: a second read builds nothing
    monkeypatch.setattr(type(test), "_measure", lambda self, config: 1 / 0)
    assert test.log_ratios(_transformer_evidence().config) == ratios
    grows = _init_test(expect="grows").log_ratios(_transformer_evidence().config)
    assert grows == ratios  # the test's direction is not part of what is measured


def test_init_grad_verdicts(monkeypatch):
    """The deepest depth's log ratios decide 'greater'; the slope on log depth decides 'grows'
    (planted log ratios: the t tests are scipy's)."""
    from scipy import stats

    planted = {1: [0.10, 0.12, 0.08, 0.11], 3: [0.30, 0.35, 0.28, 0.33]}
    monkeypatch.setattr(InitGradient, "log_ratios", lambda self, config: planted)
    ev = _transformer_evidence()
    greater = _init_test(seeds=4).evaluate(ev, 0.05)
    assert greater.outcome == "supported"
    assert greater.p == pytest.approx(stats.ttest_1samp(planted[3], 0.0,
                                                        alternative="greater").pvalue)
    grows = _init_test(seeds=4, expect="grows").evaluate(ev, 0.05)
    fit = stats.linregress([math.log(d) for d, v in planted.items() for _ in v],
                           [x for v in planted.values() for x in v])
    assert grows.outcome == "supported" and f"slope {fit.slope:.3g}" in grows.evidence
    planted_down = {1: [0.3, 0.32, 0.29, 0.31], 3: [-0.1, -0.12, -0.09, -0.11]}
    monkeypatch.setattr(InitGradient, "log_ratios", lambda self, config: planted_down)
    assert _init_test(seeds=4, expect="grows").evaluate(ev, 0.05).outcome == "contradicted"
    assert _init_test(seeds=4).evaluate(ev, 0.05).outcome == "contradicted"


@pytest.mark.parametrize(("params", "message"), [
    ({"depths": []}, "'depths' takes a list of positive integers"),
    ({"depths": [6], "expect": "grows"}, "needs at least two depths"),
    ({"layers": "middle"}, "layers must be one of first, last, first/last"),
    ({"width": 0}, "'width' must be a positive integer"),
])
def test_bad_init_grad_keys(params, message):
    with pytest.raises(ConfigError, match=message):
        _init_test(**params)


def _update_test(**params):
    base = {"a": "post-ln", "b": "pre-ln", "depths": [1, 3], "width": 16, "heads": 2,
            "seeds": 2, "lr": 0.001}
    return parse_test("first-update", {**base, **params}, "here")


def test_first_update_output_change_equals_a_hand_computation(tmp_path, monkeypatch):
    """Liu et al.'s output change, log(post-LN / pre-LN) per seed, against plain PyTorch: build
    from the seed without dropout, logits on the probe batch, one torch.optim.Adam step (betas
    0.9 and the experiment's beta2) on their cross-entropy, logits again; the mean over samples
    of the squared L2 change. The caller's RNG is left as it was."""
    from layerorder.data import CACHE_ENV_VAR, load_dataset
    from layerorder.models import build_model
    from layerorder.probe import probe_batch

    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path))
    config = _transformer_evidence().config
    state = torch.random.get_rng_state()
    ratios = _update_test().log_ratios(config)
    assert torch.equal(torch.random.get_rng_state(), state)
    data = load_dataset("mnist1d", num_samples=200, patch=5)
    x, y = probe_batch(data.x_train, data.y_train)

    def change(order, depth, seed):
        torch.manual_seed(seed)
        model = build_model("transformer", order, in_shape=data.in_shape, num_classes=10,
                            width=16, depth=depth, heads=2, p_drop=0.0)
        opt = torch.optim.Adam(model.parameters(), lr=0.001, betas=(0.9, config.beta2))
        before = model(x)
        torch.nn.functional.cross_entropy(before, y).backward()
        opt.step()
        with torch.no_grad():
            after = model(x)
        return float(((after - before.detach()) ** 2).sum(dim=1).mean())

    for depth in (1, 3):
        for seed in range(2):
            expected = math.log(change("post-ln", depth, seed) / change("pre-ln", depth, seed))
            assert ratios[depth][seed] == pytest.approx(expected, rel=1e-5)
    # another learning rate is another measurement; without one, the experiment's first rate
    assert _update_test(lr=0.01).log_ratios(config) != ratios
    assert _update_test(lr=None).log_ratios(config) == _update_test(
        lr=float(config.lr[0])).log_ratios(config)
    # never the init-grad cache entry
    assert _init_test(seeds=2).log_ratios(config) != ratios


def test_first_update_verdict_reads_like_init_grad(monkeypatch):
    from layerorder.studies.function_claims import FirstUpdate

    planted = {1: [0.10, 0.12, 0.08, 0.11], 3: [0.30, 0.35, 0.28, 0.33]}
    monkeypatch.setattr(FirstUpdate, "log_ratios", lambda self, config: planted)
    verdict = _update_test(seeds=4, expect="grows").evaluate(_transformer_evidence(), 0.05)
    assert verdict.outcome == "supported"
    assert "output change" in verdict.evidence and verdict.axis == "log output-change ratio"


@pytest.mark.parametrize(("params", "message"), [
    ({"lr": 0}, "'lr' must be a positive number"),
    ({"lr": "fast"}, "'lr' must be a positive number"),
    ({"depths": [6], "expect": "grows"}, "needs at least two depths"),
    ({"b": ""}, "'b' must be an order spec string"),
])
def test_bad_first_update_keys(params, message):
    with pytest.raises(ConfigError, match=message):
        _update_test(**params)
