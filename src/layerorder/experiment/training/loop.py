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

from layerorder.blocks.dropout import eager_under_compile, seed_dropout
from layerorder.experiment.configuration.config import RunConfig
from layerorder.experiment.training.task import Classification, task_for
from layerorder.seeding import seed_run
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
        cls = torch.optim.SGD
        kwargs = {"momentum": cfg.momentum, "nesterov": cfg.nesterov and cfg.momentum > 0}
    else:
        cls = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW
        kwargs = {"betas": (0.9, cfg.beta2), "eps": cfg.adam_eps}
    try:
        return cls(params, lr=lr, weight_decay=cfg.weight_decay, fused=True, **kwargs)
    except (RuntimeError, ValueError, TypeError):  # no fused kernel for this device or version
        return cls(params, lr=lr, weight_decay=cfg.weight_decay, foreach=True, **kwargs)


def make_schedule(opt, cfg: RunConfig, total_steps: int):
    """A per-step schedule: onecycle, cosine (to zero), step (x0.1 at 50% and 75%), constant;
    with ``cfg.warmup`` the learning rate first rises linearly from 0 over the warmup steps."""
    if cfg.warmup > 0:
        return warmed_up(opt, cfg.schedule, total_steps, warmup_steps(cfg.warmup, total_steps))
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total_steps)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)
    if cfg.schedule == "step":
        marks = [int(total_steps * 0.5), int(total_steps * 0.75)]
        return torch.optim.lr_scheduler.MultiStepLR(opt, milestones=marks, gamma=0.1)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)


def warmup_steps(warmup: float, total_steps: int) -> int:
    """Steps of warmup: ``warmup`` itself from 1 up, else that fraction of all steps."""
    return int(warmup) if warmup >= 1 else max(1, round(warmup * total_steps))


def warmed_up(opt, schedule: str, total_steps: int, warm: int):
    """One LambdaLR: a linear rise over ``warm`` steps times the schedule's own factor (the
    closed forms of CosineAnnealingLR to zero, MultiStepLR x0.1 at 50 % and 75 %, constant)."""

    marks = (int(total_steps * 0.5), int(total_steps * 0.75))

    def factor(step: int) -> float:
        rise = min(1.0, (step + 1) / warm)
        if schedule == "cosine":
            return rise * 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps))
        if schedule == "step":
            return rise * 0.1 ** sum(step >= m for m in marks)
        return rise

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


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


def full_precision(out: torch.Tensor, amp: bool) -> torch.Tensor:
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
    eager_under_compile()  # our dropout masks stay eager: the same masks as the eager run
    # fallback_random: dropout inside the graph draws from torch's generators as in eager mode,
    # so a compiled run has the masks of its eager run (and of its replica in a stacked model)
    return torch.compile(model, options={"fallback_random": True})


