"""What a study experiment left in the store, read back without training anything: its
comparison (runs, analysis) and, for probed runs, their probe records by run.

Probe values are picked by ``Measure``: an order (and condition), a probe kind, the stages by
their role in the order (``norm``; ``input:norm`` is the stage that feeds the norm), a statistic,
an epoch (0 is initialisation; ``kind = "run"`` reads an epoch's training and test metrics at
its number, from 1; ``metrics.NAME`` reads a metric a user's own run reported, finally or at
an epoch) and which layers (first, last, all: their mean; ``first/last``:
the ratio of the first to the last). One number per seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from layerorder.errors import ConfigError, did_you_mean
from layerorder.experiment.configuration.config import ExperimentConfig
from layerorder.probe.stored import PROBE_KINDS, typed
from layerorder.stats.lr import fair_best
from layerorder.stats.metric import Metric

if TYPE_CHECKING:
    from layerorder.experiment.execution.comparison import Comparison

ROLES = ("weight", "norm", "act", "dropout", "pool")
RUN_KIND = "run"  # a measure of the run record: its final metrics, one value per run
RUN_STATISTICS = ("final_test_acc", "final_test_loss", "final_train_loss", "wall_time",
                  "train_test_gap")
# read from the run's last epoch record rather than the run record: the accuracy on the batches
# of its last epoch (train mode, as the loop measures it) minus the final test accuracy, points
EPOCH_STATISTICS = {"train_test_gap": lambda e: None if e.train_acc is None or e.test_acc is None
                    else e.train_acc - e.test_acc}
EPOCHS = ("init", "last")
# an epoch record's metrics, read by a run measure at ``epoch = N`` (or at the last epoch): the
# training loss over the N-th epoch's batches, the test metrics after it
EPOCH_FIELDS = ("train_loss", "train_acc", "test_loss", "test_acc")
# a run measure of a metric a user's own run reported (``metrics.val_loss``): its final value,
# or its value at an epoch
REPORTED = "metrics."
# run statistics the built-in loop records and a user's own run does not (it has its wall time)
LOOP_ONLY = ("final_test_acc", "final_test_loss", "final_train_loss", *EPOCH_STATISTICS,
             *EPOCH_FIELDS)
LAYERS = ("all", "first", "last", "first/last")
# a measure's condition may name a factor's level, its lowest or highest, or the level at which
# the measure's order does best ("best": each arm at its own better learning rate)
LEVEL_WORDS = ("min", "max")
BEST = "best"


def role_of_kind(kind: str) -> str | None:
    """The role of a stored stage's module class name (``BatchNorm1d`` -> ``norm``), from the
    lint's table of module roles; None for a class outside ``torch.nn`` or without a role."""
    from torch import nn

    from layerorder.modelgraph.roles import ACT_CLASSES, MODULE_TABLE

    cls = getattr(nn, kind, None)
    if not isinstance(cls, type):
        return None
    for base, role, _kind in MODULE_TABLE:
        if issubclass(cls, base):
            return role if role in ROLES else None
    return "act" if issubclass(cls, ACT_CLASSES) else None


@dataclass(frozen=True)
class Measure:
    """Which probe number a claim reads, one per seed (see the module docstring)."""

    order: str
    statistic: str
    kind: str = "stage"  # stage, grad, varshift, recal, fit, or run (the run record)
    stage: str = ""  # stage kind only: a role, or input:ROLE
    epoch: str | int = "last"  # init, last, or (run kind) an epoch number from 1
    layers: str = "all"
    condition: Mapping[str, Any] = field(default_factory=dict)
    module: str = ""  # only records whose module class starts with this (grad: "Conv")
    within: str = ""  # only records whose module path starts with this ("features.")

    def describe(self) -> str:
        where = f" {self.stage}" if self.stage else ""
        layers = "" if self.layers == "all" else f", {self.layers} layer"
        layers += f" of {self.within}*" if self.within else ""
        cond = "".join(f", {k}={v}" for k, v in self.condition.items())
        when = ("at init" if self.epoch == "init" else f"epoch {self.epoch}"
                if isinstance(self.epoch, int) else "trained")
        return f"{self.order}:{where} {self.statistic} ({when}{layers}{cond})"


