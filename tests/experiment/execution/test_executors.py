"""Executors: what the stacked executor trains apart, and what it does not hide."""

import os

import pytest

from layerorder.experiment.configuration.config import make_config
from layerorder.experiment.execution.observer import SweepObserver
from layerorder.experiment.execution.runner import run_sweep
from layerorder.store import Store


class Notes(SweepObserver):
    def __init__(self):
        self.lines = []

    def note(self, text):
        self.lines.append(text)


def _config(**extra):
    values = {
        "dataset": "synthetic",
        "data_options": {"num_samples": 200},
        "arch": "mlp",
        "width": 8,
        "epochs": 1,
        "orders": ["standard"],
        "seeds": 2,
        "executor": "stacked",
    }
    return make_config({**values, **extra})


def test_gradient_clipping_is_trained_run_by_run(tmp_path):
    notes = Notes()
    with Store.open(tmp_path / "s.db") as store:
        summary = run_sweep(_config(grad_clip=1.0), store, observer=notes)
        runs = store.runs(summary.experiment.id)
    assert [r.status for r in runs] == ["done", "done"]
    assert any("not stacked (gradient clipping" in line for line in notes.lines)
    assert notes.lines[0].startswith("stack mode auto: exact on cpu")  # what auto chose, said


def test_a_bug_in_stacked_training_is_not_hidden(tmp_path, monkeypatch):
    import layerorder.experiment.execution.stacked_runs as stacked

    def broken(tasks, progress=None, mode="auto", executor="stacked"):
        raise RuntimeError("a bug")

    monkeypatch.setattr(stacked, "execute_stacked", broken)
    with Store.open(tmp_path / "s.db") as store:
        with pytest.raises(RuntimeError, match="a bug"):
            run_sweep(_config(), store)
        runs = store.runs(store.experiments()[0].id)
    assert [r.status for r in runs] == ["pending", "pending"]  # handed back, not charged


@pytest.mark.parametrize("executor", ["sequential", "stacked"])
def test_runs_in_the_callers_process_leave_its_random_state_and_threads(tmp_path, executor):
    """A run seeds torch's generator and may set its threads; in the caller's own process (a
    notebook with the sequential or stacked executor) both are the caller's again afterwards."""
    import torch

    original = torch.get_num_threads()
    mine = (os.cpu_count() or 1) + 1  # never what a sweep picks (one thread per core at most)
    torch.set_num_threads(mine)
    try:
        torch.manual_seed(1234)
        torch.rand(3)  # a state that no seed alone gives
        state = torch.get_rng_state()
        expected = torch.rand(4)
        torch.set_rng_state(state)
        with Store.open(tmp_path / "s.db") as store:
            summary = run_sweep(_config(executor=executor), store)
            assert {r.status for r in store.runs(summary.experiment.id)} == {"done"}
        assert torch.get_num_threads() == mine
        assert torch.equal(torch.rand(4), expected)
    finally:
        torch.set_num_threads(original)


@pytest.mark.parametrize("variable, planned, taken", [
    (None, 2, 2),  # every core of the (2-core) machine
    ("1", 1, 1),  # the environment caps the process at one thread
    ("8", 2, 2),  # and never raises a plan
])
def test_omp_num_threads_caps_what_a_sweep_plans_and_its_runs_take(tmp_path, monkeypatch,
                                                                   no_thread_cap, variable,
                                                                   planned, taken):
    """A user who set ``OMP_NUM_THREADS`` (a cluster job, a shared machine) gets no more threads
    per process than it says: in the plan that is printed, and in what each run takes (its
    provenance records ``torch.get_num_threads()`` as it trained)."""
    from layerorder.experiment.execution import executors

    monkeypatch.setattr(executors, "available_cores", lambda: 2)
    if variable is not None:
        monkeypatch.setenv("OMP_NUM_THREADS", variable)
    p = executors.plan("sequential", None, 2, "cpu")
    assert p.threads == planned and p.describe().endswith(f"{planned} thread" + "s" * (planned > 1))
    with Store.open(tmp_path / "s.db") as store:
        summary = run_sweep(_config(executor="sequential"), store)
        runs = store.runs(summary.experiment.id)
    assert {r.provenance["threads"] for r in runs} == {taken}


