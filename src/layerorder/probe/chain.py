"""The chain of one block's stages, as the articles draw it by hand: the signed distribution
after the weight layer, after the norm, after the activation, after pooling, in the block's own
order. ``stage_chain`` picks the block and returns a record; the figures only draw it.

The block is the first one with a pool stage (``features.1`` of a ``cnn2d`` whose order has a
pool), or else the second block of the network (the first has no pre-activation stages), so the
chains of several orders compare the same place in the network.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

POOL_KINDS = ("MaxPool", "AvgPool")  # module class name prefixes (MaxPool2d, AvgPool1d, ...)


@dataclass(frozen=True)
class ChainStep:
    name: str  # module path, e.g. features.1.norm
    kind: str  # module class name, e.g. BatchNorm2d
    hist: tuple[int, ...]
    hist_range: tuple[float, float]
    frac_positive: float


@dataclass(frozen=True)
class StageChain:
    label: str  # the order
    block: str  # the block's module path, e.g. features.1
    steps: tuple[ChainStep, ...]


def _block_of(name: str) -> str:
    return name.rpartition(".")[0]


def stage_chain(label: str, steps: Iterable[ChainStep]) -> StageChain | None:
    """The chain of the chosen block among ``steps`` (every probed stage, in forward order)."""
    steps = list(steps)
    blocks: dict[str, list[ChainStep]] = {}
    for step in steps:
        blocks.setdefault(_block_of(step.name), []).append(step)
    candidates = [b for b, members in blocks.items() if b and len(members) > 1]
    if not candidates:
        return None
    pooled = [b for b in candidates if any(s.kind.startswith(POOL_KINDS) for s in blocks[b])]
    chosen = pooled[0] if pooled else candidates[min(1, len(candidates) - 1)]
    return StageChain(label, chosen, tuple(blocks[chosen]))


def chain_from_stats(label: str, stats) -> StageChain | None:
    """From ``StageStats`` (a ``probe`` run's recording)."""
    return stage_chain(
        label,
        (ChainStep(s.name, s.kind, tuple(s.hist), s.hist_range, s.frac_positive) for s in stats),
    )


def chain_from_rows(label: str, rows) -> StageChain | None:
    """From the report's ``StageRow``s (trained histograms of a stored probed run)."""
    return stage_chain(
        label,
        (
            ChainStep(r.name, r.kind, tuple(r.trained_hist), r.hist_range, r.trained_positive)
            for r in rows
        ),
    )
