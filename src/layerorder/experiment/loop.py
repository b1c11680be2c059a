"""The training loop: one function of (model, data, config, seed) to per-epoch records.

Lean by design: the data are in-memory tensors on the device, batches are taken by index, metrics
accumulate on the device and are read once per epoch, gradients are reset to None, and the
optimizers use their foreach implementations. A seed fixes the data order (its own generator) and
the dropout masks (a ``DropoutStream`` for element dropout on the CPU, the global generator
otherwise, both seeded just before training); the caller seeds the initialisation before building
the model. Runs with the same seed and different orders therefore
see the same batches in the same order: they are paired.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from layerorder.blocks.dropout import seed_dropout
from layerorder.experiment.config import RunConfig
from layerorder.store import EpochRecord

EVAL_BATCH = 1000


@dataclass(frozen=True)
class TrainResult:
    """What one run produced: its epochs, and whether (and when) it diverged."""

    epochs: tuple[EpochRecord, ...]
    diverged_epoch: int | None = None

    @property
    def status(self) -> str:
        return "diverged" if self.diverged_epoch is not None else "done"


def make_optimizer(params, cfg: RunConfig, lr: float) -> torch.optim.Optimizer:
    """SGD, Adam or AdamW; fused (one kernel for all tensors) where this PyTorch and device
    have it, else the foreach implementation. Both are element-wise, like the plain loop's."""
    params = list(params)
    if cfg.optimizer == "sgd":
        cls, kwargs = torch.optim.SGD, {"momentum": cfg.momentum}
    else:
        cls, kwargs = (torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW), {}
    try:
        return cls(params, lr=lr, weight_decay=cfg.weight_decay, fused=True, **kwargs)
    except (RuntimeError, ValueError, TypeError):  # no fused kernel for this device or version
        return cls(params, lr=lr, weight_decay=cfg.weight_decay, foreach=True, **kwargs)


def make_schedule(opt, cfg: RunConfig, total_steps: int):
    """A per-step schedule: onecycle, cosine (to zero), step (x0.1 at 50% and 75%), constant."""
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total_steps)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)
    if cfg.schedule == "step":
        marks = [int(total_steps * 0.5), int(total_steps * 0.75)]
        return torch.optim.lr_scheduler.MultiStepLR(opt, milestones=marks, gamma=0.1)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)


def batch_indices(n: int, batch_size: int, gen: torch.Generator) -> list[torch.Tensor]:
    """A shuffled epoch as index batches; a last batch of one sample is dropped (BatchNorm)."""
    perm = torch.randperm(n, generator=gen)
    batches = list(perm.split(batch_size))
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches.pop()
    return batches


def steps_per_epoch(n: int, batch_size: int) -> int:
    full, rest = divmod(n, batch_size)
    return full + (1 if rest > 1 or (rest == 1 and full == 0) else 0)


def autocast(device: torch.device, enabled: bool):
    """bfloat16 autocast on ``device`` for ``--amp`` (a no-op context otherwise)."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def _full(out: torch.Tensor, amp: bool) -> torch.Tensor:
    """Logits in float32 for the loss under autocast; float32 and float64 ones stay as they are."""
    return out.float() if amp and out.dtype in (torch.float16, torch.bfloat16) else out


def wants_channels_last(model: nn.Module, device: torch.device) -> bool:
    """On CUDA, 2-d convolutions are faster in the channels_last (NHWC) layout."""
    return device.type == "cuda" and any(isinstance(m, nn.Conv2d) for m in model.modules())


def prepare(model: nn.Module, device: torch.device, compile_model: bool) -> nn.Module:
    """Lay the model out for its device; the callable to train with (compiled for --compile)."""
    if wants_channels_last(model, device):
        model.to(memory_format=torch.channels_last)
    if not compile_model:
        return model
    # fallback_random: dropout inside the graph draws from torch's generators as in eager mode,
    # so a compiled run has the masks of its eager run (and of its replica in a stacked model)
    return torch.compile(model, options={"fallback_random": True})


@torch.no_grad()
def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, amp: bool = False
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy in percent) in eval mode."""
    model.eval()
    loss = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    for i in range(0, len(x), EVAL_BATCH):
        with autocast(x.device, amp):
            out = _full(model(x[i : i + EVAL_BATCH]), amp)
        yb = y[i : i + EVAL_BATCH]
        loss += nn.functional.cross_entropy(out, yb, reduction="sum")
        correct += (out.argmax(1) == yb).sum()
    return loss.item() / len(x), 100.0 * correct.item() / len(x)


def train(
    model: nn.Module,
    data,
    cfg: RunConfig,
    *,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    probe: Callable[[int, nn.Module], None] | None = None,
    compile_model: bool = False,
) -> TrainResult:
    """Train ``model`` on ``data`` (a ``layerorder.data.Dataset`` already on the model's device).

    Stops early, as diverged, at the first epoch whose training loss is NaN or infinite.
    ``probe(epoch, model)`` is called at init (epoch 0) and after every epoch's evaluation.
    ``cfg.amp`` runs forward and loss under bfloat16 autocast; ``compile_model`` trains through
    ``torch.compile(model)`` (the same parameters).
    """
    device = next(model.parameters()).device
    forward = prepare(model, device, compile_model)
    x, y = data.x_train, data.y_train
    gen = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)  # dropout masks on other devices, channel dropout
    seed_dropout(model, cfg.seed)  # element dropout masks on the CPU
    opt = make_optimizer(model.parameters(), cfg, cfg.lr)
    sched = make_schedule(opt, cfg, cfg.epochs * steps_per_epoch(len(x), cfg.batch_size))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    records: list[EpochRecord] = []
    start = time.perf_counter()
    if probe is not None:
        probe(0, model)
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        for idx in batch_indices(len(x), cfg.batch_size, gen):
            idx = idx.to(device, non_blocking=True)
            xb, yb = x[idx], y[idx]
            with autocast(device, cfg.amp):
                out = _full(forward(xb), cfg.amp)
                loss = loss_fn(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.detach() * len(idx)
            correct += (out.detach().argmax(1) == yb).sum()
            seen += len(idx)
        lr_now = opt.param_groups[0]["lr"]
        train_loss = loss_sum.item() / seen
        if not math.isfinite(train_loss):
            records.append(_epoch(epoch, train_loss, math.nan, math.nan, math.nan, lr_now, start))
            return TrainResult(tuple(records), diverged_epoch=epoch)
        test_loss, test_acc = evaluate(forward, data.x_test, data.y_test, cfg.amp)
        train_acc = 100.0 * correct.item() / seen
        rec = _epoch(epoch, train_loss, train_acc, test_loss, test_acc, lr_now, start)
        records.append(rec)
        if probe is not None:
            probe(epoch, model)
        if on_epoch is not None:
            on_epoch(rec)
    return TrainResult(tuple(records))


def _epoch(epoch, train_loss, train_acc, test_loss, test_acc, lr, start) -> EpochRecord:
    return EpochRecord(
        epoch=epoch,
        train_loss=train_loss,
        train_acc=train_acc,
        test_loss=test_loss,
        test_acc=test_acc,
        lr=lr,
        wall_time=time.perf_counter() - start,
    )
