"""BatchNorm's train/test variance shift (Li, Chen, Hu, Yang 2019).

During training a BN layer's running variance tracks the variance of its input *with* dropout
active; at test time dropout is off, so the input variance differs. For zero-mean unit-variance
x, ``Dropout(p)`` gives Var_train = 1/q (q = 1 - p) and Var_test = 1: the running variance is off
by 1/q. Li et al. measure max(real/moving, moving/real) per BN layer; so does ``variance_shift``.

For an input of mean c and variance v (per channel) their formula gives Var_train / Var_test =
1/q + (c^2 / v)(1/q - 1), larger than 1/q; ``VarianceShift.mean_sq_ratio`` records the mean over
channels of c^2 / v measured in eval mode, so a study can test the measured shift against it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from layerorder.probe.records import VarianceShift

DEFAULT_THRESHOLD = 1.25
BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def _batches(inputs, batch_size: int) -> Iterable[torch.Tensor]:
    if isinstance(inputs, torch.Tensor):
        yield from inputs.split(batch_size)
    else:
        yield from inputs


class _ChannelMoments:
    def __init__(self):
        self.n, self.s1, self.s2 = 0, None, None

    def add(self, x: torch.Tensor) -> None:
        x = x.detach().double()
        dims = [d for d in range(x.dim()) if d != 1]
        count = x.numel() // x.shape[1]
        s1, s2 = x.sum(dim=dims), (x * x).sum(dim=dims)
        self.s1 = s1 if self.s1 is None else self.s1 + s1
        self.s2 = s2 if self.s2 is None else self.s2 + s2
        self.n += count

    def mean(self) -> torch.Tensor:
        return self.s1 / self.n

    def var(self) -> torch.Tensor:
        mean = self.s1 / self.n
        return (self.s2 / self.n - mean * mean).clamp_min(0) * self.n / max(self.n - 1, 1)


@torch.no_grad()
def variance_shift(
    model: nn.Module, inputs, *, threshold: float = DEFAULT_THRESHOLD, batch_size: int = 1000
) -> list[VarianceShift]:
    """Compare each BatchNorm's running variance with its input variance in eval mode.

    ``inputs`` is a tensor (split into batches) or an iterable of input batches.
    The model is left in the mode it was in.
    """
    bns = [(n, m) for n, m in model.named_modules() if isinstance(m, BN_TYPES)]
    moments = {n: _ChannelMoments() for n, _ in bns}
    handles = [
        m.register_forward_pre_hook(lambda mod, args, n=n: moments[n].add(args[0])) for n, m in bns
    ]
    was_training = model.training
    model.eval()
    try:
        for xb in _batches(inputs, batch_size):
            model(xb)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    out = []
    for name, bn in bns:
        if moments[name].n == 0 or bn.running_var is None:
            continue
        real = moments[name].var().to(bn.running_var.device)
        running = bn.running_var.double()
        live = (real > 1e-10) & (running > 1e-10)  # a dead channel has no variance to compare
        ratio = torch.maximum(real / running, running / real)[live]
        shift = float(ratio.mean()) if live.any() else 1.0
        mean = moments[name].mean().to(real.device)
        msq = float((mean * mean / real)[live].mean()) if live.any() else math.nan
        out.append(
            VarianceShift(name, float(running.mean()), float(real.mean()), shift, shift > threshold,
                          msq)
        )
    return out


@torch.no_grad()
def recalibrate_bn(model: nn.Module, inputs, *, batch_size: int = 500) -> int:
    """Re-estimate BN running statistics with dropout off (eval-mode conditions).

    Dropout and every other module stay in eval mode; only BatchNorm layers run in train mode,
    with a cumulative average over all batches. Returns the number of BN layers recalibrated.
    """
    bns = [m for m in model.modules() if isinstance(m, BN_TYPES) and m.track_running_stats]
    saved = [(m, m.momentum) for m in bns]
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    try:
        for xb in _batches(inputs, batch_size):
            model(xb)
    finally:
        for m, momentum in saved:
            m.momentum = momentum
        model.eval()
    return len(bns)
