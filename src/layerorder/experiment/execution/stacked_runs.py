"""Runs that differ only in their seed trained as one stacked model (the ``stacked`` executor,
and each worker of ``stacked-pool``): K tasks in, K outcomes out, as if each had been trained
alone (``training.stacked``)."""

from __future__ import annotations

import time

import torch

from layerorder.experiment.execution.worker import (
    Progress,
    RunOutcome,
    execute,
    provenance,
)
from layerorder.experiment.training.run_data import load_run_data
from layerorder.experiment.training.scope import run_scope
from layerorder.experiment.training.stacked import train_stacked
from layerorder.experiment.training.stacking import StackingError, per_replica
from layerorder.experiment.training.target import build_run_model
from layerorder.seeding import seed_run


def train_stack(tasks, progress=None, mode: str = "auto", on_note=None,
                executor: str = "stacked"):
    """Train ``tasks`` (same config but the seed) as one stacked model, or run by run where the
    model cannot be stacked or the stack does not fit in memory (with a one-line reason sent to
    ``on_note``); yields one outcome per task. Any other error is a bug and is raised.
    ``executor``: the name stored in each stacked run's provenance."""
    try:
        outcomes = execute_stacked(tasks, progress, mode, executor)
    except StackingError as exc:
        reason = str(exc)
    except (torch.cuda.OutOfMemoryError, MemoryError) as exc:  # K models at once
        reason = f"{type(exc).__name__}: {exc}"
    else:
        yield from outcomes
        return
    if on_note is not None:
        on_note(f"{tasks[0].label}: not stacked ({reason}); trained run by run")
    for task in tasks:
        yield execute(task, progress)


def execute_stacked(tasks, progress=None, mode: str = "auto", executor: str = "stacked") -> list:
    """Train ``tasks`` (same config but the seed) as one stacked model; one outcome each.
    ``mode``: ``stack_mode`` (auto, exact or batched), stored with each run's provenance.

    Raises ``StackingError`` when the model cannot be stacked (the caller falls back). The
    caller's random state and thread count are left as they were (``training.scope.run_scope``).
    """
    with run_scope(tasks[0].threads, tasks[0].device):
        return _execute_stacked(tasks, progress, mode, executor)


def _execute_stacked(tasks, progress, mode: str, executor: str) -> list:
    cfgs = [t.run_config for t in tasks]
    if cfgs[0].probe:
        raise StackingError("probes hook every stage of one run; stacked runs are trained apart")
    if cfgs[0].model:
        raise StackingError("a user's model may reshape by fixed sizes; it is trained run by run")
    if cfgs[0].grad_clip > 0:
        raise StackingError("gradient clipping takes each run's own norm; trained run by run")
    device = tasks[0].device
    start = time.perf_counter()
    data = load_run_data(cfgs[0], device)
    models = []
    for c in cfgs:
        seed_run(c.seed, device)  # initialisation, as in a run trained alone
        models.append(build_run_model(c, data).to(device))

    def on_epoch(j, rec):
        if progress is not None:
            progress(Progress(tasks[j].run_id, rec.epoch, cfgs[j].epochs, rec.test_acc))

    results = train_stacked(models, data, cfgs, on_epoch=on_epoch, compile_model=tasks[0].compile,
                            mode=mode)
    wall = (time.perf_counter() - start) / len(tasks)
    prov = {
        **provenance(device, tasks[0].compile),
        "executor": executor,
        "stacked_with": len(tasks),
        "stack_mode": "exact" if per_replica(mode, device) else "batched",
    }
    return [
        RunOutcome(t.run_id, r.status, r.epochs, r.diverged_epoch, None, wall, prov)
        for t, r in zip(tasks, results)
    ]