@pytest.mark.parametrize("executor", ["process", "stacked-pool", "auto", "stacked"])
def test_every_plan_on_the_cpu_is_capped(monkeypatch, no_thread_cap, executor):
    from layerorder.experiment.execution import executors

    monkeypatch.setattr(executors, "available_cores", lambda: 4)
    assert executors.plan(executor, 1, 8, "cpu").threads == 4  # one worker: every core
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert executors.plan(executor, 1, 8, "cpu").threads == 3


def test_a_pool_worker_given_more_threads_than_the_cap_takes_the_cap(no_thread_cap):
    """``auto`` gives a smaller pool than it planned each worker more threads (``_pool_for``);
    the worker's own run still takes no more than the environment it was started with allows."""
    from layerorder.experiment.execution.executors import ProcessExecutor
    from layerorder.experiment.execution.worker import RunTask

    no_thread_cap.setenv("OMP_NUM_THREADS", "1")
    (run,) = _config(seeds=1, executor="process").runs()
    pool = ProcessExecutor(workers=1, threads=2)
    try:
        (outcome,) = pool.execute(iter([RunTask(1, run.order, run.to_dict())]))
    finally:
        pool.close(now=True)
    assert outcome.status == "done" and outcome.provenance["threads"] == 1


def test_pool_workers_take_a_gpu_each_where_there_are_several():
    from layerorder.experiment.execution.executors import on_gpu
    from layerorder.experiment.execution.worker import RunTask

    task = RunTask(1, "standard", {}, "cuda")
    assert [on_gpu(task, slot, count=2).device for slot in range(3)] == ["cuda:0", "cuda:1",
                                                                       "cuda:0"]
    assert on_gpu(task, 1, count=1).device == "cuda"  # one GPU: every run shares it
    cpu = RunTask(1, "standard", {}, "cpu")
    assert on_gpu(cpu, 1, count=4) is cpu


@pytest.mark.parametrize(
    "gpus,workers,runs,planned",
    [
        (4, None, 25, ("auto", 4, 4)),  # a pool worker per GPU
        (4, 2, 25, ("auto", 2, 8)),  # --workers decides
        (4, None, 3, ("auto", 3, 5)),  # never more workers than runs
        (4, None, 1, ("sequential", 1, 1)),  # one run: nothing to share out
        (4, 1, 25, ("sequential", 1, 1)),  # --workers 1
        (1, None, 25, ("sequential", 1, 1)),  # one GPU: every run in this process, on it
        (0, None, 25, ("sequential", 1, 1)),
    ],
)
def test_auto_on_several_gpus_plans_a_pool_worker_per_gpu(monkeypatch, no_thread_cap, gpus, workers,
                                                          runs, planned):
    """``auto`` on a machine with several GPUs plans a pool of one worker per GPU (each pinned to
    its own by ``on_gpu``), which it starts once the runs measure long enough, as on the CPU."""
    from layerorder.experiment.execution import executors

    monkeypatch.setattr(executors, "available_cores", lambda: 16)
    monkeypatch.setattr(executors.torch.cuda, "device_count", lambda: gpus)
    p = executors.plan("auto", workers, runs, "cuda")
    assert (p.executor, p.workers, p.threads) == planned
    assert isinstance(executors.make_executor(p, runs=runs), executors.AdaptiveExecutor) == (
        planned[0] == "auto")