def parse_measure(table: Mapping[str, Any], where: str) -> Measure:
    names = [f for f in Measure.__dataclass_fields__]
    for key in table:
        if key not in names:
            raise ConfigError(f"{where}: unknown key '{key}'" + did_you_mean(key, names))
    for key in ("order", "statistic"):
        if not isinstance(table.get(key), str):
            raise ConfigError(f"{where}: '{key}' must be a string")
    m = Measure(**{k: v for k, v in table.items()})
    kinds = [*PROBE_KINDS, RUN_KIND]
    if m.kind not in kinds:
        raise ConfigError(f"{where}: kind '{m.kind}' is not one of {', '.join(kinds)}")
    fields = ([*RUN_STATISTICS, *EPOCH_FIELDS] if m.kind == RUN_KIND else
              [f for f in PROBE_KINDS[m.kind].__dataclass_fields__ if f not in ("name", "kind")])
    reported = m.kind == RUN_KIND and m.statistic.startswith(REPORTED)
    if reported and not m.statistic.removeprefix(REPORTED):
        raise ConfigError(f"{where}: 'metrics.' names no metric (metrics.val_loss)")
    if m.statistic not in fields and not reported:
        raise ConfigError(f"{where}: {m.kind} records have no statistic '{m.statistic}'"
                          + did_you_mean(m.statistic, fields))
    numbered = isinstance(m.epoch, int) and not isinstance(m.epoch, bool)
    if numbered and (m.kind != RUN_KIND or not (m.statistic in EPOCH_FIELDS or reported)
                     or m.epoch < 1):
        raise ConfigError(f"{where}: an epoch number (from 1) is read only by kind = \"run\""
                          f" measures of {', '.join(EPOCH_FIELDS)} or metrics.NAME")
    if not numbered and m.epoch not in EPOCHS:
        raise ConfigError(f"{where}: epoch must be one of {', '.join(EPOCHS)}, or a number"
                          " for a run measure")
    if m.layers not in LAYERS:
        raise ConfigError(f"{where}: layers must be one of {', '.join(LAYERS)}")
    role = m.stage.removeprefix("input:")
    if m.kind == "stage" and role not in ROLES:
        raise ConfigError(f"{where}: stage must be a role ({', '.join(ROLES)}) or input:ROLE")
    if not isinstance(m.condition, Mapping):
        raise ConfigError(f"{where}: condition must be a table of factor = level")
    return m


def _epoch_value(epochs, m: Measure) -> float | None:
    """``m.statistic`` of the epoch numbered ``m.epoch`` (the last one for ``"last"``)."""
    if not epochs:
        return None
    record = epochs[-1] if m.epoch == "last" else next(
        (e for e in epochs if e.epoch == m.epoch), None)
    if record is None:
        return None
    value = (record.metrics.get(m.statistic.removeprefix(REPORTED))
             if m.statistic.startswith(REPORTED) else getattr(record, m.statistic))
    return None if value is None else float(value)


