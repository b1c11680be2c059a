"""One run, start to finish, wherever an executor places it: seed, build, train, report.

Everything here is picklable and importable at module level, so process pools (and, later,
cluster executors) can call ``execute`` in another process. Nothing here touches the store.
"""

from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import torch

from layerorder.experiment.configuration.config import RunConfig
from layerorder.experiment.configuration.settings import is_user_run
from layerorder.experiment.training.loop import evaluate, train
from layerorder.experiment.training.run_data import load_run_data, on_device
from layerorder.experiment.training.scope import run_scope
from layerorder.experiment.training.task import task_for
from layerorder.probe.records import Fit, Recalibration
from layerorder.probe.stored import to_data
from layerorder.probe.training import FIT_SAMPLE, probe_batch
from layerorder.probe.variance import BN_TYPES, recalibrate_bn
from layerorder.seeding import seed_run
from layerorder.stats.metric import ACCURACY
from layerorder.store import EpochRecord
from layerorder.version import __version__


@dataclass(frozen=True)
class RunTask:
    """A claimed run, as sent to an executor."""

    run_id: int
    label: str
    config: dict
    device: str = "cpu"
    threads: int | None = None
    compile: bool = False
    metric: str = ACCURACY  # the metric compared (a user's own run must report it)
    timeout: float | None = None  # seconds a user's own run may take (--run-timeout)
    cwd: str | None = None  # where a user's command runs (the driver's folder)

    @property
    def run_config(self) -> RunConfig:
        return RunConfig.from_dict(self.config)


@dataclass(frozen=True)
class RunOutcome:
    """What came back: the driver writes it to the store."""

    run_id: int
    status: str  # done, diverged or failed
    epochs: tuple[EpochRecord, ...] = ()
    diverged_epoch: int | None = None
    error: str | None = None
    wall_time: float = 0.0
    provenance: dict = field(default_factory=dict)
    probes: tuple = ()  # (epoch, kind, name, data) records when the run was probed
    metrics: dict | None = None  # the final metrics a user's own run reported


@dataclass(frozen=True)
class Progress:
    """An epoch finished inside a run (sent to the driver's progress display)."""

    run_id: int
    epoch: int
    epochs: int | None  # None: a user's own run, whose length is its own
    value: float | None  # the compared metric's value after this epoch
    metric: str = ACCURACY
    seconds: float | None = None  # the training loop's clock at this epoch (built-in runs)


