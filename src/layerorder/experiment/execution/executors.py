"""Executors decide *where* runs happen; the driver alone writes the store.

The interface is one method: ``execute(tasks, progress)`` pulls ``RunTask`` objects from an
iterator (lazily: the driver claims a run from the store only when an executor has room for it)
and yields a ``RunOutcome`` for each, in whatever order they finish. A stacked executor can pull
several tasks and train them as one model; a cluster executor can keep many in flight.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import multiprocessing
import os
import signal
import statistics
import sys
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from multiprocessing import connection

import torch

from layerorder.experiment.execution.pool_worker import Stack, worker_main
from layerorder.experiment.execution.worker import Progress, RunOutcome, RunTask, execute
from layerorder.experiment.training.run_data import cached_dataset
from layerorder.experiment.training.threads import capped

ProgressFn = Callable[[Progress], None]


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# What a pool costs against training in this process: measured when each worker was a spawned
# interpreter that imported torch and layerorder and paid torch's first-optimizer set-up again. On
# this 2-core machine, quiet, a pool of two took 2.4-2.7 s longer than one process for two runs
# that train in no time, and broke even on a grid of 25 runs of 0.4 s (saving 25 x 0.4 / 2 = 5 s):
# about 5 s in all (``benchmarks/bench_auto.py`` measures both next to the grids it decides).
# Workers forked from the fork server (``pool_context``) cost less (+1.0 to +2.0 s on the two-run
# grid), but the 500-sample grid stayed at the break-even when weighed again (pool - sequential
# +0.1 s and -1.7 s; benchmarks/RESULTS.md), so it keeps 5 s. ``auto`` starts a pool only where it
# saves more than this.
POOL_START_SECONDS = 5.0
SLURM_ARRAY_MOST = 16  # array tasks submitted for a round unless --workers says otherwise


@dataclass(frozen=True)
class Plan:
    """How a sweep uses the machine: ``workers`` processes x ``threads`` threads each.
    ``auto``: runs train in this process (``workers x threads`` threads, at most what the
    environment allows: ``training.threads.capped``) until they measure long enough that a pool
    of ``workers`` would finish the rest sooner (``pool_pays``)."""

    executor: str
    workers: int
    threads: int

    def describe(self) -> str:
        return WAYS[self.executor].describe(self)


def plan(executor: str, workers: int | None, n_runs: int, device: str) -> Plan:
    """Choose workers x threads <= cores. Tiny models use one core per run best (one cnn1d step:
    3.2 ms on 1 thread, 2.6 ms on 2), so a pool runs one single-thread worker per core; ``auto``
    plans one where a pool could help (several runs, and a CPU with several cores or several
    GPUs, a worker each) and measures before it starts it (``AdaptiveExecutor``). A process's
    threads are at most what the environment allows (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``:
    ``training.threads.capped``, which every run applies again in its own process); the number
    of workers is not capped by it."""
    p = WAYS[executor].plan(executor, workers, max(n_runs, 1), device, available_cores())
    return replace(p, threads=capped(p.threads))


def run_seconds(outcome: RunOutcome) -> float:
    """What one more run like this one would take: the training loop's own time (its last
    epoch's clock, which leaves out the one-off costs of the first run in a process), or the
    whole wall time of a user's run (a script starts its own interpreter every time); 0 for a
    run that failed before its first epoch, which says nothing of how long runs take."""
    if outcome.metrics is not None:  # a user's run
        return outcome.wall_time
    if not outcome.epochs or outcome.epochs[-1].wall_time is None:
        return 0.0  # failed before its first epoch: it says nothing of how long runs take
    return outcome.epochs[-1].wall_time


def pool_pays(seconds: float, left: int, workers: int) -> bool:
    """Whether a pool of ``workers`` (at most one per run left) finishes ``left`` runs of
    ``seconds`` each sooner than this process does, counting its start: the rule of ``auto``.
    The time a pool saves is ``left x seconds x (1 - 1/workers)``; it pays once that exceeds
    ``POOL_START_SECONDS``."""
    n = min(workers, left)
    return n > 1 and left * seconds * (1 - 1 / n) > POOL_START_SECONDS


class Executor(ABC):
    name = "executor"
    # kept for more sweeps (the rounds of --until-decided): a pool it starts outlives ``execute``
    # (its workers keep their imports and loaded data) until ``close``
    kept = False

    @abstractmethod
    def execute(
        self, tasks: Iterator[RunTask], progress: ProgressFn | None
    ) -> Iterator[RunOutcome]:
        """Yield one outcome per task pulled from ``tasks``."""

    def close(self, now: bool = False) -> None:  # noqa: B027 - most hold nothing between sweeps
        """End whatever a kept executor still holds (its worker pool): at once with ``now``
        (an interrupted comparison), else letting idle workers exit."""


class SequentialExecutor(Executor):
    """Runs in the driver's process, one after another."""

    name = "sequential"

    def __init__(self, threads: int | None = None):
        self.threads = threads

    def execute(self, tasks, progress=None):
        for task in tasks:
            yield execute(replace(task, threads=self.threads), progress)


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


