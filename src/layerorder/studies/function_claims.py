"""Claims read from models built from an experiment's settings, with no training: identities
(two orders that compute the same function, shown bit for bit) and gradients at initialisation
at the depths and widths of the literature (``init-grad``), and how much one optimiser step from
initialisation changes the output (``first-update``, Liu et al. 2020).

Some placements the debate argues about are one order written two ways. Dropout right before or
right after ReLU is the example: with an inverted-dropout mask m in {0, 1/q}, ReLU(m x) =
m ReLU(x) exactly, because ReLU is positively homogeneous and IEEE multiplication by a
non-negative number rounds the same either side of zero. ``same-function`` builds both orders
from the same seed, draws the same dropout masks (one stream per model, in forward order), runs a
training-mode forward and backward pass on a batch of the experiment's data, and compares the
outputs and every gradient with ``torch.equal``. It trains nothing (seconds, at any scale), and
is only ever a check: an identity is never evidence for a claim of the debate. Its converse
(``same = false``, two placements that are different functions) needs more than unequal bits:
float32 rounding alone makes two ways of computing one function differ in their last bits, so
their logits must differ by at least ``DIFFER_SHARE`` of their largest value (two functions
are told apart by their outputs, whatever their parameters). Outputs that are not finite decide
neither.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from layerorder.errors import ConfigError
from layerorder.studies.claims import Estimate, Verdict, estimate, register, sided_p
from layerorder.studies.evidence import Evidence

if TYPE_CHECKING:
    import torch
    from torch import nn

# torch is imported by what measures, so that reading a study file (layerorder study list)
# does not import it

BATCH = 256  # samples of the experiment's training split in the checked batch
# two orders differ (``same = false``) when their logits differ by at least this share of their
# largest absolute value: a thousand times the float32 rounding (about 1e-7 relative per
# operation, 1e-6 after a network's sums), so rounding alone never passes
DIFFER_SHARE = 1e-3
INIT_LAYERS = ("first", "last", "first/last")
INIT_EXPECT = ("greater", "grows")


def _orders(params: dict[str, Any], where: str) -> None:
    for key in ("a", "b"):
        value = params.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: '{key}' must be an order spec string")


def _outputs(config, order: str, seed: int, x: torch.Tensor, y: torch.Tensor, in_shape,
             num_classes: int) -> list[torch.Tensor]:
    """The logits and every parameter's gradient of ``order`` built and run from ``seed``
    (the global RNG is forked: the caller's state is left as it was)."""
    import torch
    from torch import nn

    from layerorder.blocks import seed_dropout
    from layerorder.models import build_model

    # built and run on the CPU: its generator alone, seeded for the weights and for channel
    # dropout's masks, which draw from it during the forward pass
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        model = build_model(config.arch, order, in_shape=in_shape, num_classes=num_classes,
                            width=config.width, depth=config.depth, p_drop=config.p_drop,
                            heads=config.heads, dropout_at=config.dropout_at,
                            final_norm=config.final_norm)
        seed_dropout(model, seed)
        model.train()
        logits = model(x)
        nn.functional.cross_entropy(logits, y).backward()
    return [logits.detach(), *(p.grad for p in model.parameters() if p.grad is not None)]


@register
@dataclass(frozen=True)
class SameFunction:
    """Orders ``a`` and ``b`` give bit-identical logits and gradients for ``seeds`` seeds, in the
    experiment's model at ``condition`` (its first level where none is named); with
    ``same = false`` the check is that their logits differ beyond rounding for every seed (two
    placements that are not one function, such as average pooling around ReLU)."""

    kind: ClassVar[str] = "same-function"
    a: str
    b: str
    seeds: int = 5
    condition: Mapping[str, Any] = field(default_factory=dict)
    same: bool = True

    @property
    def built_orders(self) -> tuple[str, ...]:
        """The orders it builds (checked against the experiment's architecture by the study)."""
        return (self.a, self.b)

    @classmethod
    def parse(cls, params: dict[str, Any], where: str) -> SameFunction:
        _orders(params, where)
        seeds = params.get("seeds", 5)
        if not isinstance(seeds, int) or seeds < 1:
            raise ConfigError(f"{where}: 'seeds' must be a positive integer")
        condition = params.get("condition", {})
        if not isinstance(condition, dict):
            raise ConfigError(f"{where}: 'condition' must be a table of factor = level")
        same = params.get("same", True)
        if not isinstance(same, bool):
            raise ConfigError(f"{where}: 'same' takes true or false")
        return cls(params["a"], params["b"], seeds, condition, same)

    def evaluate(self, ev: Evidence, alpha: float) -> Verdict:
        from layerorder.experiment.execution.runner import load_checked_data

        if ev.config is None:
            return Verdict("undecided", "the experiment's settings are not known here",
                           "evaluate the study from its study file")
        levels = {k: v for k, v in ev.resolve(self.condition).items()
                  if k in {f.name for f in dataclasses.fields(ev.config)}}
        config = dataclasses.replace(ev.config, **levels, vary=())
        data = load_checked_data(config)
        x, y = data.x_train[:BATCH], data.y_train[:BATCH]
        where = ", ".join(f"{k}={v}" for k, v in levels.items())
        what = (f"{self.a} and {self.b} ({config.arch}, {where or 'default settings'}; "
                f"a training-mode forward and backward pass on {len(x)} samples, "
                f"{self.seeds} seeds)")
        differ, shares = [], []
        for seed in range(self.seeds):
            outs = [_outputs(config, order, seed, x, y, data.in_shape, data.num_classes)
                    for order in (self.a, self.b)]
            if not all(bool(t.isfinite().all()) for t in (*outs[0], *outs[1])):
                return Verdict("undecided", f"{what}: seed {seed} gives logits or gradients"
                               " that are not finite, so neither equality nor a difference"
                               " means anything", "orders and settings that train finitely")
            if self.same:  # one function, trained alike: the logits and every gradient
                share = 0.0 if _bit_equal(*outs) else math.inf
            else:  # two functions: their outputs, whatever their parameters
                share = _largest_share(outs[0][0], outs[1][0])
            shares.append(share)
            if share > 0.0 if self.same else share >= DIFFER_SHARE:
                differ.append(seed)
        if self.same:
            how = "torch.equal, bit for bit"
            if differ:
                found = f"{what}: logits or gradients differ for seeds {differ}"
                effect = "different" if len(differ) == self.seeds else "differ for some seeds"
            else:
                found, effect = (f"{what}: logits and every gradient equal bit for bit",
                                 "bit-identical")
        else:
            how = f"largest difference of the logits at least {DIFFER_SHARE:g} of their largest"
            close = [i for i in range(self.seeds) if i not in differ]
            if not close:
                found = (f"{what}: logits differ in every seed, by at least {min(shares):.3g}"
                         " of their largest value")
                effect = "different"
            else:
                found = (f"{what}: logits within {max(shares[i] for i in close):.3g} of their"
                         f" largest value for seeds {close}, below {DIFFER_SHARE:g}: rounding,"
                         " not another function")
                effect = "differ for some seeds" if differ else "the same up to rounding"
        holds = not differ if self.same else len(differ) == self.seeds
        return Verdict("supported" if holds else "contradicted", found, decided_by=how,
                       effect=effect)


def _bit_equal(outs_a: list, outs_b: list) -> bool:
    return len(outs_a) == len(outs_b) and all(
        u.shape == v.shape and u.equal(v) for u, v in zip(outs_a, outs_b))


def _largest_share(u, v) -> float:
    """The largest difference between two orders' logits ``u`` and ``v`` (finite, of one
    shape) as a share of their largest absolute value: 0.0 when they are equal bit for bit."""
    if u.equal(v):
        return 0.0
    scale = max(float(u.abs().max()), float(v.abs().max()))
    return float((u - v).abs().max()) / scale if scale else math.inf


def _untrained(config, order: str, depth: int, seed: int, in_shape, num_classes, width,
               heads) -> nn.Module:
    """``order`` built at ``depth`` from ``seed`` without dropout (the setting of Xiong et al.'s
    Theorem 1, He et al.'s argument and Liu et al.'s output change), in training mode; the
    caller's RNG state is left as it was."""
    import torch

    from layerorder.models import build_model

    with torch.random.fork_rng(devices=[]):  # built on the CPU: its generator alone
        torch.default_generator.manual_seed(seed)
        model = build_model(config.arch, order, in_shape=in_shape, num_classes=num_classes,
                            width=width, depth=depth, p_drop=0.0, heads=heads,
                            final_norm=config.final_norm)
    return model.train()


def _init_grads(config, order: str, depth: int, seed: int, x, y, in_shape, num_classes,
                width, heads) -> list:
    """``GradFlow`` of every weight layer after one train-mode forward and backward pass."""
    from torch import nn

    from layerorder.probe.grads import grad_flow

    model = _untrained(config, order, depth, seed, in_shape, num_classes, width, heads)
    nn.functional.cross_entropy(model(x), y).backward()
    return grad_flow(model)


def _output_change(config, order: str, depth: int, seed: int, x, y, in_shape, num_classes,
                   width, heads, lr: float) -> float:
    """Liu et al. 2020's output change: the mean over the batch of |F(x, W) - F(x, W*)|^2, where
    F is the logits of the untrained ``order`` and W* its weights after one Adam step (the
    experiment's betas and epsilon) on the batch's cross-entropy. At the first step Adam moves
    every weight by about ``lr`` (m / sqrt(v) = g / |g|), so the change measures how strongly the
    network amplifies a small perturbation of all its weights."""
    import torch
    from torch import nn

    model = _untrained(config, order, depth, seed, in_shape, num_classes, width, heads)
    before = model(x)
    nn.functional.cross_entropy(before, y).backward()
    torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, config.beta2),
                     eps=config.adam_eps).step()
    with torch.no_grad():
        after = model(x)
    return float(((after - before.detach()) ** 2).sum(dim=1).mean())


