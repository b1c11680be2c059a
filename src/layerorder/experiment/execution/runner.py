"""The sweep driver: store the grid, hand runs to an executor, write what comes back.

A sweep that is killed and started again finishes the missing runs and never repeats a finished
one: runs are claimed one at a time from the store (``Store.claim_next``), and a run whose claim
went stale (its lease expired, or its owner on this host no longer exists) is claimed again. While
the sweep runs, a ``Heartbeat`` thread renews the leases of the runs it holds.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from layerorder.experiment.configuration.config import ExperimentConfig
from layerorder.experiment.configuration.settings import POOL_EXECUTORS, PULL_EXECUTORS
from layerorder.experiment.execution.executors import (
    AdaptiveExecutor,
    Executor,
    Plan,
    make_executor,
    plan,
)
from layerorder.experiment.execution.observer import SweepObserver
from layerorder.experiment.execution.pull import wait_for_workers
from layerorder.experiment.execution.shipping import snapshot
from layerorder.experiment.execution.worker import RunTask
from layerorder.experiment.execution.writing import write_outcome
from layerorder.experiment.training.run_data import cached_dataset, resolve_device
from layerorder.store import (
    ExperimentRecord,
    Heartbeat,
    RunRecord,
    RunSpec,
    Store,
    StoreError,
    config_hash,
    make_owner,
)
from layerorder.store.location import argument


@dataclass(frozen=True)
class SweepSummary:
    experiment: ExperimentRecord
    run_ids: tuple[int, ...]  # the runs of this grid (finished earlier or now)
    trained: int
    plan: Plan


def run_specs(config: ExperimentConfig) -> list[RunSpec]:
    specs = []
    for rc in config.runs():
        cfg = rc.to_dict()
        specs.append(RunSpec(config_hash(cfg), rc.order, rc.seed, rc.lr, cfg))
    return specs


@dataclass(frozen=True)
class GridPlan:
    """What ``compare`` would train, training nothing (``--dry-run``): every run of the grid (its
    order, seed, lr and run key), the device, and how the sweep would use the machine."""

    config: ExperimentConfig
    specs: tuple[RunSpec, ...]
    device: str
    execution: Plan


def plan_grid(config: ExperimentConfig) -> GridPlan:
    """The plan of ``config``'s grid (its first round with ``until_decided``)."""
    specs = tuple(run_specs(config))
    device = resolve_device(config.device)
    return GridPlan(
        config, specs, device, plan(config.executor, config.workers, len(specs), device)
    )


def load_checked_data(config: ExperimentConfig):
    """Load (and check) the experiment's data once in this process: bad data is the user's
    error, not a sweep of failed runs; a sequential sweep reuses this copy."""
    return cached_dataset(config.dataset, tuple(sorted(dict(config.data_options).items())), "cpu")


class KeptExecutor:
    """One executor for the sweeps of several rounds (``--until-decided``): made by the first
    sweep, it keeps its worker pool, with the imports and the data its workers loaded, until
    ``close``, instead of a pool started (and the data read) again for every round."""

    def __init__(self) -> None:
        self.executor: Executor | None = None
        self.plan: Plan | None = None

    def get(self, make, runs: int, the_plan: Plan) -> Executor:
        """The executor of ``the_plan``: the kept one where it was made for the same plan (each
        round is planned for all of its runs, stored or not, so the rounds of one comparison
        plan alike), else a new one in its place."""
        if self.executor is not None and the_plan != self.plan:
            self.close()
        if self.executor is None:
            self.executor, self.plan = make(), the_plan
            self.executor.kept = True
        if isinstance(self.executor, AdaptiveExecutor):
            self.executor.runs = runs  # what a pool not yet started is weighed against
        return self.executor

    def close(self, now: bool = False) -> None:
        if self.executor is not None:
            self.executor.close(now)
            self.executor = None

    def __enter__(self) -> KeptExecutor:
        return self

    def __exit__(self, kind, error, trace) -> None:
        self.close(now=kind is not None)  # interrupted or failed: the workers end at once


