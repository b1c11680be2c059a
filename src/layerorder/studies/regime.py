"""The regime a claim's source measured in, the regime a study's scale runs in, and whether the
one meets the other.

A claim declares two tables. ``regime`` is what its source reported (shown beside the verdict;
free values under the field names below, plus ``note``). ``needs`` names the conditions under
which the source's effect is expected to show at all, field by field::

    needs = { depth = { min = 56 }, optimizer = ["sgd"], accuracy = { max = 95 } }

The scale's regime is read, never declared: from the claim's experiment at that scale (its
config; a varied setting counts at its largest level among the conditions the claim reads); for
``accuracy``, the highest mean final accuracy among the claim's orders there; for ``norm``, the
normalisation those orders use (``needs = { norm = ["bn"] }``: a claim a source made of
BatchNorm, which a study reads with another norm, is then never decided in the source's regime);
for ``worst_accuracy``, the lowest mean final accuracy among them (``needs = { worst_accuracy =
{ min = 50 } }``: a source whose every order trained; a mean can still hide a seed that failed).

**How "meets" is decided.** A scale meets a claim when every entry of ``needs`` holds: a number
with ``min`` (``max``) holds when the scale's value is at least (at most) it; a list of choices
holds when the scale's value is one of them; a value the scale does not have (a depth left to the
architecture's default) does not hold. A claim without ``needs`` assumes no regime and meets
every scale. Where a scale does not meet the claim, a result in the claim's direction is
reported as *agrees outside the source's regime* and anything else as *not reproduced at this
scale*; neither is called supported or contradicted (``in_regime``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from layerorder.archs import order_norm
from layerorder.errors import ConfigError, LayerorderError, did_you_mean
from layerorder.experiment.configuration.config import ExperimentConfig

V = TypeVar("V")  # a ``studies.claims.Verdict`` (not imported: claims names RegimeMatch)


@dataclass(frozen=True)
class RegimeField:
    """One condition a regime names: how to read it from a config and the levels a claim reads
    (None when the config does not fix it), and whether it is a number."""

    name: str
    numeric: bool
    read: Callable[[ExperimentConfig, Sequence[Mapping[str, Any]]], Any]
    help: str


def _setting(name: str, numeric: bool):
    def read(config: ExperimentConfig, levels: Sequence[Mapping[str, Any]]):
        values = [lv[name] for lv in levels if name in lv]
        if values:
            return max(float(v) for v in values) if numeric else values[-1]
        value = getattr(config, name, None)
        if name == "lr" and isinstance(value, tuple):
            value = max(value) if value else None
        return None if value is None else (float(value) if numeric else str(value))

    return read


def _dataset(config: ExperimentConfig, levels: Sequence[Mapping[str, Any]]) -> str:
    """The data set with the options that make it a variant (``mnist1d (corr_noise=0.45)``)."""
    options = dict(config.data_options)
    for lv in levels:
        options.update(lv.get("data_options", {}))
    name = str(levels[-1]["dataset"]) if levels and "dataset" in levels[-1] else config.dataset
    shown = ", ".join(f"{k}={v}" for k, v in sorted(options.items()))
    return f"{name} ({shown})" if shown else name


def _train_size(config: ExperimentConfig, levels) -> float:
    from layerorder.experiment.execution.runner import (
        load_checked_data,  # loads torch data: on demand
    )

    return float(load_checked_data(config).num_train)


def _measured(config, levels):  # filled in by ``scale_regime`` from the runs or the orders
    return None


def _norm(arch: str, orders: Sequence[str]) -> str | None:
    """The normalisation ``orders`` use on ``arch`` (``ln``; several joined: ``bn and ln``);
    None when none of them has one, or an order is not one of the built-in architecture's."""
    try:
        norms = {order_norm(arch, order) for order in orders}
    except LayerorderError:  # a label that is no order of the architecture
        return None
    return " and ".join(sorted(n for n in norms if n is not None)) or None


