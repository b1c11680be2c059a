"""Training K runs that differ only in their seed as one stacked model.

Each replica keeps everything a run trained alone has: its initialisation (built under its own
seed), its data order (its own generator), its dropout masks (its own random stream), its own
loss and optimizer state (Adam and SGD are element-wise). The results are unstacked into ordinary
per-run records, so the store cannot tell the two executors apart.
"""

from __future__ import annotations

import math
import time

import torch
from torch import nn

from layerorder.blocks.dropout import seed_dropout
from layerorder.experiment.config import RunConfig
from layerorder.experiment.loop import (
    TrainResult,
    _epoch,
    _full,
    autocast,
    batch_indices,
    make_optimizer,
    make_schedule,
    prepare,
    steps_per_epoch,
)
from layerorder.experiment.stacking import rng_state, stack_models, unstack_into

EVAL_BATCH = 1000


def _shape(models, x: torch.Tensor) -> torch.Tensor:
    return models[0].reshape(x)


@torch.no_grad()
def _evaluate(
    wide, models, x, y, k: int, classes: int, amp: bool = False
) -> tuple[list[float], list[float]]:
    wide.eval()
    loss = torch.zeros(k, device=x.device)
    correct = torch.zeros(k, device=x.device, dtype=torch.long)
    for i in range(0, len(x), EVAL_BATCH):
        xb = _shape(models, x[i : i + EVAL_BATCH])
        yb = y[i : i + EVAL_BATCH]
        with autocast(x.device, amp):
            out = _full(wide(xb.repeat(1, k, *([1] * (xb.dim() - 2)))), amp)
        out = out.view(len(xb), k, classes)
        for j in range(k):
            loss[j] += nn.functional.cross_entropy(out[:, j], yb, reduction="sum")
        correct += (out.argmax(2) == yb.unsqueeze(1)).sum(0)
    return [v / len(x) for v in loss.tolist()], [100.0 * c / len(x) for c in correct.tolist()]


def train_stacked(
    models: list[nn.Module], data, cfgs: list[RunConfig], on_epoch=None, compile_model=False
) -> list[TrainResult]:
    """Train ``models`` (built under their own seeds) on ``data`` as one model; one result each.

    ``--amp`` and ``--compile`` apply to the wide model as they do to a single run's."""
    k, cfg = len(models), cfgs[0]
    device = next(models[0].parameters()).device
    x, y = data.x_train, data.y_train
    gens = [torch.Generator().manual_seed(c.seed) for c in cfgs]
    streams = []
    for c in cfgs:  # each run's dropout stream starts where training alone would start it
        torch.manual_seed(c.seed)  # seeds the CPU and every CUDA generator
        streams.append(rng_state(device))
    for model, c in zip(models, cfgs):
        seed_dropout(model, c.seed)  # element dropout on the CPU: the run's own mask stream
    wide = stack_models(models, streams).to(next(models[0].parameters()))  # device and dtype
    forward = prepare(wide, device, compile_model)
    opt = make_optimizer(wide.parameters(), cfg, cfg.lr)
    sched = make_schedule(opt, cfg, cfg.epochs * steps_per_epoch(len(x), cfg.batch_size))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    classes = data.num_classes
    records: list[list] = [[] for _ in range(k)]
    diverged: list[int | None] = [None] * k
    start = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        wide.train()
        loss_sum = torch.zeros(k, device=device)
        correct = torch.zeros(k, device=device, dtype=torch.long)
        seen = 0
        for idxs in zip(*(batch_indices(len(x), cfg.batch_size, g) for g in gens)):
            idxs = [i.to(device, non_blocking=True) for i in idxs]
            xb = torch.cat([_shape(models, x[i]) for i in idxs], dim=1)
            yb = torch.stack([y[i] for i in idxs], dim=1)  # (B, K)
            with autocast(device, cfg.amp):
                out = _full(forward(xb), cfg.amp).view(len(idxs[0]), k, classes)
                losses = torch.stack([loss_fn(out[:, j], yb[:, j]) for j in range(k)])
            opt.zero_grad(set_to_none=True)
            losses.sum().backward()
            opt.step()
            sched.step()
            loss_sum += losses.detach() * len(idxs[0])
            correct += (out.detach().argmax(2) == yb).sum(0)
            seen += len(idxs[0])
        lr_now = opt.param_groups[0]["lr"]
        train_loss = [v / seen for v in loss_sum.tolist()]
        train_acc = [100.0 * c / seen for c in correct.tolist()]
        test_loss, test_acc = _evaluate(
            forward, models, data.x_test, data.y_test, k, classes, cfg.amp
        )
        for j in range(k):
            if diverged[j] is not None:
                continue
            if not math.isfinite(train_loss[j]):
                records[j].append(
                    _epoch(epoch, train_loss[j], math.nan, math.nan, math.nan, lr_now, start)
                )
                diverged[j] = epoch
            else:
                records[j].append(
                    _epoch(
                        epoch, train_loss[j], train_acc[j], test_loss[j], test_acc[j], lr_now, start
                    )
                )
                if on_epoch is not None:
                    on_epoch(j, records[j][-1])
        if all(d is not None for d in diverged):
            break
    unstack_into(wide, models)
    return [TrainResult(tuple(r), d) for r, d in zip(records, diverged)]


def execute_stacked(tasks, progress=None) -> list:
    """Train ``tasks`` (same config but the seed) as one stacked model; one outcome each.

    Raises ``StackingError`` when the model cannot be stacked (the caller falls back).
    """
    from layerorder.experiment.stacking import StackingError
    from layerorder.experiment.target import build_run_model
    from layerorder.experiment.worker import Progress, RunOutcome, load_run_data, provenance

    cfgs = [t.run_config for t in tasks]
    if cfgs[0].probe:
        raise StackingError("probes hook every stage of one run; stacked runs are trained apart")
    if cfgs[0].model:
        raise StackingError("a user's model may reshape by fixed sizes; it is trained run by run")
    device = tasks[0].device
    if tasks[0].threads:
        torch.set_num_threads(tasks[0].threads)
    start = time.perf_counter()
    data = load_run_data(cfgs[0], device)
    models = []
    for c in cfgs:
        torch.manual_seed(c.seed)  # initialisation, as in a run trained alone
        models.append(build_run_model(c, data).to(device))

    def on_epoch(j, rec):
        if progress is not None:
            progress(Progress(tasks[j].run_id, rec.epoch, cfgs[j].epochs, rec.test_acc))

    results = train_stacked(models, data, cfgs, on_epoch=on_epoch, compile_model=tasks[0].compile)
    wall = (time.perf_counter() - start) / len(tasks)
    prov = {
        **provenance(device, tasks[0].compile),
        "executor": "stacked",
        "stacked_with": len(tasks),
    }
    return [
        RunOutcome(t.run_id, r.status, r.epochs, r.diverged_epoch, None, wall, prov)
        for t, r in zip(tasks, results)
    ]
