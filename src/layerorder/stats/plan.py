"""What an analysis needs besides the runs: the plan (margin, baseline, factors, the sequential
design's looks and seed order, the data's chance level), one record read the same way by
``compare``, ``report``, studies and search.

Torch- and scipy-free, so that a config can name its plan without loading the statistics. The
plan is stored with its experiment (``Store.save_plan``) as ``to_stored()``'s JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from layerorder.stats.metric import ACCURACY_METRIC, Metric

DEFAULT_MARGIN = 0.5  # points of accuracy; the ``margin`` setting's default for test accuracy


@dataclass(frozen=True)
class AnalysisPlan:
    """``factors``: the settings varied with ``--vary``; ``defaults``: each factor's level for
    runs whose key leaves the setting out (it was at its default); ``looks``: seeds per order at
    each look of a sequential design (empty: one look at every seed); ``seed_order``: the order
    its seeds were added in; ``chance``: the data set's chance level in points (runs ending there
    count as failed in the reliability tests); ``metric``: what is compared, and which way is
    better. A ``margin`` of 0 tests no equivalence (a metric of the user's own, no margin given)."""

    margin: float = DEFAULT_MARGIN
    baseline: str | None = None
    factors: tuple[str, ...] = ()
    defaults: tuple[tuple[str, Any], ...] = ()
    looks: tuple[int, ...] = ()
    seed_order: tuple[int, ...] | None = None
    chance: float | None = None
    metric: Metric = ACCURACY_METRIC

    @property
    def tests_equivalence(self) -> bool:
        return self.margin > 0

    def value_of(self, run: Any) -> float | None:
        """A run's final value of the plan's metric."""
        return self.metric.value_of(run)

    @classmethod
    def of(cls, **fields: Any) -> AnalysisPlan:
        """A plan from keywords, sequences as given (``factors=["batch_size"]``); a sequential
        design may be given as ``design=`` (its ``looks``)."""
        if "design" in fields:
            fields["looks"] = fields.pop("design").looks
        metric, goal = fields.pop("metric", None), fields.pop("goal", None)
        bounds = fields.pop("metric_range", None)
        if isinstance(metric, Metric):
            if goal is not None or bounds is not None:
                raise TypeError("give a Metric, or metric= with goal= and metric_range=; not both")
            fields["metric"] = metric
        elif metric is not None or goal is not None or bounds is not None:
            fields["metric"] = Metric.named(metric, goal, None if bounds is None else tuple(bounds))
        for name in ("factors", "looks", "seed_order"):
            if fields.get(name) is not None:
                fields[name] = tuple(fields[name])
        fields["defaults"] = tuple((str(k), v) for k, v in dict(fields.get("defaults", ())).items())
        return cls(**fields)

    def level_of(self, run: Any, factor: str) -> Any:
        """A run's level of ``factor``: its learning rate, or the setting in its stored config
        (a setting left out of run keys at its default has its default)."""
        if factor == "lr":
            return run.lr
        table, dot, key = factor.partition(".")
        if dot and table in ("data_options", "params"):  # one entry of a table setting
            return dict(run.config.get(table) or {}).get(key)
        if factor in run.config:
            return run.config[factor]
        return dict(self.defaults).get(factor)

    def to_stored(self) -> dict[str, Any]:
        return {
            "margin": self.margin,
            "baseline": self.baseline,
            "factors": list(self.factors),
            "defaults": [[k, v] for k, v in self.defaults],
            "looks": list(self.looks),
            "seed_order": None if self.seed_order is None else list(self.seed_order),
            "chance": self.chance,
            "metric": self.metric.to_stored(),
        }

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> AnalysisPlan:
        seeds = stored.get("seed_order")
        return cls(
            margin=float(stored.get("margin", DEFAULT_MARGIN)),
            baseline=stored.get("baseline"),
            factors=tuple(stored.get("factors", ())),
            defaults=tuple((str(k), v) for k, v in stored.get("defaults", ())),
            looks=tuple(int(n) for n in stored.get("looks", ())),
            seed_order=None if seeds is None else tuple(int(s) for s in seeds),
            chance=None if stored.get("chance") is None else float(stored["chance"]),
            metric=Metric.from_stored(stored.get("metric")),
        )