FIELDS: dict[str, RegimeField] = {
    f.name: f
    for f in (
        RegimeField("dataset", False, _dataset, "the data set and its options"),
        RegimeField("arch", False, _setting("arch", False), "the architecture"),
        RegimeField("depth", True, _setting("depth", True), "layers or residual depth"),
        RegimeField("optimizer", False, _setting("optimizer", False), "the optimizer"),
        RegimeField("schedule", False, _setting("schedule", False), "the learning-rate schedule"),
        RegimeField("epochs", True, _setting("epochs", True), "training epochs"),
        RegimeField("lr", True, _setting("lr", True), "the (largest) learning rate"),
        RegimeField("warmup", True, _setting("warmup", True), "warmup share of training"),
        RegimeField("train_size", True, _train_size, "training samples"),
        RegimeField("accuracy", True, _measured,
                    "the best mean final test accuracy among the claim's orders (%)"),
        RegimeField("worst_accuracy", True, _measured,
                    "the lowest mean final test accuracy among the claim's orders, in any of the"
                    " conditions the claim reads (%): whether every order trained (a mean, so a"
                    " seed that failed can hide in it)"),
        RegimeField("norm", False, _measured,
                    "the normalisation of the claim's orders (bn, ln, gn, in, rmsnorm)"),
    )
}
NOTE = "note"  # a free-text entry of a source's regime


@dataclass(frozen=True)
class Need:
    """One condition a scale must meet: ``low``/``high`` for a number, ``choices`` otherwise."""

    field: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

    def holds(self, value: Any) -> bool:
        if value is None:
            return False
        if self.choices:
            return str(value).lower() in {c.lower() for c in self.choices}
        v = float(value)
        return (self.low is None or v >= self.low) and (self.high is None or v <= self.high)

    def describe(self) -> str:
        if self.choices:
            return f"{self.field} {' or '.join(self.choices)}"
        parts = ([f">= {self.low:g}"] if self.low is not None else []) + (
            [f"<= {self.high:g}"] if self.high is not None else [])
        return f"{self.field} {' and '.join(parts)}"


@dataclass(frozen=True)
class Regime:
    """What a claim's source measured in (``source``: field -> value as reported) and what a
    scale needs for its effect to show."""

    source: tuple[tuple[str, Any], ...] = ()
    needs: tuple[Need, ...] = ()

    def describe(self) -> str:
        return "; ".join(f"{k} {v}" if k != NOTE else str(v) for k, v in self.source)


@dataclass(frozen=True)
class RegimeMatch:
    """A scale's regime for one claim (field -> value) and the needs it does not meet."""

    values: tuple[tuple[str, Any], ...]
    unmet: tuple[str, ...]
    needs: tuple[Need, ...]

    @property
    def meets(self) -> bool:
        return not self.unmet

    def describe(self) -> str:
        return ", ".join(f"{k} {_shown(v)}" for k, v in self.values if v is not None)


def _shown(value: Any) -> str:
    if isinstance(value, float):
        if value.is_integer():
            return f"{value:g}"
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3g}"  # accuracy 88.2; lr 0.003
    return str(value)


def parse_regime(source: Any, needs: Any, where: str) -> Regime:
    if source is None and needs is None:
        return Regime()
    if not isinstance(source or {}, Mapping) or not isinstance(needs or {}, Mapping):
        raise ConfigError(f"{where}: 'regime' and 'needs' must be tables")
    known = [*FIELDS, NOTE]
    for key in (source or {}):
        if key not in known:
            raise ConfigError(f"{where}: regime has no field '{key}'" + did_you_mean(key, known))
    out = []
    for key, value in (needs or {}).items():
        if key not in FIELDS:
            raise ConfigError(f"{where}: needs has no field '{key}'"
                              + did_you_mean(key, list(FIELDS)))
        out.append(_need(FIELDS[key], value, where))
    return Regime(tuple((source or {}).items()), tuple(out))


def _need(field: RegimeField, value: Any, where: str) -> Need:
    if field.numeric:
        if not isinstance(value, Mapping) or not set(value) <= {"min", "max"} or not value:
            raise ConfigError(f"{where}: needs.{field.name} takes {{ min = N }} and/or "
                              "{ max = N }")
        for k, v in value.items():
            if not isinstance(v, (int, float)):
                raise ConfigError(f"{where}: needs.{field.name}.{k} must be a number")
        return Need(field.name, value.get("min"), value.get("max"))
    if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
        raise ConfigError(f"{where}: needs.{field.name} takes a list of choices")
    return Need(field.name, choices=tuple(value))


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def scale_regime(regime: Regime, config: ExperimentConfig,
                 levels: Sequence[Mapping[str, Any]], accuracy: float | None,
                 orders: Sequence[str] = (), worst: float | None = None) -> RegimeMatch:
    """The scale's regime for a claim that reads the conditions ``levels`` of ``config`` and
    compares ``orders`` (``accuracy`` and ``worst``: the best and the lowest mean among them),
    and which of ``regime.needs`` it does not meet. ``worst_accuracy`` and ``norm`` are shown
    only where a need names them."""
    wanted = {n.field for n in regime.needs} | {"dataset", "arch", "depth", "optimizer",
                                                  "epochs", "accuracy"}
    # the fields read from the runs or the orders rather than the config (``_measured``)
    measured = {"accuracy": _finite(accuracy), "worst_accuracy": _finite(worst),
                "norm": _norm(config.arch, orders)}
    values = [(name, measured[name] if name in measured else field.read(config, levels))
              for name, field in FIELDS.items() if name in wanted]
    return RegimeMatch(tuple(values), _unmet(regime.needs, dict(values), "this scale"),
                       regime.needs)


