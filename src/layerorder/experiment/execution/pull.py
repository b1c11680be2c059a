"""Pull-based workers (``layerorder worker``): processes on any hosts claim runs from one shared
store and train them, with no driver handing out work.

A worker claims a pending run (or one whose lease ran out), trains it in its own process with
the built-in loop or the user's run the experiment names, stores the result, and claims the
next, until every run is finished (or ``idle_exit`` seconds more pass without a new one, or
``max_runs`` are done). While other workers hold the last runs it waits: if one of them is gone,
its lease runs out and the waiting worker trains the run.
Its ``Heartbeat`` renews the lease of the run it holds. A worker that is killed loses only that
run: the lease runs out and another worker claims it again. A worker that is stopped (SIGTERM,
as SLURM sends at a time limit, or Ctrl-C) hands its run back first.

The grid comes from ``layerorder compare --plan-only`` (which stores it and trains nothing), or
from a coordinator, ``compare --executor workers`` (or ``slurm``), which stores each round,
waits while workers drain it, analyses, and stores the next round of ``--until-decided``
(``wait_for_workers``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import threading
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from layerorder.experiment.execution.executors import SequentialExecutor
from layerorder.experiment.execution.observer import SweepObserver
from layerorder.experiment.execution.worker import RunOutcome, RunTask
from layerorder.experiment.execution.writing import write_outcome
from layerorder.experiment.training.run_data import resolve_device
from layerorder.stats.metric import ACCURACY
from layerorder.store import (
    DEFAULT_LEASE,
    ExperimentRecord,
    Heartbeat,
    RunRecord,
    Store,
    StoreError,
    make_owner,
)
from layerorder.store.errors import StoreMissing, StoreUnavailable
from layerorder.store.location import argument
from layerorder.store.records import FINISHED_STATUSES

RECONNECT_WITHIN = 60.0  # seconds a worker waits out an unavailable store before it stops
POLL_SECONDS = 2.0  # how often an idle worker, or a coordinator, looks at the store again
STOPPED_BY = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "an interrupt"}


@dataclass(frozen=True)
class WorkerSummary:
    """What a worker did before it stopped, and why it stopped."""

    owner: str
    trained: int
    experiments: tuple[str, ...]  # names of the experiments it trained runs of
    stopped: str  # 'no runs left', 'idle', 'max runs' or 'stopped by SIGTERM'


class _Stopped(BaseException):
    """SIGTERM arrived: hand the run back and stop. A ``BaseException``, like Ctrl-C's, so that
    no ``except Exception`` on the way (a run's failure is recorded, not raised) takes it."""


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """SIGTERM (what SLURM and most schedulers send first) stops the worker as Ctrl-C does: the
    run it holds is handed back. Only in the main thread, where Python can install handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):  # noqa: ARG001 - the signal handler's signature
        raise _Stopped()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _open_when_there(store: str, patience: float, poll: float) -> Store:
    """The store, opened; one not created yet (the coordinator that creates it starts after
    the workers, as a SLURM array may) is waited for up to ``patience`` seconds."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return Store.open(store, create=False)
        except StoreMissing:
            if time.monotonic() >= deadline:
                raise
            time.sleep(poll)


def task_of(experiment: ExperimentRecord, run: RunRecord, device: str,
            run_timeout: float | None = None) -> RunTask:
    """The task of a claimed run, from what the store holds: the run's own settings and the
    experiment's metric; a user's command runs in the worker's folder."""
    config = experiment.config
    user_run = config.get("train") is not None or config.get("command") is not None
    return RunTask(run.id, run.label, run.config, device, metric=config.get("metric") or ACCURACY,
                   timeout=run_timeout, cwd=os.getcwd() if user_run else None)


def _experiments(db: Store, experiment: str | None, prefix: str | None) -> list[ExperimentRecord]:
    """The experiments this worker takes runs from, oldest first."""
    if experiment is not None:
        return [db.find_experiment(experiment)]
    every = sorted(db.experiments(), key=lambda e: e.id)
    if prefix is not None:
        every = [e for e in every if e.name.startswith(prefix)]
    return every


def _claim(db: Store, owner: str, experiment: str | None, prefix: str | None,
           lease: float) -> tuple[ExperimentRecord, RunRecord] | int:
    """The next run to train, from the first experiment that has one; else how many runs
    other workers hold (a worker that is gone leaves its run held until its lease runs out)."""
    held = 0
    for exp in _experiments(db, experiment, prefix):
        counts = db.counts(exp.id)
        if counts["pending"] == 0 and counts["running"] == 0:
            continue
        run = db.claim_next(exp.id, owner, lease=lease)
        if run is not None:
            return exp, run
        held += counts["running"]
    return held


def _claim_afresh(db: Store, owner: str, experiment: str | None, prefix: str | None,
                  lease: float) -> tuple[ExperimentRecord, RunRecord] | int:
    db.release_owned(None, owner)
    return _claim(db, owner, experiment, prefix, lease)


def _hand_back(db: Store, owner: str) -> None:
    with contextlib.suppress(StoreError):
        db.release_owned(None, owner)


def work(
    store: str,
    *,
    experiment: str | None = None,
    prefix: str | None = None,
    max_runs: int | None = None,
    idle_exit: float = 0.0,
    device: str = "auto",
    lease: float = DEFAULT_LEASE,
    run_timeout: float | None = None,
    observer: SweepObserver | None = None,
    poll: float | None = None,
) -> WorkerSummary:
    """Claim and train runs from ``store`` until none is left; see the module docstring.
    ``experiment``: only that experiment's runs (name or id); ``prefix``: only the experiments
    whose name starts with it (a study's: ``studies.spec.experiment_prefix``); ``idle_exit``:
    seconds to wait for new runs (a coordinator's next round) before stopping."""
    observer = observer or SweepObserver()
    poll = POLL_SECONDS if poll is None else poll
    device = resolve_device(device)
    owner = make_owner()
    executor = SequentialExecutor()
    trained, names = 0, []
    stopped = "max runs"
    with _open_when_there(store, idle_exit, poll) as db, _stop_on_sigterm():
        try:
            with Heartbeat(db.path, owner, lease):
                idle_since = time.monotonic()
                while max_runs is None or trained < max_runs:
                    # a worker holds no run between runs: one it holds now is a claim whose
                    # answer a lost connection took (its heartbeat would renew it for ever)
                    claimed = _patiently(lambda: _claim_afresh(db, owner, experiment, prefix,
                                                               lease), observer)
                    if isinstance(claimed, int) and claimed:  # held by others: they
                        time.sleep(poll)  # finish them, or their leases run out and one is ours
                        idle_since = time.monotonic()
                        continue
                    if isinstance(claimed, int):  # nothing pending, nothing held
                        waited = time.monotonic() - idle_since
                        if waited >= idle_exit:
                            stopped = "no runs left" if idle_exit == 0 else "idle"
                            break
                        time.sleep(min(poll, idle_exit - waited))
                        continue
                    exp, run = claimed
                    task = task_of(exp, run, device, run_timeout)
                    observer.run_started(task)
                    (outcome,) = executor.execute(iter([task]), observer.epoch)
                    if _patiently(functools.partial(_written, db, outcome, owner), observer):
                        trained += 1
                        names.append(exp.name)
                        observer.run_finished(task, outcome)
                    else:
                        observer.note(f"run {run.id} ({run.label}) was taken over after its lease"
                                      " expired; the other worker's result is kept")
                    idle_since = time.monotonic()
        except (_Stopped, KeyboardInterrupt) as exc:
            _hand_back(db, owner)  # also a run whose claim committed as the signal came
            if isinstance(exc, KeyboardInterrupt):
                raise
            stopped = "stopped by SIGTERM"
        except BaseException:
            _hand_back(db, owner)
            raise
    return WorkerSummary(owner, trained, tuple(dict.fromkeys(names)), stopped)


def _patiently(call: Callable[[], Any], observer: SweepObserver, *,
               seconds: float = RECONNECT_WITHIN) -> Any:
    """``call()``, tried again while the store is unavailable (a server restarting, a network
    down) for up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return call()
        except StoreUnavailable as exc:
            if time.monotonic() > deadline:
                raise
            observer.note(f"{exc}; trying again")
            time.sleep(POLL_SECONDS)


def _written(db: Store, outcome: RunOutcome, owner: str) -> bool:
    """Write the outcome; True also where an earlier try wrote it before its answer was lost."""
    if write_outcome(db, outcome, owner):
        return True
    current = db.run(outcome.run_id)
    return current.owner == owner and current.status in FINISHED_STATUSES


def wait_for_workers(
    db: Store,
    experiment: ExperimentRecord,
    keys: Collection[str],
    observer: SweepObserver,
    *,
    poll: float | None = None,
    still_coming: Callable[[], str | None] = lambda: None,
) -> int:
    """Wait until every run of ``keys`` in ``experiment`` is finished by pull workers (a
    coordinator trains nothing itself); returns how many finished while it waited. Says every
    so often how far the workers are. ``still_coming``: why the wait is hopeless, when it is
    (every submitted job ended), else None."""
    keys = set(keys)
    poll = POLL_SECONDS if poll is None else poll

    def finished() -> int:
        return sum(r.status in FINISHED_STATUSES for r in db.runs(experiment.id)
                   if r.run_key in keys)

    start = finished()
    done, said = start, -1
    while done < len(keys):
        if done != said:
            observer.note(f"{done} of {len(keys)} runs finished by workers")
            said = done
        reason = still_coming()
        if reason is not None:
            raise StoreError(f"{len(keys) - done} runs of experiment '{experiment.name}' are not"
                             f" finished and no worker is left to train them ({reason}); start"
                             f" workers with: layerorder worker --store {argument(db.path)}"
                             f" --experiment {experiment.name}")
        time.sleep(poll)
        done = finished()
    return done - start