FORK_SERVER_PRELOAD = "layerorder.experiment.execution.fork_server"
_fork_server_lock = threading.Lock()
_our_fork_server: int | None = None  # the pid of the fork server pool_context started


def pool_context():
    """The multiprocessing context pool workers start in: multiprocessing's fork server, started
    with ``fork_server.py`` preloaded (torch and the training code imported once, each worker
    forked from there), on Linux without CUDA (``_fork_server_fits``); else ``spawn`` (a fresh
    interpreter per worker, importing everything itself).

    With CUDA, workers are spawned as they always were: a fork server that touched CUDA (one
    started by the user's code, whose main module asks ``torch.cuda.is_available()``) would leave
    every forked worker unable to use it, and the fork server has not been tried on a GPU.

    The fork server is the interpreter's own, one per process. Its preload list is
    multiprocessing's global setting, so it is set only while the server starts, and put back as
    it was. A server this function did not start (the user's own, started before any pool) is
    not used: workers are spawned. One of ours that died is started again here (one that dies
    between this call and a worker's start is started again by multiprocessing, with the user's
    preload: that worker imports what it lacks, and later pools are spawned). Multiprocessing keeps
    the server's pid and its preload list in private attributes (there is no public getter), which
    are read here."""
    global _our_fork_server
    if not _fork_server_fits():
        return multiprocessing.get_context("spawn")
    from multiprocessing import forkserver

    server = forkserver._forkserver
    context = multiprocessing.get_context("forkserver")
    with _fork_server_lock:
        running = getattr(server, "_forkserver_pid", None)
        if running is not None and running != _our_fork_server:
            return multiprocessing.get_context("spawn")
        before = list(getattr(server, "_preload_modules", []))
        context.set_forkserver_preload([FORK_SERVER_PRELOAD])
        try:
            with _sigint_ignored():  # inherited through exec: the server, and each worker it
                forkserver.ensure_running()  # forks, ignores the Ctrl-C the driver handles
        finally:
            context.set_forkserver_preload(before)
        _our_fork_server = getattr(server, "_forkserver_pid", None)
    return context


def _fork_server_fits() -> bool:
    """Whether pool workers are forked from the fork server here (``pool_context``): on Linux
    (macOS has one too, but forking after its system frameworks load is why Python spawns there
    by default, and it has not been tried), without CUDA."""
    return sys.platform.startswith("linux") and not torch.cuda.is_available()