@pytest.mark.parametrize(
    "device,gpus,workers,planned",
    [
        ("cuda", 4, None, (4, 4)),  # a stacking worker per GPU
        ("cuda", 4, 2, (2, 8)),  # --workers decides
        ("cuda", 1, None, (1, 16)),
        ("cuda:1", 4, None, (1, 16)),  # one named GPU: one worker, on it
        ("cpu", 4, None, (16, 1)),  # a single-thread worker per core; the GPUs do not count
    ],
)
def test_a_stacked_pool_plans_a_worker_per_gpu_of_the_device(monkeypatch, no_thread_cap, device,
                                                             gpus, workers, planned):
    """``stacked-pool`` counts the GPUs as ``auto`` does (``executors._gpus``): all of them for
    ``cuda``, none for one named GPU, which takes a single worker."""
    from layerorder.experiment.execution import executors

    monkeypatch.setattr(executors, "available_cores", lambda: 16)
    monkeypatch.setattr(executors.torch.cuda, "device_count", lambda: gpus)
    p = executors.plan("stacked-pool", workers, 25, device)
    assert (p.executor, p.workers, p.threads) == ("stacked-pool", *planned)


def test_before_a_pool_takes_the_gpus_this_process_gives_its_gpu_memory_back(monkeypatch):
    """What the driver trained on a GPU before it handed over (its cached data set, the memory
    the caching allocator keeps) is given back before the pool's workers start; on the CPU
    nothing is touched."""
    from layerorder.experiment.execution import executors
    from layerorder.experiment.training.run_data import cached_dataset

    cached_dataset("synthetic", (("num_samples", 40),), "cpu")
    emptied = []
    monkeypatch.setattr(executors.torch.cuda, "empty_cache", lambda: emptied.append(True))
    monkeypatch.setattr(executors.torch.cuda, "is_initialized", lambda: False)
    executors._free_this_process_gpu()
    assert cached_dataset.cache_info().currsize >= 1 and not emptied  # no GPU in use
    monkeypatch.setattr(executors.torch.cuda, "is_initialized", lambda: True)
    executors._free_this_process_gpu()
    assert cached_dataset.cache_info().currsize == 0 and emptied == [True]


def test_a_command_on_a_gpu_of_several_sees_only_its_own(no_thread_cap):
    from pathlib import Path

    from layerorder.experiment.configuration.config import make_config
    from layerorder.experiment.training.user_runs import command_environment

    run = make_config({"command": "x {order}", "metric": "m"}).runs()[0]
    env = command_environment(run, "cuda:1", "m", Path("/tmp/r"), Path("/tmp/r/m.jsonl"), 2)
    assert env["CUDA_VISIBLE_DEVICES"] == "1" and env["LAYERORDER_DEVICE"] == "cuda"
    assert env["OMP_NUM_THREADS"] == "2"
    # the driver's own OMP_NUM_THREADS caps what the command gets, never raises it
    no_thread_cap.setenv("OMP_NUM_THREADS", "1")
    env = command_environment(run, "cpu", "m", Path("/tmp/r"), Path("/tmp/r/m.jsonl"), 2)
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"


@pytest.mark.parametrize("start, epochs, here, note", [
    (1e9, 2, [True, True, True], ""),  # a pool never pays: every run in this process
    (0.0, 2, [False, False, False], "the 3 left"),  # decided at the first run's second epoch
    (0.0, 1, [True, False, False], "the 2 left"),  # one epoch: decided when the run ends
])
def test_auto_trains_here_until_a_pool_would_finish_sooner(tmp_path, monkeypatch, start, epochs,
                                                           here, note):
    """``auto`` trains in this process and weighs a pool's start against the time the runs left
    would take, from a run's second epoch on and after each run; once a pool pays, the runs
    left (the one in progress too) go to its spawned workers, and the note says so once."""
    from layerorder.experiment.execution import executors

    monkeypatch.setattr(executors, "available_cores", lambda: 2)  # a pool is possible anywhere
    monkeypatch.setattr(executors, "POOL_START_SECONDS", start)
    notes = Notes()
    with Store.open(tmp_path / "s.db") as store:
        summary = run_sweep(_config(executor="auto", seeds=3, epochs=epochs), store,
                            observer=notes)
        runs = sorted(store.runs(summary.experiment.id), key=lambda r: r.id)
        stored = [[e.epoch for e in store.epochs(r.id)] for r in runs]
    assert summary.plan.executor == "auto" and [r.status for r in runs] == ["done"] * 3
    assert [r.provenance["pid"] == os.getpid() for r in runs] == here
    # a run handed over is trained once, from its start: charged one try, its epochs once
    assert all(r.attempts == 1 for r in runs) and stored == [list(range(1, epochs + 1))] * 3
    switched = [line for line in notes.lines if "left go to a process pool" in line]
    assert len(switched) == bool(note) and (not note or f"{note} go to a process pool" in
                                            switched[0])


