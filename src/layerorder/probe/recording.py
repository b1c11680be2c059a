"""``record(model)``: hook every stage of every block, paramless ones included.

fastai's ActivationStats hooks only layers with parameters; the questions here are about what
ReLU, Dropout and pooling do, so every leaf module is hooked (containers and pure reshapes are
not). Hooks are always removed on exit, even when the body raises.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from layerorder.probe.accumulate import Accumulator
from layerorder.probe.records import DEFAULT_RANGE, StageStats

SKIP = (nn.Identity, nn.Flatten, nn.Unflatten)
DEFAULT_BINS = 60


def bin_edges(
    bins: int = DEFAULT_BINS, hist_range: tuple[float, float] = DEFAULT_RANGE
) -> list[float]:
    """The ``bins + 1`` edges of equal bins over ``hist_range``: the one binning every probe
    histogram, chart and table uses."""
    lo, hi = float(hist_range[0]), float(hist_range[1])
    return [lo + (hi - lo) * i / bins for i in range(bins + 1)]


def stage_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Leaf modules in registration order, reshapes and identities left out; and containers
    that mark themselves ``stream_stage`` (a Transformer's residual sublayers: their output is
    the residual stream after that sublayer)."""
    found = []
    for name, module in model.named_modules():
        if getattr(module, "stream_stage", False):
            found.append((name, module))
            continue
        if next(module.children(), None) is not None or isinstance(module, SKIP):
            continue
        if type(module).__name__ == "Reshape":
            continue
        found.append((name, module))
    return found


@dataclass
class Recording:
    """What ``record`` collects; ``stages`` reads it back (one host sync per stage)."""

    bins: int
    hist_range: tuple[float, float]
    every: int
    accumulators: dict[str, Accumulator] = field(default_factory=dict)
    calls: int = 0
    first_call: dict[Accumulator, int] = field(default_factory=dict)  # forward position

    @property
    def edges(self) -> list[float]:
        return bin_edges(self.bins, self.hist_range)

    @property
    def stages(self) -> list[StageStats]:
        """In forward order: the order of each stage's first call (registration order, which
        differs in modules such as residual units, only breaks ties of stages never called)."""
        ordered = sorted(self.accumulators.values(), key=lambda a: self.first_call.get(a, 1e18))
        return [s for s in (a.finish() for a in ordered) if s is not None]

    def stage(self, name: str) -> StageStats:
        return next(s for s in self.stages if s.name == name)


@contextmanager
def record(
    model: nn.Module,
    *,
    every: int = 1,
    bins: int = DEFAULT_BINS,
    hist_range: tuple[float, float] = DEFAULT_RANGE,
):
    """Record signed output statistics of every stage on every ``every``-th forward pass.

    >>> with record(model) as rec:
    ...     model(x)
    >>> rec.stages[0].frac_positive
    """
    if every < 1 or bins < 1 or not hist_range[0] < hist_range[1]:
        raise ValueError("every and bins must be >= 1 and hist_range must be (low, high)")
    rec = Recording(bins=bins, hist_range=(float(hist_range[0]), float(hist_range[1])), every=every)
    modules = stage_modules(model)
    root = model

    def count_call(module, args):
        rec.calls += 1

    def make_hook(acc: Accumulator):
        def hook(module, args, output):
            if acc not in rec.first_call:
                rec.first_call[acc] = len(rec.first_call)
            if (rec.calls - 1) % rec.every == 0 and isinstance(output, torch.Tensor):
                acc.add(output)

        return hook

    handles = [root.register_forward_pre_hook(count_call)]
    for name, module in modules:
        acc = Accumulator(name, type(module).__name__, bins, rec.hist_range)
        rec.accumulators[name] = acc
        handles.append(module.register_forward_hook(make_hook(acc)))
    try:
        yield rec
    finally:
        for handle in handles:
            handle.remove()


def hook_count(model: nn.Module) -> int:
    """Forward (pre-)hooks left on any module: 0 after ``record`` exits."""
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        for m in model.modules()
    )