@dataclass(frozen=True)
class Evidence:
    """One stored study experiment: the comparison's results and the probe rows of its runs
    ((epoch, kind, record) in forward order, by run id)."""

    name: str
    results: Comparison
    probes: Mapping[int, tuple[tuple[int, str, Any], ...]]
    config: ExperimentConfig | None = None  # the study's config of the experiment, when known

    @property
    def metric(self) -> Metric:
        """What the comparison compares (final test accuracy for the built-in loop; a user's
        run's own metric, with its goal)."""
        return self.results.analysis.plan.metric

    def resolve(self, condition: Mapping[str, Any] | None,
                order: str | None = None) -> dict[str, Any]:
        """A condition with ``"min"``/``"max"`` replaced by the factor's lowest/highest level
        (so one claim reads 'the deepest network' at every scale) and ``"best"`` by the level
        at which ``order`` has its best mean of the compared metric, the condition's other
        factors as named (each order at its own better learning rate, as a source tunes its
        baselines; a measure's condition only, since it names the order)."""
        from layerorder.stats.analysis import sort_key as level_order

        out, best = {}, []
        for factor, level in (condition or {}).items():
            if level in LEVEL_WORDS:
                conditions = self.results.analysis.conditions
                levels = sorted({dict(c.levels).get(factor) for c in conditions} - {None},
                                key=level_order)
                level = (levels[0] if level == "min" else levels[-1]) if levels else level
            elif level == BEST:
                if order is None:
                    raise ConfigError(f"{factor} = 'best' reads an order's own best level: name "
                                      "it in a measure's condition")
                best.append(factor)
            out[factor] = level
        fixed = {k: v for k, v in out.items() if k not in best}
        for factor in best:  # one, and every other factor named (``spec`` checks both)
            rows = {dict(c.levels)[factor]: row.summary for c in self.results.analysis.conditions
                    if factor in dict(c.levels) and c.at(fixed)
                    for row in c.rows if row.label == order}
            # as the comparison picks an order's best learning rate (``stats.lr.fair_best``)
            level = fair_best({k: r.mean for k, r in rows.items()},
                              {k: bool(r.n_diverged or r.n_failed) for k, r in rows.items()},
                              self.metric.gain, level_order)
            out[factor] = BEST if level is None else level
        return out

    def shown(self, m: Measure) -> Measure:
        """``m`` as a page describes it: a ``"best"`` level with the level it read
        (``lr=best (0.001)``)."""
        if BEST not in m.condition.values():
            return m
        levels = self.resolve(m.condition, m.order)
        return replace(m, condition={k: f"{BEST} ({levels[k]})" if v == BEST != levels[k]
                                     else v for k, v in m.condition.items()})

    def runs(self, order: str, condition: Mapping[str, Any] | None = None) -> list:
        """The finished runs of ``order`` at ``condition`` (every level when not given)."""
        wanted = self.resolve(condition, order)
        out = []
        for run in self.results.runs:
            if run.label != order or run.status not in ("done", "diverged"):
                continue
            level = self.results.analysis.plan.level_of
            if any(str(level(run, f)) != str(v) for f, v in wanted.items()):
                continue
            out.append(run)
        return out

    def values(self, m: Measure) -> dict[int, float]:
        """Seed -> the measure's value in that seed's run (runs without it are left out)."""
        out = {}
        # a run that diverged later still has its earlier epochs: an epoch-N measure reads them
        numbered = m.kind == RUN_KIND and isinstance(m.epoch, int)
        runs = [r for r in self.runs(m.order, m.condition)
                if r.status == "done" or (numbered and r.status == "diverged")]
        if len({r.seed for r in runs}) < len(runs):
            raise ConfigError(
                f"measure {m.describe()} matches several runs per seed (conditions or learning"
                " rates); name the condition in the claim's measure"
            )
        for run in runs:  # diverged runs' last probes predate their divergence: left out
            if m.kind == RUN_KIND and m.statistic in EPOCH_STATISTICS:
                epochs = self.results.epochs.get(run.id, ())
                value = EPOCH_STATISTICS[m.statistic](epochs[-1]) if epochs else None
            elif m.kind == RUN_KIND and (m.statistic in EPOCH_FIELDS or numbered):
                value = _epoch_value(self.results.epochs.get(run.id, ()), m)
            elif m.kind == RUN_KIND and m.statistic.startswith(REPORTED):
                value = (run.metrics or {}).get(m.statistic.removeprefix(REPORTED))
                value = None if value is None else float(value)
            elif m.kind == RUN_KIND:
                value = getattr(run, m.statistic)
                value = None if value is None else float(value)
            else:
                value = _run_value(self.probes.get(run.id, ()), m)
            if value is not None and math.isfinite(value):
                out[run.seed] = value
        return out


    def chains(self) -> tuple:
        """Each order's chain of stage distributions in one block (``probe.chain``), trained,
        from its first seed's run; empty without probes."""
        from layerorder.probe.chain import chain_from_stats

        out = []
        for label in self.results.analysis.labels:
            runs = sorted(self.runs(label), key=lambda r: r.seed)
            rows = self.probes.get(runs[0].id, ()) if runs else ()
            stages = [(e, rec) for e, kind, rec in rows if kind == "stage"]
            if not stages:
                continue
            last = max(e for e, _ in stages)
            chain = chain_from_stats(label, [rec for e, rec in stages if e == last])
            if chain is not None:
                out.append(chain)
        return tuple(out)


def _run_value(rows, m: Measure) -> float | None:
    mine = [(e, rec) for e, kind, rec in rows if kind == m.kind]
    if not mine:
        return None
    epoch = 0 if m.epoch == "init" else max(e for e, _ in mine)
    records = [rec for e, rec in mine if e == epoch]
    if m.kind == "stage":
        records = _stages(records, m.stage)
    if m.module:
        records = [r for r in records if getattr(r, "kind", "").startswith(m.module)]
    if m.within:
        records = [r for r in records if r.name.startswith(m.within)]
    values = [float(getattr(r, m.statistic)) for r in records]
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return None
    if m.layers == "first":
        return values[0]
    if m.layers == "last":
        return values[-1]
    if m.layers == "first/last":
        return values[0] / values[-1] if values[-1] else None
    return sum(values) / len(values)


def _stages(records, stage: str) -> list:
    """The stages of a role, or (input:ROLE) the stage right before each one of that role in
    the same block (none for a role that opens its block)."""
    want = stage.removeprefix("input:")
    if stage == want:
        return [r for r in records if role_of_kind(r.kind) == want]
    out = []
    for before, r in zip(records, records[1:]):
        same_block = before.name.rpartition(".")[0] == r.name.rpartition(".")[0]
        if role_of_kind(r.kind) == want and same_block:
            out.append(before)
    return out


def load_evidence(name: str, results: Comparison, store,
                  config: ExperimentConfig | None = None) -> Evidence:
    """The evidence of one stored experiment (probe rows read for its probed runs)."""
    probes = {}
    for run in results.runs:
        rows = []
        for row in store.probes(run.id):
            record = typed(row.kind, row.name, row.data)
            if record is not None:
                rows.append((row.epoch, row.data.get("index", 0), row.kind, record))
        rows.sort(key=lambda r: (r[0], r[2], r[1]))
        probes[run.id] = tuple((e, k, rec) for e, _i, k, rec in rows)
    return Evidence(name, results, probes, config)