class _Worker:
    """One worker process and its pipe; ``held``: the runs it holds by id (none when idle)."""

    def __init__(self, shipped: bytes | None, threads: int | None) -> None:
        ctx = pool_context()  # for each worker: a fork server that died is started again
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(
            target=worker_main,
            args=(child, shipped, os.getpid(), threads, dict(os.environ)),
            name="layerorder-worker",
            daemon=True,
        )
        try:
            if ctx.get_start_method() == "spawn":
                with _sigint_ignored():  # inherited through exec: a Ctrl-C while the worker
                    self.process.start()  # imports torch must not print its traceback
            else:  # forked from the server, which ignores it; the first start waits for the
                self.process.start()  # server's imports, and a Ctrl-C meanwhile stops the driver
        except BaseException:  # a worker forked after all finds its pipe closed, and ends
            self.conn.close()
            raise
        finally:
            child.close()
        self.held: dict[int, RunTask] = {}

    def give(self, parcel: tuple[RunTask, ...], message) -> bool:
        """Send ``message`` (the run of ``parcel``, or a ``Stack`` of its runs, as this worker
        trains them); False (and nothing held) when the worker has died meanwhile."""
        try:
            self.conn.send(message)
        except OSError:  # BrokenPipeError: it died while idle
            return False
        self.held = {t.run_id: t for t in parcel}
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
    """A local pool of worker processes that start clean (no CUDA, no threads: forked from a fork
    server that never touched either, or spawned; ``pool_context``), one run each.

    Hand-written rather than ``concurrent.futures.ProcessPoolExecutor``: that pool is declared
    broken when any one worker dies, failing every run in flight, and cannot say which run the dead
    worker held. Here each worker has its own pipe and holds one run, so when a worker dies (killed,
    out of memory) only its run is tried again, on a fresh worker, at most ``max_tries`` times in
    all before it is stored as failed; the other workers keep training.
    """

    name = "process"
    max_tries = 3

    def __init__(self, workers: int, threads: int = 1, shipped: bytes | None = None,
                 on_note=None):
        self.workers, self.threads, self.shipped, self.on_note = workers, threads, shipped, on_note
        self._pool: list[_Worker] = []

    def worker_pid(self, run_id: int) -> int | None:
        """The process id of the worker training ``run_id`` now (None when none is)."""
        for worker in self._pool:
            if run_id in worker.held:
                return worker.process.pid
        return None

    def parcels(self, tasks: Iterator[RunTask]) -> Iterator[tuple[RunTask, ...]]:
        """What each worker is given at a time: one run, pulled only when a worker is free."""
        return ((task,) for task in tasks)

    def message(self, parcel: tuple[RunTask, ...]):
        """What a worker is sent for ``parcel``: its one run."""
        return parcel[0]

    def after_death(self, runs: tuple[RunTask, ...]) -> list[tuple[RunTask, ...]]:
        """The parcels in which the runs a dead worker held are tried again: one run."""
        return [runs]

    def start(self) -> None:
        """Start the workers now (spawned ones import torch while the caller goes on; forked
        ones start at once, once the fork server has imported it); ``execute`` uses them, or
        ``stop`` ends them."""
        while len(self._pool) < self.workers:
            self._pool.append(_Worker(self.shipped, self.threads))

    def stop(self, now: bool = True) -> None:
        """End the workers: at once (``now``, or a worker holding a run), else after their run."""
        for worker in self._pool:
            worker.stop(now=now or bool(worker.held))
        self._pool = []

    def execute(self, tasks, progress=None):
        interrupted = True
        try:
            self.start()
            yield from self._loop(self.parcels(tasks), progress)
            interrupted = False
        finally:
            if interrupted or not self.kept:
                self.stop(now=interrupted)

    def close(self, now: bool = False) -> None:
        self.stop(now=now)

    def _loop(self, parcels, progress):
        retry: deque[tuple[RunTask, ...]] = deque()
        tries: dict[int, int] = {}
        exhausted, idle_deaths = False, 0
        while True:
            for i, worker in enumerate(self._pool):
                if not worker.held and (retry or not exhausted):
                    parcel = retry.popleft() if retry else next(parcels, None)
                    if parcel is None:
                        exhausted = True
                        continue
                    # sent pinned to this worker's GPU, held (and retried) as it was
                    sent = self.message(tuple(on_gpu(task, i) for task in parcel))
                    if worker.death() is not None or not worker.give(parcel, sent):
                        # died while idle (after its last run, or while starting): no run is
                        # charged, and a fresh worker takes the parcel, unless workers keep dying
                        # before they can start one (a crash at import)
                        idle_deaths += 1
                        worker.stop(now=True)
                        self._pool[i] = _Worker(self.shipped, self.threads)
                        if idle_deaths > self.max_tries * self.workers:
                            error = f"worker processes died {idle_deaths} times before a run began"
                            for task in parcel:
                                yield RunOutcome(task.run_id, "failed", error=error)
                        else:
                            retry.appendleft(parcel)
                        continue
                    for task in parcel:
                        tries[task.run_id] = tries.get(task.run_id, 0) + 1
            busy = [w for w in self._pool if w.held]
            if not busy:
                return
            connection.wait([w.conn for w in busy] + [w.process.sentinel for w in busy], 1.0)
            for i, worker in enumerate(self._pool):
                yield from self._received(worker, progress)
                death = worker.death()
                if not worker.held or death is None:
                    continue
                yield from self._received(worker, progress)  # what it sent before it died
                held = tuple(worker.held.values())
                worker.stop(now=True)  # a worker died holding runs: only those are charged
                self._pool[i] = _Worker(self.shipped, self.threads)
                again = []
                for task in held:
                    n = tries[task.run_id]
                    if n >= self.max_tries:
                        error = f"worker process died ({death}) {n} times running it"
                        yield RunOutcome(task.run_id, "failed", error=error)
                    else:
                        again.append(task)
                if again:
                    retry.extend(self.after_death(tuple(again)))

    def _received(self, worker: _Worker, progress):
        """Handle what ``worker`` has sent so far; yields the outcomes among it."""
        for kind, payload in worker.messages():
            if kind == "progress" and progress is not None:
                progress(payload)
            elif kind == "note" and self.on_note is not None:
                self.on_note(payload)
            elif kind == "done":
                worker.held.pop(payload.run_id, None)
                yield payload