def _pick(grads, module: str, within: str, layers: str) -> float:
    values = [g.grad_norm for g in grads if g.kind.startswith(module) and g.name.startswith(within)]
    if not values:
        return math.nan
    if layers == "first":
        return values[0]
    if layers == "last":
        return values[-1]
    return values[0] / values[-1] if values[-1] else math.nan


@register
@dataclass(frozen=True)
class InitGradient:
    """Gradient norms at initialisation, no training: for each depth in ``depths`` and each of
    ``seeds`` seeds, orders ``a`` and ``b`` are built (``width``/``heads`` override the
    experiment's), one training-mode pass runs on the probe batch, and the ``layers`` statistic
    of the weight layers whose class starts with ``module`` and name with ``within`` is read
    (``first/last``: the first layer's gradient norm over the last's). Per seed the log ratio
    log(a / b) is taken. ``expect = "greater"``: a > b at the deepest depth (one-sided t on the
    log ratios); ``"grows"``: the log ratio rises with log depth (least-squares slope over every
    depth and seed, one-sided t on the slope; Xiong et al.'s Theorem 1 predicts 0.5)."""

    kind: ClassVar[str] = "init-grad"
    a: str
    b: str
    depths: tuple[int, ...]
    layers: str = "last"
    module: str = ""
    within: str = ""
    width: int | None = None
    heads: int | None = None
    seeds: int = 5
    expect: str = "greater"
    scale_name: ClassVar[str] = "log gradient-norm ratio"

    @property
    def built_orders(self) -> tuple[str, ...]:
        return (self.a, self.b)

    @classmethod
    def parse(cls, params: dict[str, Any], where: str) -> InitGradient:
        common = _depth_test_params(params, where)
        layers = params.get("layers", "last")
        if layers not in INIT_LAYERS:
            raise ConfigError(f"{where}: layers must be one of {', '.join(INIT_LAYERS)}")
        for key in ("module", "within"):
            if not isinstance(params.get(key, ""), str):
                raise ConfigError(f"{where}: '{key}' must be a string")
        return cls(**common, layers=layers, module=params.get("module", ""),
                   within=params.get("within", ""))

    def describe(self, config) -> str:
        """What one value is, for the verdict's text."""
        return (f"{self.layers} gradient norm of {self.a} over {self.b} at initialisation "
                f"({self.seeds} seeds, width {self.width or config.width or 'default'})")

    def value(self, config, order: str, depth: int, seed: int, x, y, data) -> float:
        """The measured quantity of ``order`` at ``depth`` and ``seed``."""
        grads = _init_grads(config, order, depth, seed, x, y, data.in_shape, data.num_classes,
                            self.width or config.width, self.heads or config.heads)
        return _pick(grads, self.module, self.within, self.layers)

    def log_ratios(self, config) -> dict[int, list[float]]:
        """depth -> log(a / b) per seed. The measurement is deterministic given the settings, so
        it is kept in layerorder's data cache (``LAYERORDER_CACHE_DIR``), keyed by this test,
        the experiment's settings and the PyTorch version: a report re-reads it instead of
        building a 998-layer ResNet again."""
        import hashlib
        import json

        import numpy as np
        import torch

        from layerorder.data.cache import cached_arrays

        measured = dataclasses.replace(self, expect="greater")  # what is measured, not tested
        identity = json.dumps([repr(measured), config.identity(), torch.__version__],
                              sort_keys=True, default=str)
        key = "initgrad-" + hashlib.sha256(identity.encode()).hexdigest()[:20]
        arrays = cached_arrays(key, lambda: {str(d): np.asarray(v, dtype=float)
                                             for d, v in self._measure(config).items()})
        return {d: [float(v) for v in arrays[str(d)]] for d in self.depths}

    def _measure(self, config) -> dict[int, list[float]]:
        from layerorder.experiment.execution.runner import load_checked_data
        from layerorder.probe import probe_batch

        data = load_checked_data(config)
        x, y = probe_batch(data.x_train, data.y_train)
        out: dict[int, list[float]] = {}
        for depth in self.depths:
            values = []
            for seed in range(self.seeds):
                pair = [self.value(config, order, depth, seed, x, y, data)
                        for order in (self.a, self.b)]
                ok = all(math.isfinite(v) and v > 0 for v in pair)
                values.append(math.log(pair[0] / pair[1]) if ok else math.nan)
            out[depth] = values
        return out

    def evaluate(self, ev: Evidence, alpha: float) -> Verdict:
        from scipy import stats

        if ev.config is None:
            return Verdict("undecided", "the experiment's settings are not known here",
                           "evaluate the study from its study file")
        config = dataclasses.replace(ev.config, vary=())
        ratios = self.log_ratios(config)
        per_depth = "; ".join(
            f"depth {d}: ratio {math.exp(e.mean):.3g} (90% CI {math.exp(e.low):.3g} to "
            f"{math.exp(e.high):.3g})" if math.isfinite(e.low) else f"depth {d}: n/a"
            for d, e in ((d, estimate(str(d), v)) for d, v in ratios.items()))
        what = self.describe(config)
        estimates = tuple(_ratio_estimate(f"depth {d}", v) for d, v in ratios.items())
        if self.expect == "greater":
            deepest = [v for v in ratios[self.depths[-1]] if math.isfinite(v)]
            if len(deepest) < 2:
                return Verdict("undecided", f"{what}: too few finite values", "more seeds")
            t = stats.ttest_1samp(deepest, 0.0)
            p_for = float(t.pvalue / 2 if t.statistic > 0 else 1 - t.pvalue / 2)
            p_against = 1.0 - p_for
            e = estimate("log ratio", deepest)
            effect = f"x{math.exp(e.mean):.3g} at depth {self.depths[-1]}"
        else:
            xs, ys = zip(*[(math.log(d), v) for d, vs in ratios.items() for v in vs
                           if math.isfinite(v)])
            fit = stats.linregress(xs, ys)
            df = len(xs) - 2
            tval = fit.slope / fit.stderr if fit.stderr > 0 else math.inf
            p_for = float(stats.t.sf(tval, df))
            p_against = float(stats.t.cdf(tval, df))
            half = float(stats.t.ppf(0.95, df) * fit.stderr)
            e = Estimate("slope", (), fit.slope, fit.slope - half, fit.slope + half)
            effect = (f"slope {fit.slope:.3g} (90% CI {e.low:.3g} to {e.high:.3g}) of the log "
                      "ratio on log depth")
        outcome = ("supported" if p_for < alpha else "contradicted" if p_against < alpha
                   else "undecided")
        decide = "" if outcome != "undecided" else "more seeds or a wider range of depths"
        return Verdict(outcome, f"{what}: {per_depth}; {effect}", decide, estimates,
                       (0.0, 0.0), self.scale_name, sided_p(outcome, p_for, p_against),
                       "one-sided t test" + (" on the slope" if self.expect == "grows" else ""),
                       effect=effect)