def _unmet(needs: Sequence[Need], got: Mapping[str, Any], holder: str) -> tuple[str, ...]:
    """Each need that ``got`` does not meet, with what ``holder`` has instead; the norm is the
    claim's orders' own, which no scale changes."""
    out = []
    for n in needs:
        value = got.get(n.field)
        if n.holds(value):
            continue
        if n.field == "norm":
            has = f"the claim's orders use {value or 'no norm'}"
        else:
            has = f"{holder} has {_shown(value) if value is not None else 'none set'}"
        out.append(f"{n.describe()} needed, {has}")
    return tuple(out)


def own_regime(regime: Regime, config: ExperimentConfig, metric: str,
               best: float | None) -> RegimeMatch:
    """The regime of a claim read from a user's own runs (a command or a training function):
    what runs them and the best mean of their metric among the claim's orders. Their data set,
    model and training are the user's code, which the driver does not read, so every need the
    claim names is unmet: such a result is never called a test in the source's regime."""
    values = [("run", config.command or config.train),
              (metric, best if best is not None and math.isfinite(best) else None)]
    unmet = tuple(f"{n.describe()} needed; the user's own training does not say"
                  for n in regime.needs)
    return RegimeMatch(tuple(values), unmet, regime.needs)


UNTRAINED = ("dataset", "arch", "depth")  # what a claim on models built but never trained reads


def untrained_regime(regime: Regime, config: ExperimentConfig,
                     depth: float | None, orders: Sequence[str] = ()) -> RegimeMatch:
    """The regime of a claim measured on models built from ``config`` and never trained (at
    ``depth``, its deepest, from ``orders``): the data set, architecture, depth and (where the
    claim needs it) the orders' norm, since the scale's training settings and accuracy say
    nothing about it."""
    values = [("dataset", FIELDS["dataset"].read(config, [])), ("arch", config.arch),
              ("depth", depth)]
    if any(n.field == "norm" for n in regime.needs):
        values.append(("norm", _norm(config.arch, orders)))
    return RegimeMatch(tuple(values), _unmet(regime.needs, dict(values), "this claim"),
                       regime.needs)


SHOWN_FIELDS = ("dataset", "arch", "depth", "optimizer", "schedule", "epochs", "lr", "warmup")


def experiment_regime(config: ExperimentConfig) -> tuple[tuple[str, str], ...]:
    """An experiment's regime over all its conditions, as ``study show`` lists it: each field of
    ``FIELDS`` that needs no data or runs, a varied one as its levels (``depth 20, 56, 110``)."""
    levels = [dict(lv) for lv in config.levels()] or [{}]
    out = []
    for name in SHOWN_FIELDS:
        read = FIELDS[name].read
        shown = []
        for lv in levels:
            value = read(config, [lv])
            text = "default" if value is None else _shown(value)
            if text not in shown:
                shown.append(text)
        out.append((name, ", ".join(shown)))
    return tuple(out)


OUTSIDE = {"supported": "agrees outside regime", "contradicted": "not reproduced",
           "undecided": "not reproduced"}


def in_regime(verdict: V, match: RegimeMatch) -> V:
    """The verdict as the regime allows it: unchanged where the scale meets the claim; else
    'agrees outside regime' for a result in the claim's direction and 'not reproduced' for
    anything else, with the needs that would decide it."""
    if match.meets or verdict.outcome not in OUTSIDE:
        return replace(verdict, regime=match)
    needed = "; ".join(match.unmet)
    decide = f"a scale in the source's regime ({needed})"
    return replace(verdict, outcome=OUTSIDE[verdict.outcome], regime=match,
                   decide=decide + (f"; and at this scale: {verdict.decide}" if verdict.decide
                                    else ""))