def run_sweep(
    config: ExperimentConfig,
    store: Store,
    *,
    fresh: bool = False,
    observer: SweepObserver | None = None,
    grid: dict | None = None,
    keep: KeptExecutor | None = None,
    only: Callable[[RunSpec], bool] | None = None,
) -> SweepSummary:
    """Train every run of ``config`` not yet in ``store``; return what this grid holds.
    ``grid``: the experiment's identity when ``config`` is one round of a larger design;
    ``keep``: where the executor lives across such rounds (the caller closes it); ``only``: the
    runs of the grid this round stores and trains (the orders of undecided pairs)."""
    observer = observer or SweepObserver()
    # a cluster that cannot be reached, or user objects that cannot be sent to worker
    # processes (they cannot import what the user made at run time), fail before storing
    ray_executor = _connect_ray(config)
    if not config.user_run:  # a user's own run brings its own data
        load_checked_data(config)
    pool = config.executor in POOL_EXECUTORS
    shipped = snapshot(_shipped_data(config), config.model, config.train) if pool else None
    experiment = store.experiment(config.name, grid or config.grid(), fresh=fresh)
    specs = [s for s in run_specs(config) if only is None or only(s)]
    store.add_runs(experiment.id, specs)
    keys = {s.run_key for s in specs}
    runs = [r for r in store.runs(experiment.id) if r.run_key in keys]
    todo = [r for r in runs if r.status in ("pending", "running")]
    device = resolve_device(config.device)
    # a round of a kept design is planned for all of its runs, so that a rerun whose first
    # round is stored already plans it as the rounds after it
    the_plan = plan(config.executor, config.workers,
                    len(todo) if keep is None else len(runs), device)
    observer.start(experiment, len(runs), len(todo), the_plan)
    if config.executor in PULL_EXECUTORS:  # workers train; this process waits and analyses
        trained = _by_pull_workers(config, store, experiment, keys, len(todo), the_plan, observer)
        return SweepSummary(experiment, tuple(r.id for r in runs), trained, the_plan)
    owner = make_owner()
    held = store.held_elsewhere(experiment.id, owner, keys)
    _note_held(observer, held, config.lease, start=True)
    claimed: dict[int, RunTask] = {}
    trained = 0

    def tasks() -> Iterator[RunTask]:
        claim = store.claim_next
        while (run := claim(experiment.id, owner, keys=keys, lease=config.lease)) is not None:
            task = RunTask(run.id, run.label, run.config, device, compile=config.compile,
                           metric=config.metric_name, timeout=config.run_timeout,
                           cwd=os.getcwd() if config.user_run else None)
            claimed[run.id] = task
            observer.run_started(task)
            yield task

    try:
        runs_left = len(todo) - len(held)

        def make() -> Executor:
            return make_executor(the_plan, on_note=observer.note, shipped=shipped, runs=runs_left,
                                 stack_mode=config.stack_mode)

        executor = ray_executor or (
            keep.get(make, runs_left, the_plan) if keep is not None else make())
        with Heartbeat(store.path, owner, config.lease):
            outcomes = executor.execute(tasks(), observer.epoch)
            trained = _collect(outcomes, store, owner, claimed, observer)
    except BaseException:
        # interrupted or failed: hand unfinished runs back, including one claimed in the store
        # just before the interrupt arrived and not yet entered in ``claimed``. A store that
        # cannot take the write must not hide the error that stopped the sweep; its runs are
        # claimed again once this process has exited (see ``layerorder.store.owner``).
        with contextlib.suppress(StoreError):
            store.release_owned(experiment.id, owner)
        raise
    if claimed:  # an executor that returned without an outcome for a run: hand it back
        store.release_owned(experiment.id, owner)
    held = store.held_elsewhere(experiment.id, owner, keys)
    _note_held(observer, held, config.lease, start=False)
    return SweepSummary(experiment, tuple(r.id for r in runs), trained, the_plan)


def _by_pull_workers(config: ExperimentConfig, store: Store, experiment: ExperimentRecord,
                     keys: set[str], todo: int, the_plan: Plan, observer: SweepObserver) -> int:
    """Wait while pull workers train the round (submitted here for ``slurm``); returns how
    many runs they finished meanwhile."""
    array = None
    if config.executor == "slurm" and todo:
        from layerorder.experiment.execution.slurm import submit_workers

        array = submit_workers(
            store.path, experiment.id, min(the_plan.workers, todo), cluster=config.slurm_cluster,
            partition=config.slurm_partition, minutes=config.slurm_minutes,
            device=config.device, lease=config.lease, run_timeout=config.run_timeout)
        observer.note(f"submitted {len(array.jobs)} pull workers ({config.slurm_cluster}); their"
                      f" logs are in {array.folder}")
    elif todo:
        observer.note(f"waiting for pull workers; start them (any number, on any hosts) with:"
                      f" layerorder worker --store {argument(store.path)}"
                      f" --experiment {experiment.id}")
    try:
        return wait_for_workers(store, experiment, keys, observer,
                                still_coming=array.ended if array else lambda: None)
    except BaseException:
        if array is not None:
            array.cancel()
        raise


def _collect(outcomes, store: Store, owner: str, claimed: dict, observer: SweepObserver) -> int:
    """Write each outcome this driver still owns; returns how many were written."""
    trained = 0
    for outcome in outcomes:
        task = claimed.pop(outcome.run_id)
        written = write_outcome(store, outcome, owner)
        while store.notices:  # e.g. a store file deleted meanwhile and restored
            observer.note(store.notices.pop(0))
        if written:
            trained += 1
            observer.run_finished(task, outcome)
        else:
            observer.note(
                f"run {outcome.run_id} ({task.label}) was taken over by another driver after its"
                " lease expired; their result is kept and this one discarded"
            )
    return trained


def _note_held(observer: SweepObserver, held: list[RunRecord], lease: float, *, start: bool):
    """Say which runs another live driver holds: at the start (this sweep trains the rest) and
    at the end (the results leave them out until they finish)."""
    if not held:
        return
    owners = sorted({r.owner or "?" for r in held})
    who = ", ".join(owners[:3]) + (f" and {len(owners) - 3} more" if len(owners) > 3 else "")
    n = f"{len(held)} run{'s' * (len(held) != 1)}"
    if start:
        observer.note(
            f"{n} of this grid are held by another driver ({who}); this sweep trains the rest"
            f" and takes them over if their lease ({lease:g} s) runs out"
        )
    else:
        observer.note(
            f"{n} still held by another driver ({who}): the results leave them out; run this"
            " command again once they finish (or 'layerorder runs --release-stale' if that"
            " driver is gone)"
        )


def _shipped_data(config: ExperimentConfig) -> str | None:
    return None if config.user_run else config.dataset


def _connect_ray(config: ExperimentConfig):
    if config.executor != "ray":
        return None
    from layerorder.experiment.execution.ray_executor import RayExecutor

    executor = RayExecutor(
        address=config.ray_address,
        cpus_per_run=config.cpus_per_run,
        gpus_per_run=config.gpus_per_run,
        max_retries=config.max_retries,
        # the data goes as loaded tensors (``RayExecutor._data``); a model factory or a train
        # function must be sent
        shipped=snapshot(None, config.model, config.train),
    )
    executor.connect()
    return executor
