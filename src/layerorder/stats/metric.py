"""The metric an analysis compares: its name, its direction (``goal``), the range its values can
take, and how its numbers read.

The built-in loop's metric is final test accuracy in percent (higher is better, 0-100, differences
in points); its final test and train losses are built in too (lower is better). A user's training
function or script reports metrics of its own (``val_loss``, ``f1``, ``perplexity``): their
direction is given (``--goal``), their range only where declared (``--metric-range``), and their
numbers are shown in the metric's own units with four significant digits.

Torch- and scipy-free, like the plan that holds it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

GOALS = ("max", "min")
ACCURACY = "test_acc"
# metrics of the built-in loop: name -> (the run record's field, goal, range)
BUILT_IN: dict[str, tuple[str, str, tuple[float, float] | None]] = {
    "test_acc": ("final_test_acc", "max", (0.0, 100.0)),
    "test_loss": ("final_test_loss", "min", (0.0, math.inf)),
    "train_loss": ("final_train_loss", "min", (0.0, math.inf)),
}
# words that mark a metric whose direction must be said (a loss taken as higher-is-better would
# silently invert every verdict)
LOWER_IS_BETTER_WORDS = ("loss", "error", "err", "perplexity", "ppl", "mse", "mae", "rmse", "wer",
                         "cer", "nll", "bpd", "bpc")


@dataclass(frozen=True)
class Metric:
    """``name``: a built-in metric (``test_acc``, ``test_loss``, ``train_loss``) or one a user's run
    reports; ``goal``: ``max`` or ``min``; ``bounds``: the values it can take (intervals are
    clipped to them; None: unbounded)."""

    name: str = ACCURACY
    goal: str = "max"
    bounds: tuple[float, float] | None = (0.0, 100.0)

    def __post_init__(self) -> None:
        if self.goal not in GOALS:
            raise ValueError(f"goal must be one of {GOALS}, got {self.goal!r}")

    @classmethod
    def named(cls, name: str | None = None, goal: str | None = None,
              bounds: tuple[float, float] | None = None) -> Metric:
        """A metric by name, its goal and range filled in where it is built in."""
        name = name or ACCURACY
        field_, default_goal, default_bounds = BUILT_IN.get(name, (None, "max", None))
        return cls(name, goal or default_goal, bounds if bounds is not None else default_bounds)

    @property
    def is_accuracy(self) -> bool:
        return self.name == ACCURACY

    @property
    def higher_is_better(self) -> bool:
        return self.goal == "max"

    @property
    def direction(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"

    @property
    def span(self) -> float:
        """The width of the range (inf when unbounded): no difference exceeds it."""
        return math.inf if self.bounds is None else self.bounds[1] - self.bounds[0]

    def value_of(self, run: Any) -> float | None:
        """The run's final value of this metric (None: not reported, or the run has none)."""
        built_in = BUILT_IN.get(self.name)
        if built_in is not None and getattr(run, built_in[0], None) is not None:
            return getattr(run, built_in[0])
        value = (getattr(run, "metrics", None) or {}).get(self.name)
        return None if value is None else float(value)

    def gain(self, diff: float) -> float:
        """A difference a - b turned so that positive means a is better."""
        return diff if self.higher_is_better else -diff

    def better(self, a: float, b: float) -> bool:
        return self.gain(a - b) > 0

    def best(self, values: dict[Any, float]) -> Any:
        """The key of the best finite value (ties: the first)."""
        finite = [(k, v) for k, v in values.items() if math.isfinite(v)]
        if not finite:
            return None
        return (max if self.higher_is_better else min)(finite, key=lambda kv: kv[1])[0]

    # ---- how its numbers read ---------------------------------------------------------------

    @property
    def units(self) -> str:
        """What a difference is counted in, as a word after it: 'points', or the metric's name
        ('+0.2282 val_loss')."""
        return "points" if self.is_accuracy else self.name

    @property
    def label(self) -> str:
        """A column or axis title: 'test accuracy (%)' or the metric's name with its goal."""
        if self.is_accuracy:
            return "test accuracy (%)"
        return f"{self.name} ({self.goal})"

    @property
    def noun(self) -> str:
        """What the values are called in a sentence or a title: 'test accuracy', 'val_loss'."""
        return "test accuracy" if self.is_accuracy else self.name

    @property
    def mean_title(self) -> str:
        """A column of means: 'mean %' or 'mean val_loss'."""
        return "mean %" if self.is_accuracy else f"mean {self.name}"

    @property
    def diff_title(self) -> str:
        """A column or axis of differences: 'Δ (points)' or 'Δ val_loss'."""
        return "Δ (points)" if self.is_accuracy else f"Δ {self.name}"

    @property
    def diff_unit(self) -> str:
        """Differences' unit in a caption or an axis label: '(points)' or '(val_loss)'."""
        return "(points)" if self.is_accuracy else f"({self.name})"

    def margin_text(self, margin: float) -> str:
        """'0.5 points' of accuracy, or '0.05' in a metric's own units."""
        return f"{margin:g} points" if self.is_accuracy else f"{margin:g}"

    def cell(self, value: float | None) -> str:
        """A table cell: 2 decimals of accuracy, 4 significant digits of any other metric (a
        loss of 0.0312 is not '0.03'); '-' for a missing or non-finite value."""
        if value is None or not math.isfinite(value):
            return "-"
        return f"{value:.2f}" if self.is_accuracy else f"{value:.4g}"

    def signed(self, value: float) -> str:
        """A difference in a table cell or a figure: '+0.23' (2 decimals of accuracy) or
        '+0.002282' (4 significant digits of any other metric)."""
        return f"{value:+.2f}" if self.is_accuracy else f"{value:+.4g}"

    def number(self, value: float) -> str:
        return f"{value:.1f}" if self.is_accuracy else f"{value:.4g}"

    def value_text(self, value: float) -> str:
        """'97.6 %' or '0.3127'."""
        return f"{value:.1f} %" if self.is_accuracy else f"{value:.4g}"

    def diff_text(self, diff: float, signed: bool = True) -> str:
        """'+4.1 points' (accuracy) or '-0.03127' (a metric's own units)."""
        if not math.isfinite(diff):
            return f"{diff} points" if self.is_accuracy else f"{diff}"
        if self.is_accuracy:
            return f"{diff:+.1f} points" if signed else f"{abs(diff):.1f} points"
        return f"{diff:+.4g}" if signed else f"{abs(diff):.4g}"

    def summary_text(self, mean: float, sd: float, n: int) -> str:
        """'97.6 ± 0.3 % (mean ± SD over 5 seeds)', or the single-seed wording."""
        unit = " %" if self.is_accuracy else ""
        if n >= 2:
            return f"{self.number(mean)} ± {self.number(sd)}{unit} (mean ± SD over {n} seeds)"
        return f"{self.number(mean)}{unit} (a single seed)"

    def to_stored(self) -> dict[str, Any]:
        return {"name": self.name, "goal": self.goal,
                "bounds": None if self.bounds is None else list(self.bounds)}

    @classmethod
    def from_stored(cls, stored: Any) -> Metric:
        if not stored:
            return cls()
        bounds = stored.get("bounds")
        return cls(str(stored.get("name", ACCURACY)), str(stored.get("goal", "max")),
                   None if bounds is None else (float(bounds[0]), float(bounds[1])))


ACCURACY_METRIC = Metric()


def looks_lower_is_better(name: str) -> bool:
    """Whether a metric's name reads as a loss or an error (its direction must then be given)."""
    words = name.lower().replace("-", "_").replace(".", "_").split("_")
    return any(w in LOWER_IS_BETTER_WORDS for w in words)