def _ratio_estimate(label: str, values) -> Estimate:
    return estimate(label, [v for v in values if math.isfinite(v)])


def _depth_test_params(params: dict[str, Any], where: str) -> dict[str, Any]:
    """The settings ``init-grad`` and ``first-update`` share: orders, depths, width, heads,
    seeds and what is expected of the ratio."""
    _orders(params, where)
    depths = params.get("depths")
    if not (isinstance(depths, list) and depths
            and all(isinstance(d, int) and d > 0 for d in depths)):
        raise ConfigError(f"{where}: 'depths' takes a list of positive integers")
    expect = params.get("expect", "greater")
    if expect not in INIT_EXPECT:
        raise ConfigError(f"{where}: expect must be one of {', '.join(INIT_EXPECT)}")
    if expect == "grows" and len(set(depths)) < 2:
        raise ConfigError(f"{where}: expect = 'grows' needs at least two depths")
    for key in ("width", "heads", "seeds"):
        value = params.get(key)
        if value is not None and not (isinstance(value, int) and value > 0):
            raise ConfigError(f"{where}: '{key}' must be a positive integer")
    return {"a": params["a"], "b": params["b"], "depths": tuple(sorted(depths)),
            "width": params.get("width"), "heads": params.get("heads"),
            "seeds": params.get("seeds", 5), "expect": expect}