def test_the_rule_of_auto_is_the_time_a_pool_saves_against_its_start():
    """A pool of n saves left x seconds x (1 - 1/n); it pays once that exceeds its start."""
    from layerorder.experiment.execution.executors import POOL_START_SECONDS, pool_pays

    per_run = POOL_START_SECONDS / 4  # 2 workers save half of each run left
    assert not pool_pays(per_run, 8, 2)  # saves exactly the start: no gain
    assert pool_pays(per_run, 9, 2)
    assert pool_pays(per_run, 6, 4)  # 6 x start/4 x 3/4 = 1.125 starts
    assert not pool_pays(1e6, 1, 2)  # one run left: a pool of one saves nothing


def test_a_pool_that_cannot_start_fails_the_sweep_not_the_run(tmp_path, monkeypatch):
    """The hand-over is decided inside a run and the pool started outside it: a pool that
    cannot start (out of processes) stops the sweep with its error, and the run is handed back
    to the store, not stored as failed."""
    from layerorder.experiment.execution import executors

    def cannot(self):
        raise OSError("no more processes")

    monkeypatch.setattr(executors, "available_cores", lambda: 2)
    monkeypatch.setattr(executors, "POOL_START_SECONDS", 0.0)
    monkeypatch.setattr(executors.ProcessExecutor, "start", cannot)
    with Store.open(tmp_path / "s.db") as store:
        with pytest.raises(OSError, match="no more processes"):
            run_sweep(_config(executor="auto", seeds=3, epochs=2), store)
        runs = store.runs(store.experiments()[0].id)
    assert [r.status for r in runs] == ["pending"] * 3


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_every_executor_kind_plans_describes_and_is_made_as_its_facts_say(device, monkeypatch):
    """Each ``--executor`` value has one way (``executors.WAYS``), and what it plans agrees with
    its declared facts: a pool kind plans one worker per core on a CPU, a pull kind and Ray train
    nothing here, and only the kinds the runner trains in this process are made by
    ``make_executor``, into an executor that stacks where the kind says it does."""
    from layerorder.experiment.configuration.settings import EXECUTOR_KINDS, EXECUTORS
    from layerorder.experiment.execution import executors

    monkeypatch.setattr(executors, "available_cores", lambda: 4)
    monkeypatch.setattr(executors.torch.cuda, "device_count", lambda: 1)
    assert set(executors.WAYS) == set(EXECUTORS)
    for kind in EXECUTOR_KINDS:
        p = executors.plan(kind.name, None, 25, device)
        assert p.describe()  # says itself in a line
        if executors.WAYS[kind.name].make is None:  # trains elsewhere: Ray, or pull workers
            assert p.workers in (0, executors.SLURM_ARRAY_MOST) and p.threads == 1
            with pytest.raises(ValueError, match="trains elsewhere"):
                executors.make_executor(p)
            continue
        assert p.workers * p.threads <= 4  # never more threads than cores
        if kind.pool and device == "cpu":
            assert (p.workers, p.threads) == (4, 1)
        made = executors.make_executor(p)
        stacking = isinstance(made, (executors.StackedExecutor, executors.StackedPoolExecutor))
        assert stacking == kind.stacks
        pool = isinstance(made, (executors.ProcessExecutor, executors.AdaptiveExecutor))
        assert pool == (kind.pool and p.executor == kind.name)  # auto on CUDA: sequential
    assert executors.plan("process", 3, 2, "cpu").workers == 2  # never more workers than runs
    assert executors.plan("slurm", None, 5, "cpu").workers == 5
