"""Executors decide *where* runs happen; the driver alone writes the store.

The interface is one method: ``execute(tasks, progress)`` pulls ``RunTask`` objects from an
iterator (lazily: the driver claims a run from the store only when an executor has room for it)
and yields a ``RunOutcome`` for each, in whatever order they finish. A stacked executor can pull
several tasks and train them as one model; a cluster executor can keep many in flight.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from multiprocessing.managers import SyncManager

import torch

from layerorder.experiment.lifeline import die_with_parent
from layerorder.experiment.shipping import install
from layerorder.experiment.worker import Progress, RunOutcome, RunTask, execute

ProgressFn = Callable[[Progress], None]


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Plan:
    """How a sweep uses the machine: ``workers`` processes x ``threads`` threads each."""

    executor: str
    workers: int
    threads: int

    def describe(self) -> str:
        threads = f"{self.threads} thread{'s' * (self.threads > 1)}"
        if self.executor in ("sequential", "stacked"):
            return f"{self.executor}, {threads}"
        if self.executor == "ray":
            return "Ray cluster, one task per run"
        return f"process pool, {self.workers} workers x {threads}"


def plan(executor: str, workers: int | None, n_runs: int, device: str) -> Plan:
    """Choose workers x threads <= cores. Tiny models use one core per run best (one cnn1d step:
    3.2 ms on 1 thread, 2.6 ms on 2), so ``auto`` runs one single-thread worker per core."""
    cores = available_cores()
    if executor == "auto":
        use_pool = device == "cpu" and cores > 1 and n_runs > 1 and workers != 1
        executor = "process" if use_pool else "sequential"
    if executor in ("sequential", "stacked"):
        return Plan(executor, 1, cores if device == "cpu" else 1)
    if executor == "ray":
        return Plan("ray", 0, 1)
    n = max(1, min(workers or cores, max(n_runs, 1)))
    return Plan("process", n, max(1, cores // n))


class Executor(ABC):
    name = "executor"

    @abstractmethod
    def execute(
        self, tasks: Iterator[RunTask], progress: ProgressFn | None
    ) -> Iterator[RunOutcome]:
        """Yield one outcome per task pulled from ``tasks``."""


class SequentialExecutor(Executor):
    """Runs in the driver's process, one after another."""

    name = "sequential"

    def __init__(self, threads: int | None = None):
        self.threads = threads

    def execute(self, tasks, progress=None):
        for task in tasks:
            yield execute(replace(task, threads=self.threads), progress)


_QUEUE = None


_INSTALL_ERROR: str | None = None


def _init_worker(q, shipped: bytes | None = None, driver: int | None = None) -> None:
    """A pool worker's start: die with the driver, the progress queue, then what the driver
    shipped. An install that fails is reported by every run of this worker (a failing
    initializer would break the pool and hide the cause)."""
    global _QUEUE, _INSTALL_ERROR
    if driver is not None:
        die_with_parent(driver)
    _QUEUE = q
    try:
        install(shipped)
    except Exception as exc:  # the user's pickled objects cannot be rebuilt here
        _INSTALL_ERROR = f"cannot load the shipped data set or model: {type(exc).__name__}: {exc}"


def _pool_execute(task: RunTask) -> RunOutcome:
    if _INSTALL_ERROR is not None:
        return RunOutcome(task.run_id, "failed", error=_INSTALL_ERROR)

    def send(p: Progress) -> None:
        if _QUEUE is not None:
            try:
                _QUEUE.put(p)
            except (OSError, EOFError, BrokenPipeError):
                return  # progress is best-effort; the run's result still comes back

    return execute(task, send)


