"""Executors decide *where* runs happen; the driver alone writes the store.

The interface is one method: ``execute(tasks, progress)`` pulls ``RunTask`` objects from an
iterator (lazily: the driver claims a run from the store only when an executor has room for it)
and yields a ``RunOutcome`` for each, in whatever order they finish. A stacked executor can pull
several tasks and train them as one model; a cluster executor can keep many in flight.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from multiprocessing import connection

import torch

from layerorder.experiment.execution.lifeline import die_with_parent
from layerorder.experiment.execution.shipping import install
from layerorder.experiment.execution.worker import Progress, RunOutcome, RunTask, execute

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


def _worker_main(conn, shipped: bytes | None, driver: int, threads: int | None) -> None:
    """A pool worker: die with the driver, install what it shipped, then train the runs it
    is sent one at a time, sending progress and the outcome back over its pipe. An install
    that fails is reported by every run this worker is given."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group:
    die_with_parent(driver)  # the driver alone decides when its workers stop
    try:
        install(shipped)
        install_error = None
    except Exception as exc:  # the user's pickled objects cannot be rebuilt here
        install_error = f"cannot load the shipped data set or model: {type(exc).__name__}: {exc}"

    def send(p: Progress) -> None:
        conn.send(("progress", p))

    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the driver is gone
            return
        if task is None:
            return
        if install_error is not None:
            outcome = RunOutcome(task.run_id, "failed", error=install_error)
        else:
            outcome = execute(replace(task, threads=threads), send)
        conn.send(("done", outcome))


@contextlib.contextmanager
def _sigint_ignored():
    """SIGINT ignored while a worker process is started (from the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Worker:
    """One worker process and its pipe; ``task`` is the run it holds, or None when idle."""

    def __init__(self, ctx, shipped: bytes | None, threads: int | None) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(
            target=_worker_main,
            args=(child, shipped, os.getpid(), threads),
            name="layerorder-worker",
            daemon=True,
        )
        with _sigint_ignored():  # inherited through exec: a Ctrl-C while the worker imports
            self.process.start()  # torch must not print its traceback
        child.close()
        self.task: RunTask | None = None

    def give(self, task: RunTask) -> bool:
        """Send ``task``; False (and nothing held) when the worker has died meanwhile."""
        try:
            self.conn.send(task)
        except OSError:  # BrokenPipeError: it died while idle
            return False
        self.task = task
        return True

    def messages(self) -> Iterator[tuple[str, object]]:
        """What the worker has sent so far (none once its pipe is closed)."""
        try:
            while self.conn.poll():
                yield self.conn.recv()
        except (EOFError, OSError):
            return

    def death(self) -> str | None:
        """Why the process ended (``killed by SIGKILL``, ``exit code 1``), or None if alive."""
        if self.process.is_alive():
            return None
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def stop(self, *, now: bool) -> None:
        """End the process: ask it to finish (idle workers), or kill it (``now``)."""
        if not now:
            with contextlib.suppress(OSError):
                self.conn.send(None)
            self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=10)
        self.conn.close()


class ProcessExecutor(Executor):
    """A local pool of spawned worker processes (so CUDA and threads start clean), one run each.

    Hand-written rather than ``concurrent.futures.ProcessPoolExecutor``: that pool is declared
    broken when any one worker dies, failing every run in flight, and cannot say which run the dead
    worker held. Here each worker has its own pipe and holds one run, so when a worker dies (killed,
    out of memory) only its run is tried again, on a fresh worker, at most ``max_tries`` times in
    all before it is stored as failed; the other workers keep training.
    """

    name = "process"
    max_tries = 3

    def __init__(self, workers: int, threads: int = 1, shipped: bytes | None = None):
        self.workers, self.threads, self.shipped = workers, threads, shipped
        self._pool: list[_Worker] = []

    def worker_pid(self, run_id: int) -> int | None:
        """The process id of the worker training ``run_id`` now (None when none is)."""
        for worker in self._pool:
            if worker.task is not None and worker.task.run_id == run_id:
                return worker.process.pid
        return None

    def execute(self, tasks, progress=None):
        ctx = multiprocessing.get_context("spawn")
        interrupted = True
        try:
            for _ in range(self.workers):
                self._pool.append(_Worker(ctx, self.shipped, self.threads))
            yield from self._loop(ctx, tasks, progress)
            interrupted = False
        finally:
            for worker in self._pool:
                worker.stop(now=interrupted or worker.task is not None)
            self._pool = []

    def _loop(self, ctx, tasks, progress):
        retry: deque[RunTask] = deque()
        tries: dict[int, int] = {}
        exhausted, idle_deaths = False, 0
        while True:
            for i, worker in enumerate(self._pool):
                if worker.task is None and (retry or not exhausted):
                    task = retry.popleft() if retry else next(tasks, None)
                    if task is None:
                        exhausted = True
                        continue
                    if worker.death() is not None or not worker.give(on_gpu(task, i)):
                        # died while idle (after its last run, or while starting): no run is
                        # charged, and a fresh worker takes the task, unless workers keep dying
                        # before they can start one (a crash at import)
                        idle_deaths += 1
                        worker.stop(now=True)
                        self._pool[i] = _Worker(ctx, self.shipped, self.threads)
                        if idle_deaths > self.max_tries * self.workers:
                            error = f"worker processes died {idle_deaths} times before a run began"
                            yield RunOutcome(task.run_id, "failed", error=error)
                        else:
                            retry.appendleft(task)
                        continue
                    tries[task.run_id] = tries.get(task.run_id, 0) + 1
            busy = [w for w in self._pool if w.task is not None]
            if not busy:
                return
            connection.wait([w.conn for w in busy] + [w.process.sentinel for w in busy], 1.0)
            for i, worker in enumerate(self._pool):
                for kind, payload in worker.messages():
                    if kind == "progress" and progress is not None:
                        progress(payload)
                    elif kind == "done":
                        worker.task = None
                        yield payload
                task, death = worker.task, worker.death()
                if task is None or death is None:
                    continue
                worker.stop(now=True)  # a worker died holding a run: only that run is charged
                self._pool[i] = _Worker(ctx, self.shipped, self.threads)
                if tries[task.run_id] >= self.max_tries:
                    error = f"worker process died ({death}) {tries[task.run_id]} times running it"
                    yield RunOutcome(task.run_id, "failed", error=error)
                else:
                    retry.append(task)


def on_gpu(task: RunTask, slot: int, count: int | None = None) -> RunTask:
    """On a machine with several GPUs, the run of pool worker ``slot`` on a GPU of its own
    (``cuda:N``; a user's command sees it as its only one, through ``CUDA_VISIBLE_DEVICES``)."""
    count = torch.cuda.device_count() if count is None else count
    if task.device != "cuda" or count < 2:
        return task
    return replace(task, device=f"cuda:{slot % count}")


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
        from layerorder.experiment.execution.stacked_runs import execute_stacked
        from layerorder.experiment.training.stacking import StackingError

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
    (``layerorder.experiment.execution.shipping.snapshot``)."""
    if p.executor == "sequential":
        return SequentialExecutor(p.threads)
    if p.executor == "stacked":
        return StackedExecutor(p.threads, on_note=on_note)
    return ProcessExecutor(p.workers, p.threads, shipped)