class _SaysMode:
    """Says what ``auto`` chose for the stacks of the first sweep, not again in each round."""

    said = False
    mode: str
    on_note: Callable[[str], None] | None

    def say_mode_once(self, chunks: list[tuple[RunTask, ...]]) -> None:
        if not self.said:
            self.said = say_mode(chunks, self.mode, self.on_note)


class StackedPoolExecutor(_SaysMode, ProcessExecutor):
    """A process pool whose workers each train a stack of seeds at a time (``stacked-pool``):
    the grid's runs are grouped by everything but the seed and cut into stacks (``stacks``),
    handed out largest first; a worker trains its stack as one model in ``mode``
    (``stack_mode``), or run by run where it cannot be stacked (a note says why). Claims every
    run of the sweep at its start, as ``stacked`` does.

    A worker that dies charges each run of its stack one try, and the runs are tried again in
    two halves: a stack too large for memory (the kernel's OOM killer raises nothing to fall
    back on) shrinks until it fits. Unlike ``stacked``, where a bug in stacked training stops
    the sweep and hands its runs back, here it fails the stack's runs with its traceback, as
    any error of a run in a pool worker does."""

    name = "stacked-pool"

    def __init__(self, workers: int, threads: int = 1, shipped: bytes | None = None,
                 on_note=None, mode: str = "auto", max_stack: int = 32):
        super().__init__(workers, threads, shipped, on_note)
        self.mode, self.max_stack = mode, max_stack

    def parcels(self, tasks: Iterator[RunTask]) -> Iterator[tuple[RunTask, ...]]:
        chunks = stacks(list(tasks), self.max_stack, self.workers)
        self.say_mode_once(chunks)
        return iter(chunks)

    def message(self, parcel: tuple[RunTask, ...]) -> Stack:
        return Stack(parcel, self.mode, self.name)

    def after_death(self, runs: tuple[RunTask, ...]) -> list[tuple[RunTask, ...]]:
        half = (len(runs) + 1) // 2
        return [p for p in (runs[:half], runs[half:]) if p]


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


class StackedExecutor(_SaysMode, Executor):
    """Trains the seeds of one configuration as one wide model (see ``experiment.stacking``).

    Takes every task it is offered, groups them by everything but the seed, and trains each group
    (up to ``max_stack`` runs) at once. A group that cannot be stacked is trained run by run,
    with a one-line reason sent to ``on_note``.
    """

    name = "stacked"

    def __init__(self, threads: int | None = None, max_stack: int = 32, on_note=None,
                 mode: str = "auto"):
        self.threads, self.max_stack, self.on_note, self.mode = threads, max_stack, on_note, mode

    def execute(self, tasks, progress=None):
        from layerorder.experiment.execution.stacked_runs import train_stack

        chunks = stacks([replace(t, threads=self.threads) for t in tasks], self.max_stack)
        self.say_mode_once(chunks)
        for chunk in chunks:
            yield from train_stack(chunk, progress, self.mode, self.on_note)


def say_mode(chunks: list[tuple[RunTask, ...]], mode: str, on_note) -> bool:
    """Say what ``auto`` chose for these stacks, before they train; whether anything was
    said."""
    from layerorder.experiment.training.stacking import mode_note

    note = mode_note(mode, chunks[0][0].device) if chunks and on_note is not None else None
    if note is not None:
        on_note(note)
    return note is not None