class ProcessExecutor(Executor):
    """A local process pool (spawned workers, so CUDA and threads start clean).

    When a worker process dies (killed, out of memory), the pool is rebuilt and the runs that were
    in flight are tried again, each at most ``max_tries`` times in all; then it is stored as failed.
    """

    name = "process"
    max_tries = 3

    def __init__(self, workers: int, threads: int = 1, shipped: bytes | None = None):
        self.workers, self.threads, self.shipped = workers, threads, shipped

    def _pool(self, ctx, q) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(q, self.shipped, os.getpid()),
        )

    def execute(self, tasks, progress=None):
        ctx = multiprocessing.get_context("spawn")
        manager = SyncManager(ctx=ctx)
        manager.start(die_with_parent, (os.getpid(),))
        q = manager.Queue()
        self.pool = self._pool(ctx, q)
        running: dict[Future, RunTask] = {}
        try:
            yield from self._loop(ctx, tasks, q, running, progress)
        finally:
            for fut in running:
                fut.cancel()
            self.pool.shutdown(wait=True, cancel_futures=True)
            manager.shutdown()

    def _loop(self, ctx, tasks, q, running, progress):
        exhausted, retry, tries = False, [], {}
        while True:
            while len(running) < self.workers and (retry or not exhausted):
                task = retry.pop(0) if retry else next(tasks, None)
                if task is None:
                    exhausted = True
                    break
                tries[task.run_id] = tries.get(task.run_id, 0) + 1
                fut = self.pool.submit(_pool_execute, replace(task, threads=self.threads))
                running[fut] = task
            if not running:
                return
            done, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(q, progress)
            broken = False
            for fut in done:
                if not fut.cancelled() and isinstance(fut.exception(), BrokenProcessPool):
                    broken = True
                else:
                    yield _result(fut, running.pop(fut))
            if broken:
                yield from self._recover(ctx, q, running, retry, tries)

    def _recover(self, ctx, q, running, retry, tries):
        """A worker died: every run in flight is lost with the pool; try them again."""
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self._pool(ctx, q)
        for task in running.values():
            if tries[task.run_id] >= self.max_tries:
                error = f"worker process died {tries[task.run_id]} times running this run"
                yield RunOutcome(task.run_id, "failed", error=error)
            else:
                retry.append(task)
        running.clear()


def _drain(q, progress: ProgressFn | None) -> None:
    while True:
        try:
            item = q.get_nowait()
        except (queue.Empty, EOFError, OSError):
            return
        if progress is not None:
            progress(item)


def _result(fut: Future, task: RunTask) -> RunOutcome:
    try:
        return fut.result()
    except BrokenProcessPool as exc:
        return RunOutcome(task.run_id, "failed", error=f"worker process died: {exc}")
    except Exception as exc:  # an error outside the run itself, e.g. pickling
        return RunOutcome(task.run_id, "failed", error=f"{type(exc).__name__}: {exc}")


def _stack_key(task: RunTask) -> str:
    cfg = {k: v for k, v in task.config.items() if k != "seed"}
    return json.dumps(cfg, sort_keys=True)


class StackedExecutor(Executor):
    """Trains the seeds of one configuration as one wide model (see ``experiment.stacking``).

    Takes every task it is offered, groups them by everything but the seed, and trains each group
    (up to ``max_stack`` runs) at once. A group that cannot be stacked is trained run by run,
    with a one-line reason sent to ``on_note``.
    """

    name = "stacked"

    def __init__(self, threads: int | None = None, max_stack: int = 32, on_note=None):
        self.threads, self.max_stack, self.on_note = threads, max_stack, on_note

    def execute(self, tasks, progress=None):
        from layerorder.experiment.stacked import execute_stacked
        from layerorder.experiment.stacking import StackingError

        groups: dict[str, list[RunTask]] = {}
        for task in tasks:
            groups.setdefault(_stack_key(task), []).append(replace(task, threads=self.threads))
        for group in groups.values():
            for i in range(0, len(group), self.max_stack):
                chunk = group[i : i + self.max_stack]
                try:
                    outcomes = execute_stacked(chunk, progress)
                except StackingError as exc:
                    reason = str(exc)
                except (torch.cuda.OutOfMemoryError, MemoryError) as exc:  # K models at once
                    reason = f"{type(exc).__name__}: {exc}"
                else:
                    yield from outcomes
                    continue
                if self.on_note is not None:
                    self.on_note(f"{chunk[0].label}: not stacked ({reason}); trained run by run")
                for task in chunk:
                    yield execute(task, progress)


def make_executor(p: Plan, on_note=None, shipped: bytes | None = None) -> Executor:
    """The executor of a plan; ``shipped`` is what process workers must install first
    (``layerorder.experiment.shipping.snapshot``)."""
    if p.executor == "sequential":
        return SequentialExecutor(p.threads)
    if p.executor == "stacked":
        return StackedExecutor(p.threads, on_note=on_note)
    return ProcessExecutor(p.workers, p.threads, shipped)
