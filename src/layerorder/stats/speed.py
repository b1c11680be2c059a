"""Speed as its own statistic: how many epochs each order needs to reach a target accuracy.

An order that learns more slowly is not a less reliable one (``stats.reliability`` never counts
it), but it is a difference a user wants to see, so it gets its own numbers and verdict line.

**Target.** Within one condition, the lowest final test accuracy among the runs that neither
failed nor collapsed (``reliability.COLLAPSE_POINTS`` below the median of the same order's other
seeds): an accuracy every such run reaches by its last epoch, so that the question is *when*, not
*whether*. A single collapsed run would otherwise set the bar at a level every order passes in
its first epoch.

**Epochs to target.** The first epoch whose test accuracy is at or above the target. A run that
never gets there is censored: slower than any run that did, tied with another censored run. Runs
that failed (diverged, not finished, or ended at chance: ``reliability.at_chance``) are left out:
failure is reliability's question.

**Pairs.** For each pair of the comparison's family the seeds are paired, and the exact sign test
(``stats.exact.sign_test``, two-sided, ties dropped) asks whether one order reaches the target
first on more seeds than chance allows; Holm over the pairs. A sign test and not a t-test,
because epochs are small integers with many ties and censored values have no number to average.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from layerorder.stats.exact import sign_test
from layerorder.stats.holm import holm
from layerorder.stats.reliability import collapsed_mask

NEVER = math.inf  # epochs to target of a run that never reached it


@dataclass(frozen=True)
class OrderSpeed:
    """One order: the median epochs to the target over its runs (None when fewer than half
    reached it), and how many of its ``runs`` reached it."""

    label: str
    median_epochs: float | None
    reached: int
    runs: int


@dataclass(frozen=True)
class SpeedPair:
    """``a`` against ``b`` over paired seeds: on how many ``a`` reached the target first, on how
    many ``b`` did, and ties; the exact two-sided sign-test p and its Holm-adjusted value."""

    a: str
    b: str
    a_first: int
    b_first: int
    ties: int
    p: float
    p_holm: float

    def faster(self, alpha: float) -> str | None:
        """The order that is faster at family-wise level ``alpha``, or None."""
        if not self.p_holm < alpha:
            return None
        return self.a if self.a_first > self.b_first else self.b


@dataclass(frozen=True)
class Speed:
    """Epochs to ``target`` (points) for every order of one condition, and the pair tests."""

    condition: str
    target: float
    orders: tuple[OrderSpeed, ...]
    pairs: tuple[SpeedPair, ...]
    alpha: float = 0.05

    def rank(self, label: str) -> str:
        """'slowest' when ``label``'s median epochs to the target exceed every other order's
        (a median of never counts as the most), 'fastest' when they are below every other's,
        '' otherwise or when the order has no speed here."""
        def key(o: OrderSpeed) -> float:
            return NEVER if o.median_epochs is None else o.median_epochs

        mine = next((o for o in self.orders if o.label == label), None)
        others = [key(o) for o in self.orders if o.label != label]
        if mine is None or not others:
            return ""
        if key(mine) > max(others):
            return "slowest"
        if key(mine) < min(others):
            return "fastest"
        return ""

    def text(self) -> str:
        """The verdict line's text (renderers put "Speed (not reliability):" before it): each
        order's median epochs to the target, and the pairs where one order is faster (or that
        none is)."""
        if not self.orders:
            return ""
        medians = ", ".join(
            f"{o.label} {_epochs(o.median_epochs)}"
            + (f" ({o.reached}/{o.runs} reached it)" if o.reached < o.runs else "")
            for o in self.orders
        )
        faster = [(p, p.faster(self.alpha)) for p in self.pairs]
        found = [f"{w} first on {max(p.a_first, p.b_first)} of "
                 f"{p.a_first + p.b_first + p.ties} seeds against "
                 f"{p.b if w == p.a else p.a} (sign test, Holm p {p.p_holm:.2g})"
                 for p, w in faster if w is not None]
        tail = ("; ".join(found) if found else
                "no order reaches it first on more seeds than chance allows")
        return (f"median epochs to reach {self.target:.1f} %, the lowest final accuracy of a "
                f"run that did not fail or collapse: {medians}; {tail}.")


def _epochs(median: float | None) -> str:
    if median is None:
        return "never (most runs)"
    return f"{median:g}"


def epochs_to(accuracies: Sequence[float | None], target: float,
              epochs: Sequence[int] | None = None) -> float:
    """The first epoch whose accuracy is at least ``target`` (``epochs``: each accuracy's epoch
    number; default 1, 2, ...); ``NEVER`` if none is."""
    numbers = epochs if epochs is not None else range(1, len(accuracies) + 1)
    for epoch, acc in zip(numbers, accuracies):
        if _finite(acc) and acc >= target:
            return float(epoch)
    return NEVER


def compare_speed(
    curves: Mapping[str, Mapping[int, Sequence[float | None]]],
    family: Sequence[tuple[str, str]],
    *,
    alpha: float = 0.05,
    condition: str = "",
) -> Speed | None:
    """``curves[label][seed]`` = the test accuracy after each epoch of a run that did not fail;
    ``family``: the pairs to test. Orders without such a run are left out (every run failed:
    reliability's question); None when fewer than two orders are left."""
    finals = {label: [c[-1] for c in by_seed.values() if c and _finite(c[-1])]
              for label, by_seed in curves.items()}
    finals = {label: v for label, v in finals.items() if v}
    family = [(a, b) for a, b in family if a in finals and b in finals]
    if len(finals) < 2 or not family:
        return None
    curves = {label: curves[label] for label in finals}
    target = min(min(_kept(v)) for v in finals.values())
    times = {label: {seed: epochs_to(c, target) for seed, c in by_seed.items()}
             for label, by_seed in curves.items()}
    orders = tuple(
        OrderSpeed(label, _median(list(t.values())), sum(x != NEVER for x in t.values()),
                   len(t))
        for label, t in times.items()
    )
    raw = []
    for a, b in family:
        seeds = sorted(set(times.get(a, {})) & set(times.get(b, {})))
        # b's epochs minus a's: above zero where a got there first (NEVER - NEVER is a tie)
        diffs = [0.0 if times[a][s] == times[b][s] else
                 (1.0 if times[a][s] < times[b][s] else -1.0) for s in seeds]
        raw.append((a, b, sign_test(diffs, "two-sided")))
    adjusted = holm([t.p for *_, t in raw]) if raw else []
    pairs = tuple(SpeedPair(a, b, t.above, t.below, t.ties, t.p, q)
                  for (a, b, t), q in zip(raw, adjusted))
    return Speed(condition, float(target), orders, pairs, alpha)


def _kept(finals: list[float]) -> list[float]:
    """The final accuracies of one order's runs that did not collapse (as
    ``stats.reliability`` reads a collapse)."""
    return [f for f, gone in zip(finals, collapsed_mask(finals)) if not gone] or finals


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _median(times: list[float]) -> float | None:
    """The median of epochs with censored runs at the top (the lower median, so that a run
    that got there decides a tie at exactly half); None when fewer than half got there."""
    if not times:
        return None
    m = statistics.median_low(times)
    return None if m == NEVER else float(m)