BALANCE = 1.1  # how much more than its fair share of runs a worker may be left with


def stacks(tasks: list[RunTask], most: int, parts: int = 1) -> list[tuple[RunTask, ...]]:
    """``tasks`` grouped by everything but the seed and each group cut into near-equal stacks of
    at most ``size`` runs, largest first; ``size`` is the largest (up to ``most``) whose stacks
    ``parts`` workers share out evenly: handed out longest first, no worker ends with more than
    ``BALANCE`` times its fair share of runs. Larger stacks batch more per call; stacks that
    share out unevenly leave workers idle at the end (on 2 workers, the default grid's five
    stacks of 5 seeds are 15 runs against 10: 3 and 2 seeds per stack are 13 against 12)."""
    groups: dict[str, list[RunTask]] = {}
    for task in tasks:
        groups.setdefault(_stack_key(task), []).append(task)
    fair = -(-len(tasks) // max(1, parts))  # ceil(runs / parts)
    size = min(max(1, most), max((len(g) for g in groups.values()), default=1))
    while True:
        cut = sorted((piece for g in groups.values() for piece in _pieces(g, size)),
                     key=len, reverse=True)
        if size == 1 or _longest_share(cut, parts) <= fair * BALANCE:
            return cut
        size -= 1


def _pieces(group: list[RunTask], size: int) -> list[tuple[RunTask, ...]]:
    """``group`` cut into the fewest near-equal pieces of at most ``size`` runs."""
    n = -(-len(group) // size)
    step, extra = divmod(len(group), n)
    bounds = [i * step + min(i, extra) for i in range(n + 1)]
    return [tuple(group[a:b]) for a, b in zip(bounds, bounds[1:])]


def _longest_share(cut: list[tuple[RunTask, ...]], parts: int) -> int:
    """The most runs one of ``parts`` workers trains when each free worker takes the next of
    ``cut`` (largest first), as the pool hands them out."""
    loads = [0] * max(1, parts)
    for piece in cut:
        loads[loads.index(min(loads))] += len(piece)
    return max(loads)


class _ToThePool(BaseException):
    """Raised from a run's progress in this process once a pool pays: the run stops here and is
    trained again, from its start, in the pool (a BaseException, so the run does not record it
    as its failure; never seen outside ``AdaptiveExecutor``)."""


def _free_this_process_gpu() -> None:
    """Before a pool's workers take the GPUs: what this process trained on one of them (its
    cached copy of the data set, the memory the caching allocator keeps) is given back, so that
    the worker put on that GPU is not left the rest."""
    if not torch.cuda.is_initialized():
        return
    cached_dataset.cache_clear()
    gc.collect()
    torch.cuda.empty_cache()


class AdaptiveExecutor(Executor):
    """``auto``: trains runs in this process, one after another, and weighs a pool against the
    runs left (``pool_pays``) at the second epoch of a built-in run (its first epoch, with the
    one-off costs of a first step, plus the second one's pace over the rest) and after each run
    (the median of the finished runs' ``run_seconds``: a user's run reports no clock). A pool
    that pays at a run's second epoch takes every run left, that one too (stopped there and
    trained again from its start: nothing of it is stored); one that pays after a run takes the
    runs after it. The pool is started outside the run, so a failure to start it is the sweep's
    error, never the run's. A grid of short runs never pays a pool's start; a grid of long ones
    hands over after its second epoch."""

    name = "auto"

    def __init__(self, p: Plan, runs: int, shipped: bytes | None = None, on_note=None):
        self.plan, self.runs, self.shipped, self.on_note = p, runs, shipped, on_note
        self.pool: ProcessExecutor | None = None  # once started

    def worker_pid(self, run_id: int) -> int | None:
        return None if self.pool is None else self.pool.worker_pid(run_id)

    def _pool_for(self, seconds: float, left: int) -> ProcessExecutor | None:
        """A started pool for the ``left`` runs of ``seconds`` each where it finishes them
        sooner than this process (said in a note); None where it does not."""
        if not pool_pays(seconds, left, self.plan.workers):
            return None
        workers = min(self.plan.workers, left)
        if self.on_note is not None:
            self.on_note(f"runs take about {seconds:.1f} s: the {left} left go to a process pool"
                         f" of {workers} workers")
        budget = self.plan.workers * self.plan.threads  # a smaller pool gives each more threads
        _free_this_process_gpu()  # the first GPU's pool worker gets it whole
        pool = ProcessExecutor(workers, max(1, budget // workers), self.shipped)
        pool.kept = self.kept
        pool.start()
        return pool

    def close(self, now: bool = False) -> None:
        if self.pool is not None:
            self.pool.close(now)
            self.pool = None

    def execute(self, tasks, progress=None):
        if self.pool is not None:  # kept from an earlier sweep: the pool already paid
            try:
                yield from self.pool.execute(tasks, progress)
            except BaseException:
                self.pool = None  # the pool stopped itself
                raise
            return
        yield from self._weigh(tasks, progress)

    def _weigh(self, tasks, progress):
        tasks, left = iter(tasks), self.runs
        threads = self.plan.workers * self.plan.threads
        times: list[float] = []  # the finished runs' ``run_seconds``: their median is weighed
        interrupted = True
        try:
            for task in tasks:
                pace: list[float] = []  # the run's estimated length, once its second epoch ends

                def watch(p: Progress, left: int = left, pace: list[float] = pace) -> None:
                    """Weighs once, at the second epoch (the first one's clock plus the second's
                    pace): later a hand-over would throw away most of a run."""
                    if progress is not None:
                        progress(p)
                    if p.seconds is None or not p.epochs or p.epoch > 2:
                        return
                    pace.append(p.seconds)
                    if p.epoch == 2 and len(pace) == 2:
                        seconds = pace[0] + (pace[1] - pace[0]) * (p.epochs - 1)
                        if pool_pays(seconds, left, self.plan.workers):
                            pace.append(seconds)
                            raise _ToThePool

                handed_over = False
                try:
                    outcome = execute(replace(task, threads=threads), watch)
                except _ToThePool:  # decided inside the run; the pool is started out here
                    handed_over = True
                if handed_over:
                    self.pool = self._pool_for(pace[-1], left)
                    yield from self.pool.execute(itertools.chain([task], tasks), progress)
                    interrupted = False
                    return
                left -= 1
                times.append(run_seconds(outcome))
                if left > 0:  # the median: one slow run on a busy machine does not decide it
                    self.pool = self._pool_for(statistics.median(times), left)
                yield outcome
                if self.pool is not None:
                    yield from self.pool.execute(tasks, progress)
                    interrupted = False
                    return
            interrupted = False
        finally:
            # a pool started, run or interrupted ends here, unless it is kept for more sweeps
            if self.pool is not None and (interrupted or not self.kept):
                self.pool.stop(now=interrupted)
                self.pool = None


@dataclass(frozen=True)
class Making:
    """What an executor is made from: the plan; ``on_note`` (where it says what it chose);
    ``shipped`` (what process workers must install first,
    ``layerorder.experiment.execution.shipping.snapshot``); ``runs`` (how many it is to train,
    what ``auto`` weighs a pool against); ``stack_mode`` (the stacked executors' mode)."""

    plan: Plan
    on_note: Callable[[str], None] | None = None
    shipped: bytes | None = None
    runs: int = 0
    stack_mode: str = "auto"


def make_executor(p: Plan, on_note=None, shipped: bytes | None = None,
                  runs: int = 0, stack_mode: str = "auto") -> Executor:
    """The executor of a plan (the arguments: ``Making``)."""
    make = WAYS[p.executor].make
    if make is None:
        raise ValueError(f"--executor {p.executor} trains elsewhere: the runner connects it")
    return make(Making(p, on_note, shipped, runs, stack_mode))


# ---- how each executor kind (``settings.EXECUTOR_KINDS``) plans, describes and is made ----------
# plan(executor, --workers, runs (at least 1), device, cores) -> Plan


def _plan_here(executor: str, workers: int | None, runs: int, device: str, cores: int) -> Plan:
    """In this process, on every core of a CPU."""
    return Plan(executor, 1, cores if device == "cpu" else 1)


def _plan_pool(executor: str, workers: int | None, runs: int, device: str, cores: int) -> Plan:
    """One single-thread worker per core (or ``--workers``), never more than there are runs."""
    n = max(1, min(workers or cores, runs))
    return Plan(executor, n, max(1, cores // n))


def _gpus(device: str) -> int:
    """The GPUs a pool's workers can take one each (``on_gpu``): all of them for ``cuda``; none
    for the CPU or for one named GPU (``cuda:1``)."""
    return torch.cuda.device_count() if device == "cuda" else 0


def _pool_workers(workers: int | None, device: str) -> int | None:
    """A pool's workers: ``--workers``; else on a GPU one per GPU (one on a named GPU,
    ``cuda:1``); None on the CPU (``_plan_pool``: one per core)."""
    if workers or device == "cpu":
        return workers
    return _gpus(device) or 1


def _plan_auto(executor: str, workers: int | None, runs: int, device: str, cores: int) -> Plan:
    """A pool where one could help, with several runs: a CPU with several cores (a worker per
    core), or several GPUs (a worker per GPU unless ``--workers`` says otherwise); else this
    process (one GPU, or one core)."""
    gpus = _gpus(device)
    could_pool = runs > 1 and workers != 1 and (
        (device == "cpu" and cores > 1) or gpus > 1)
    if not could_pool:
        return _plan_here("sequential", workers, runs, device, cores)
    return _plan_pool(executor, _pool_workers(workers, device), runs, device, cores)


def _plan_stacked_pool(executor: str, workers: int | None, runs: int, device: str,
                       cores: int) -> Plan:
    """A pool; on a GPU, one stacking worker per GPU (one in all on a named GPU, ``cuda:1``)
    unless ``--workers`` says otherwise."""
    return _plan_pool(executor, _pool_workers(workers, device), runs, device, cores)


def _plan_elsewhere(executor: str, workers: int | None, runs: int, device: str,
                    cores: int) -> Plan:
    """Nothing trains in this process (a Ray cluster, or pull workers)."""
    return Plan(executor, 0, 1)


def _plan_slurm(executor: str, workers: int | None, runs: int, device: str, cores: int) -> Plan:
    """An array of ``--workers`` tasks, at most one per run (``SLURM_ARRAY_MOST`` unless set)."""
    return Plan(executor, max(1, min(workers or SLURM_ARRAY_MOST, runs)), 1)


def _threads(p: Plan) -> str:
    return f"{p.threads} thread{'s' * (p.threads > 1)}"


@dataclass(frozen=True)
class Way:
    """How one executor kind plans a sweep, says its plan, and is made (None: the runner reaches
    it otherwise: a Ray cluster is connected first, pull workers are waited for)."""

    plan: Callable[[str, int | None, int, str, int], Plan]
    describe: Callable[[Plan], str]
    make: Callable[[Making], Executor] | None = None


WAYS: dict[str, Way] = {
    "auto": Way(
        _plan_auto,
        lambda p: (f"auto: in this process while the runs are short, then a process pool of"
                   f" {p.workers} workers x {_threads(p)}"),
        lambda m: AdaptiveExecutor(m.plan, m.runs, m.shipped, m.on_note)),
    "sequential": Way(
        _plan_here, lambda p: f"sequential, {_threads(p)}",
        lambda m: SequentialExecutor(m.plan.threads)),
    "process": Way(
        _plan_pool, lambda p: f"process pool, {p.workers} workers x {_threads(p)}",
        lambda m: ProcessExecutor(m.plan.workers, m.plan.threads, m.shipped, m.on_note)),
    "stacked": Way(
        _plan_here, lambda p: f"stacked, {_threads(p)}",
        lambda m: StackedExecutor(m.plan.threads, on_note=m.on_note, mode=m.stack_mode)),
    "stacked-pool": Way(
        _plan_stacked_pool,
        lambda p: (f"process pool, {p.workers} workers x {_threads(p)}, each training stacks"
                   " of seeds"),
        lambda m: StackedPoolExecutor(m.plan.workers, m.plan.threads, m.shipped, m.on_note,
                                      m.stack_mode)),
    "ray": Way(_plan_elsewhere, lambda p: "Ray cluster, one task per run"),
    "workers": Way(
        _plan_elsewhere,
        lambda p: "pull workers ('layerorder worker'): nothing trains in this process"),
    "slurm": Way(_plan_slurm, lambda p: f"a SLURM job array of {p.workers} pull workers"),
}