@functools.lru_cache(maxsize=1)
def _git_hash() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def provenance(device: str, compiled: bool = False) -> dict:
    """Versions, device and host: stored with every run (and whether it ran compiled)."""
    # the run's own GPU (cuda:1 in a pool worker of a multi-GPU machine; plain cuda: the current)
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else platform.processor()
    extra = {"compile": True} if compiled else {}
    return {
        **extra,
        "layerorder": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": device,
        "device_name": name or platform.machine(),
        "threads": torch.get_num_threads(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "git": _git_hash(),
    }


def _test_acc(model, data, cfg: RunConfig, task, given: float | None) -> float:
    """The trained model's eval-mode test accuracy: ``given`` where the caller has it."""
    return evaluate(model, data.x_test, data.y_test, cfg.amp, task)[1] if given is None else given


def fit_records(model, data, cfg: RunConfig, test_acc: float | None = None
                ) -> list[tuple[int, str, str, dict]]:
    """The probe record of a trained model's eval-mode accuracy on a fixed sample of its
    training set and on its test set (``probe.records.Fit``). ``test_acc``: that test accuracy
    where the caller has it (the last epoch's evaluation of this very model), not measured
    again."""
    task = task_for(cfg)
    x, y = probe_batch(data.x_train, data.y_train, FIT_SAMPLE)
    train_acc = evaluate(model, x, y, cfg.amp, task)[1]
    test_acc = _test_acc(model, data, cfg, task, test_acc)
    record = Fit("model", len(x), train_acc, test_acc, train_acc - test_acc)
    return [(cfg.epochs, "fit", record.name, to_data(record, 0))]


def recalibration_records(model, data, cfg: RunConfig, test_acc: float | None = None
                          ) -> list[tuple[int, str, str, dict]]:
    """The probe record of a trained model's accuracy before and after BN recalibration
    (none without BatchNorm); ``test_acc`` as in ``fit_records``. Changes the model's BN
    statistics: call it last."""
    if not any(isinstance(m, BN_TYPES) for m in model.modules()):
        return []
    task = task_for(cfg)
    before = _test_acc(model, data, cfg, task, test_acc)
    layers = recalibrate_bn(model, data.x_train)
    after = evaluate(model, data.x_test, data.y_test, cfg.amp, task)[1]
    record = Recalibration("model", layers, before, after)
    return [(cfg.epochs, "recal", record.name, to_data(record, 0))]


def final_probe_records(model, data, cfg: RunConfig, result, compiled: bool = False
                        ) -> list[tuple[int, str, str, dict]]:
    """What a probed run adds when it has trained (``result``, a ``TrainResult`` that is done):
    its fit, then its accuracy after BN recalibration (which changes BN's statistics), both
    with the last epoch's test accuracy, the same model's eval-mode evaluation on the same path;
    a ``compiled`` run evaluated through its compiled graph, so there both evaluate again."""
    last = None if compiled else result.epochs[-1].test_acc
    return [*fit_records(model, data, cfg, last), *recalibration_records(model, data, cfg, last)]


def execute(task: RunTask, progress=None, data=None) -> RunOutcome:
    """Train one run; any exception becomes a ``failed`` outcome with its message.

    ``data`` is the run's data set when the caller already has it (a cluster object store).
    The caller's random state and thread count are left as they were (``run_scope``).
    """
    with run_scope(task.threads, task.device):
        return _execute(task, progress, data)


def _execute(task: RunTask, progress, data) -> RunOutcome:
    from layerorder.experiment.training.target import build_run_model
    from layerorder.probe import EpochProbe

    start = time.perf_counter()
    cfg = task.run_config
    if is_user_run(cfg):
        return _execute_user_run(task, cfg, progress, start)
    try:
        data = load_run_data(cfg, task.device) if data is None else on_device(data, task.device)
        seed_run(cfg.seed, task.device)  # initialisation
        model = build_run_model(cfg, data).to(task.device)

        def on_epoch(rec: EpochRecord) -> None:
            if progress is not None:
                progress(Progress(task.run_id, rec.epoch, cfg.epochs, rec.test_acc,
                                  seconds=rec.wall_time))

        prober = (EpochProbe(data.x_train, data.y_train, every=cfg.probe_every,
                             epochs=cfg.epochs) if cfg.probe else None)
        result = train(
            model, data, cfg, on_epoch=on_epoch, probe=prober, compile_model=task.compile
        )
        if prober is not None and result.status == "done":
            prober.records.extend(final_probe_records(model, data, cfg, result, task.compile))
    except Exception as exc:  # a failing run is recorded, the sweep goes on
        return RunOutcome(
            run_id=task.run_id,
            status="failed",
            error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}",
            wall_time=time.perf_counter() - start,
            provenance=provenance(task.device),
        )
    return RunOutcome(
        run_id=task.run_id,
        status=result.status,
        epochs=result.epochs,
        diverged_epoch=result.diverged_epoch,
        wall_time=time.perf_counter() - start,
        provenance=provenance(task.device, task.compile),
        probes=tuple(prober.records) if prober is not None else (),
    )


def _execute_user_run(task: RunTask, cfg: RunConfig, progress, start: float) -> RunOutcome:
    """A run that is the user's own training function or command."""
    from layerorder.experiment.training.user_runs import run_command, run_function

    def on_epoch(epoch: int, value: float | None) -> None:
        if progress is not None:
            progress(Progress(task.run_id, epoch, None, value, task.metric))

    try:
        if cfg.command is not None:
            result = run_command(cfg, task.device, task.metric, task.timeout, on_epoch,
                                 cwd=task.cwd, threads=task.threads)
        else:
            result = run_function(cfg, task.device, task.metric, on_epoch)
    except Exception as exc:  # e.g. a train target that cannot be loaded in this worker
        result = None
        error = f"{type(exc).__name__}: {exc}"
    wall = time.perf_counter() - start
    if result is None:
        return RunOutcome(task.run_id, "failed", error=error, wall_time=wall,
                          provenance=provenance(task.device))
    return RunOutcome(
        run_id=task.run_id,
        status=result.status,
        epochs=result.epochs,
        diverged_epoch=result.diverged_epoch,
        error=result.error,
        wall_time=wall,
        provenance=provenance(task.device),
        metrics=result.metrics,
    )