@register
@dataclass(frozen=True)
class FirstUpdate(InitGradient):
    """Liu et al. 2020's output change after one update, no further training: for each depth and
    seed, orders ``a`` and ``b`` are built, one Adam step of learning rate ``lr`` (the
    experiment's first rate where none is given) is taken on the probe batch, and the mean
    squared change of the logits on that batch is read (``_output_change``). The log ratio
    log(a / b) per seed is tested as ``init-grad`` tests it: ``greater`` at the deepest depth,
    or ``grows`` with log depth."""

    kind: ClassVar[str] = "first-update"
    scale_name: ClassVar[str] = "log output-change ratio"
    lr: float | None = None

    @classmethod
    def parse(cls, params: dict[str, Any], where: str) -> FirstUpdate:
        common = _depth_test_params(params, where)
        lr = params.get("lr")
        if lr is not None and not (isinstance(lr, (int, float)) and not isinstance(lr, bool)
                                   and lr > 0):
            raise ConfigError(f"{where}: 'lr' must be a positive number")
        return cls(**common, lr=None if lr is None else float(lr))

    def _lr(self, config) -> float:
        return self.lr if self.lr is not None else float(config.lr[0])

    def describe(self, config) -> str:
        lr = self._lr(config)
        return (f"output change |F(x, W) - F(x, W*)|^2 after one Adam step (lr {lr:g})"
                f" from initialisation, {self.a} over {self.b} ({self.seeds} seeds, width"
                f" {self.width or config.width or 'default'})")

    def value(self, config, order: str, depth: int, seed: int, x, y, data) -> float:
        return _output_change(config, order, depth, seed, x, y, data.in_shape, data.num_classes,
                              self.width or config.width, self.heads or config.heads,
                              self._lr(config))
