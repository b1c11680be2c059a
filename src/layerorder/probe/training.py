"""Probing during training without changing it: a fixed probe batch, RNG and BN buffers restored.

``EpochProbe`` is called at init (epoch 0) and after every epoch. It runs one train-mode forward and
backward pass on the probe batch with every stage hooked, reads the gradient flow, then restores
the random-number state and the BatchNorm running statistics and drops the gradients, so a probed
run trains exactly like an unprobed one. Then it measures the variance shift in eval mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from layerorder.blocks.dropout import dropout_streams
from layerorder.probe.grads import grad_flow
from layerorder.probe.recording import record
from layerorder.probe.records import GradFlow, StageStats, VarianceShift
from layerorder.probe.stored import to_data
from layerorder.probe.variance import variance_shift

PROBE_BATCH = 64
# the training samples a trained model's eval-mode training accuracy is measured on (``Fit``): a
# sample, not the whole set, so that a probed run's extra cost stays a fraction of an epoch's
# (on MNIST-1D's 4,000 training samples, a quarter; its standard error at 90 % accuracy is about
# 0.9 points per run, noise the seeds average out, not a bias); drawn as ``probe_batch`` draws,
# the same for every run
FIT_SAMPLE = 1000


def probe_batch(x: torch.Tensor, y: torch.Tensor, size: int = PROBE_BATCH):
    """The same fixed subset for every run (generator seed 0), so orders see the same inputs."""
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:size]
    idx = idx.to(x.device)
    return x[idx], y[idx]


class _Preserved:
    """Restores RNG states (dropout streams too) and buffers (BN running stats); clears grads."""

    def __init__(self, model: nn.Module):
        self.model = model

    def __enter__(self):
        self.cpu_rng = torch.get_rng_state()
        self.cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
        self.buffers = [(b, b.detach().clone()) for b in self.model.buffers()]
        self.streams = [(s, s.state) for s in dropout_streams(self.model)]
        self.mode = self.model.training
        return self

    def __exit__(self, *exc):
        with torch.no_grad():
            for buf, saved in self.buffers:
                buf.copy_(saved)
        torch.set_rng_state(self.cpu_rng)
        for stream, state in self.streams:
            stream.state = state
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)
        for p in self.model.parameters():
            p.grad = None
        self.model.train(self.mode)
        return False


@dataclass(frozen=True)
class Snapshot:
    """Everything one probe pass measures."""

    stages: tuple[StageStats, ...]
    grads: tuple[GradFlow, ...]
    varshift: tuple[VarianceShift, ...]


def probe_once(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, bins: int = 60, hist_range=(-6.0, 6.0)
) -> Snapshot:
    """One train-mode pass with every stage hooked, its gradient flow, and the variance shift.

    The model's RNG-visible state, BN buffers, gradients and mode are left as they were.
    """
    with _Preserved(model):
        model.train()
        with record(model, bins=bins, hist_range=hist_range) as rec:
            loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        grads = grad_flow(model)
    return Snapshot(tuple(rec.stages), tuple(grads), tuple(variance_shift(model, x)))


def probe_row(record) -> dict[str, Any]:
    """One probe record (``ProbeRecord`` or an ``EpochProbe`` tuple) as an export row's probe
    part: ``probe_epoch``, ``probe`` (stage, grad, varshift, recal, fit), ``name`` and its
    fields."""
    epoch, kind, name, data = record
    return {"probe_epoch": epoch, "probe": kind, "name": name, **data}


class EpochProbe:
    """Collects (epoch, kind, name, data) records: kinds ``stage``, ``grad`` and ``varshift``.

    Called after every epoch (and at init, epoch 0), it probes at init, every ``every``-th epoch
    and epoch ``epochs`` (the last one, when given), and skips the others."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, *, bins: int = 60, hist_range=(-6.0, 6.0),
                 every: int = 1, epochs: int | None = None):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.x, self.y = probe_batch(x, y)
        self.bins, self.hist_range = bins, hist_range
        self.every, self.epochs = every, epochs
        self.records: list[tuple[int, str, str, dict]] = []
        self.snapshots: dict[int, Snapshot] = {}

    def due(self, epoch: int) -> bool:
        return epoch % self.every == 0 or epoch == self.epochs

    def __call__(self, epoch: int, model: nn.Module) -> None:
        if not self.due(epoch):
            return
        snap = probe_once(model, self.x, self.y, bins=self.bins, hist_range=self.hist_range)
        self.snapshots[epoch] = snap
        for kind, items in (
            ("stage", snap.stages),
            ("grad", snap.grads),
            ("varshift", snap.varshift),
        ):
            for index, item in enumerate(items):  # index keeps the forward order
                self.records.append((epoch, kind, item.name, to_data(item, index)))