class Replicas:
    """How the loop feeds one model: a run trained alone (``k`` = 1, this class) or ``k`` runs
    stacked into one wide model (``layerorder.experiment.training.stacked.StackedReplicas``).

    ``inputs`` makes the forward's input from each replica's index batch, ``eval_inputs`` from
    one evaluation batch that every replica sees, and ``split`` views the output as
    (batch, k, outputs). ``targets`` and ``losses`` are the training step's; a run alone keeps
    the plain single-model step (no per-replica stacking on its hot path)."""

    k = 1

    def __init__(self, module: nn.Module):
        self.module = module

    def inputs(self, x: torch.Tensor, idxs: list[torch.Tensor]) -> torch.Tensor:
        return x[idxs[0]]

    def targets(self, y: torch.Tensor, idxs: list[torch.Tensor]) -> torch.Tensor:
        """The batch's targets: (batch,) for a run alone, (batch, k) for stacked runs."""
        return y[idxs[0]]

    def losses(self, loss_fn, out: torch.Tensor, yb: torch.Tensor):
        """(what to backpropagate, per-replica losses): one run's loss is both."""
        loss = loss_fn(out, yb)
        return loss, loss

    def hits(self, task, out: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """Correct predictions per replica in the batch."""
        return task.hits(out, yb).sum()

    def eval_inputs(self, xb: torch.Tensor) -> torch.Tensor:
        return xb

    def split(self, out: torch.Tensor, batch: int) -> torch.Tensor:
        return out.view(batch, self.k, -1)


@torch.no_grad()
def evaluate_replicas(
    forward, replicas: Replicas, x: torch.Tensor, y: torch.Tensor, task, amp: bool = False
) -> tuple[list[float], list[float]]:
    """Per replica, (mean evaluation loss, metric in percent) in eval mode."""
    replicas.module.eval()
    k = replicas.k
    loss = torch.zeros(k, device=x.device)
    hits = torch.zeros(k, device=x.device, dtype=torch.long)
    for i in range(0, len(x), EVAL_BATCH):
        xb, yb = x[i : i + EVAL_BATCH], y[i : i + EVAL_BATCH]
        with autocast(x.device, amp):
            out = full_precision(forward(replicas.eval_inputs(xb)), amp)
        out = replicas.split(out, len(xb))
        for j in range(k):
            loss[j] += task.eval_loss_sum(out[:, j], yb)
        hits += task.hits(out, yb.unsqueeze(1)).sum(0)
    return [v / len(x) for v in loss.tolist()], [100.0 * c / len(x) for c in hits.tolist()]


def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, amp: bool = False, task=None
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy in percent) of one model in eval mode."""
    task = task or Classification()
    loss, acc = evaluate_replicas(model, Replicas(model), x, y, task, amp)
    return loss[0], acc[0]


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
    seed_run(cfg.seed, data.x_train.device)  # dropout masks on a GPU, channel dropout
    seed_dropout(model, cfg.seed)  # element dropout masks on the CPU
    each = None if on_epoch is None else (lambda _j, rec: on_epoch(rec))
    return fit(
        Replicas(model), data, [cfg], on_epoch=each, probe=probe, compile_model=compile_model
    )[0]


def fit(
    replicas: Replicas,
    data,
    cfgs: list[RunConfig],
    *,
    on_epoch: Callable[[int, EpochRecord], None] | None = None,
    probe: Callable[[int, nn.Module], None] | None = None,
    compile_model: bool = False,
) -> list[TrainResult]:
    """The training loop, for one run or ``replicas.k`` stacked runs (``cfgs``, one per replica,
    differing in their seed alone). Each replica has its own data order (its generator), its own
    loss and its own records; a replica whose training loss is not finite is diverged from that
    epoch, and training stops once every replica has diverged. The caller seeds the
    initialisation and the dropout streams."""
    cfg, k = cfgs[0], replicas.k
    module = replicas.module
    device = next(module.parameters()).device
    forward = prepare(module, device, compile_model)
    task = task_for(cfg)
    x, y = data.x_train, data.y_train
    gens = [torch.Generator().manual_seed(c.seed) for c in cfgs]
    opt = make_optimizer(module.parameters(), cfg, cfg.lr)
    sched = make_schedule(opt, cfg, cfg.epochs * steps_per_epoch(len(x), cfg.batch_size))
    loss_fn = task.loss_fn()
    records: list[list[EpochRecord]] = [[] for _ in range(k)]
    diverged: list[int | None] = [None] * k
    start = time.perf_counter()
    if probe is not None:
        probe(0, module)
    for epoch in range(1, cfg.epochs + 1):
        module.train()
        loss_sum = torch.zeros(k, device=device)
        hits = torch.zeros(k, device=device, dtype=torch.long)
        seen = 0
        for idxs in zip(*(batch_indices(len(x), cfg.batch_size, g) for g in gens)):
            idxs = [i.to(device, non_blocking=True) for i in idxs]
            yb = replicas.targets(y, idxs)
            with autocast(device, cfg.amp):
                out = full_precision(forward(replicas.inputs(x, idxs)), cfg.amp)
                total, losses = replicas.losses(loss_fn, out, yb)
            opt.zero_grad(set_to_none=True)
            total.backward()
            if cfg.grad_clip > 0:
                nn.utils.clip_grad_norm_(module.parameters(), cfg.grad_clip, foreach=True)
            opt.step()
            sched.step()
            loss_sum += losses.detach() * len(idxs[0])
            hits += replicas.hits(task, out.detach(), yb)
            seen += len(idxs[0])
        lr_now = opt.param_groups[0]["lr"]
        train_loss = [v / seen for v in loss_sum.tolist()]
        train_acc = [100.0 * c / seen for c in hits.tolist()]
        live = [j for j in range(k) if diverged[j] is None]
        for j in live:
            if not math.isfinite(train_loss[j]):
                nan = math.nan
                records[j].append(epoch_record(epoch, train_loss[j], nan, nan, nan, lr_now, start))
                diverged[j] = epoch
        live = [j for j in live if diverged[j] is None]
        if not live:
            break
        test_loss, test_acc = evaluate_replicas(
            forward, replicas, data.x_test, data.y_test, task, cfg.amp
        )
        for j in live:
            rec = epoch_record(
                epoch, train_loss[j], train_acc[j], test_loss[j], test_acc[j], lr_now, start
            )
            records[j].append(rec)
        if probe is not None:
            probe(epoch, module)
        if on_epoch is not None:
            for j in live:
                on_epoch(j, records[j][-1])
    return [TrainResult(tuple(r), d) for r, d in zip(records, diverged)]


def epoch_record(epoch, train_loss, train_acc, test_loss, test_acc, lr, start) -> EpochRecord:
    return EpochRecord(
        epoch=epoch,
        train_loss=train_loss,
        train_acc=train_acc,
        test_loss=test_loss,
        test_acc=test_acc,
        lr=lr,
        wall_time=time.perf_counter() - start,
    )
