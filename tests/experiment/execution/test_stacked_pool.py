"""The stacked pool: each pool worker trains stacks of seeds; the runs are those trained alone."""

import os
import re
import signal

import pytest

from layerorder.experiment.configuration.config import make_config
from layerorder.experiment.execution.executors import (
    SequentialExecutor,
    StackedPoolExecutor,
    stacks,
)
from layerorder.experiment.execution.worker import RunTask
from layerorder.store import Store
from tests.helpers import run_cli
from tests.reliability.processes import children


def _tasks(orders=("standard", "act-first"), seeds=3, epochs=2, **extra) -> list[RunTask]:
    config = make_config({
        "dataset": "mnist1d", "data_options": {"num_samples": 400}, "arch": "cnn1d",
        "width": 8, "depth": 2, "epochs": epochs, "batch_size": 50, "orders": list(orders),
        "seeds": seeds, **extra,
    })
    return [RunTask(i + 1, run.order, run.to_dict()) for i, run in enumerate(config.runs())]


def _tiny(run_id: int, seed: int, order: str = "standard") -> RunTask:
    config = make_config({"dataset": "synthetic", "arch": "mlp", "orders": [order],
                          "seeds": [seed]})
    (run,) = config.runs()
    return RunTask(run_id, run.order, run.to_dict())


def test_stacks_keep_a_configuration_together_and_give_every_worker_one():
    tasks = [_tiny(10 * o + s, s, order) for o, order in
             enumerate(["standard", "act-first", "preact", "drop-before-bn", "no-norm"])
             for s in range(5)]
    two = stacks(tasks, most=32, parts=2)
    # five stacks of 5 would leave one worker 15 runs and the other 10: 3 + 2 shares evenly
    assert [len(s) for s in two] == [3] * 5 + [2] * 5
    assert [len(s) for s in stacks(tasks, most=32, parts=5)] == [5] * 5  # one each
    for stack in two:
        assert len({t.label for t in stack}) == 1  # the seeds of one configuration
    eight = stacks(tasks, most=32, parts=8)
    assert sorted(len(s) for s in eight) == [2] * 5 + [3] * 5  # cut to fill eight workers
    assert [len(s) for s in eight] == sorted((len(s) for s in eight), reverse=True)
    small = stacks(tasks, most=2, parts=1)
    assert max(len(s) for s in small) == 2
    for cut in (two, eight, small):  # every run once
        assert sorted(t.run_id for s in cut for t in s) == sorted(t.run_id for t in tasks)
    assert stacks([], most=32, parts=2) == []
    assert [len(s) for s in stacks(tasks[:3], most=0, parts=8)] == [1, 1, 1]
    uneven = stacks([_tiny(i, i) for i in range(10)] + [_tiny(20, 0, "preact")], 32, parts=1)
    assert [len(s) for s in uneven] == [10, 1]  # no cut where one stack per part is enough


def test_a_stacked_pool_trains_each_run_as_it_trains_alone():
    """Exact mode on the CPU: every epoch's losses and accuracies of every run equal the
    sequential executor's at the same thread count, bit for bit, and the runs of a stack
    were trained together in one worker."""
    tasks = _tasks()
    alone = {o.run_id: o for o in SequentialExecutor(threads=1).execute(iter(tasks))}
    notes: list[str] = []
    pool = StackedPoolExecutor(workers=2, threads=1, mode="exact", on_note=notes.append)
    stacked = {o.run_id: o for o in pool.execute(iter(tasks))}
    assert notes == []  # a mode the user names is not announced
    assert set(stacked) == set(alone)
    for run_id, outcome in stacked.items():
        assert outcome.status == "done", outcome.error
        assert _numbers(outcome) == _numbers(alone[run_id])
        assert outcome.provenance["stacked_with"] == 3
        assert outcome.provenance["stack_mode"] == "exact"
    pids = {o.provenance["pid"] for o in stacked.values()}
    assert len(pids) == 2 and os.getpid() not in pids  # two workers, one stack each
    assert not children(os.getpid(), tracker=False)


def _numbers(outcome) -> list[tuple]:
    return [(e.epoch, e.train_loss, e.train_acc, e.test_loss, e.test_acc, e.lr)
            for e in outcome.epochs]


def test_a_model_that_cannot_be_stacked_is_trained_run_by_run_in_the_worker_with_a_note():
    notes: list[str] = []
    tasks = _tasks(orders=("standard",), seeds=2, probe=True)  # one stack of two seeds
    pool = StackedPoolExecutor(workers=1, threads=1, on_note=notes.append)
    outcomes = list(pool.execute(iter(tasks)))
    assert sorted(o.status for o in outcomes) == ["done", "done"]
    assert all(o.probes for o in outcomes)  # trained alone, with their probes
    assert any("not stacked (probes" in n for n in notes), notes
    assert notes[0].startswith("stack mode auto: exact on cpu")  # auto says what it chose


def test_a_worker_killed_during_its_stack_tries_its_runs_again_in_halves():
    """Killed at the stack's first epoch (of 30: the stack is still training), each run of it is
    charged one try and trained again, the halves of the stack by fresh workers: a stack that
    is too large for memory shrinks until it fits."""
    tasks = _tasks(orders=("standard", "act-first"), seeds=2, epochs=30)  # runs 1, 3: standard
    pool = StackedPoolExecutor(workers=2, threads=1)
    killed: list[int] = []

    def progress(p):
        if p.run_id == 1 and not killed:
            killed.append(pool.worker_pid(1))
            assert pool.worker_pid(3) == killed[0]  # its stack's other run, in the same worker
            os.kill(killed[0], signal.SIGKILL)

    outcomes = {o.run_id: o for o in pool.execute(iter(tasks), progress)}
    assert sorted(outcomes) == [1, 2, 3, 4]
    assert all(o.status == "done" for o in outcomes.values()), outcomes
    for run_id in (1, 3):  # trained again, each half (one run) by a fresh worker
        assert outcomes[run_id].provenance["pid"] != killed[0]
        assert outcomes[run_id].provenance["stacked_with"] == 1
        assert outcomes[run_id].provenance["executor"] == "stacked-pool"
    assert not children(os.getpid(), tracker=False)


def test_compare_with_a_stacked_pool_from_the_cli(tmp_path, capsys):
    db = tmp_path / "s.db"
    code, out, err = run_cli(
        capsys, "compare", "--dataset", "synthetic", "--arch", "mlp", "--width", "8",
        "--epochs", "1", "--order", "standard,act-first", "--seeds", "2",
        "--executor", "stacked-pool", "--workers", "2", "--stack-mode", "batched",
        "--store", db, "--no-report")
    assert code == 0, err
    assert re.search(r"2 workers x \d+ threads?, each training", out + err)  # the plan
    with Store.open(db) as store:
        runs = store.runs(store.experiments()[0].id)
    assert [r.status for r in runs] == ["done"] * 4
    assert {r.provenance["stack_mode"] for r in runs} == {"batched"}
    assert {r.provenance["stacked_with"] for r in runs} == {2}


@pytest.mark.parametrize("flags,message", [
    (["--executor", "stacked-pool", "--command", "python x.py {out}", "--metric", "acc"],
     "--executor stacked-pool trains the built-in models side by side"),
    (["--executor", "process", "--stack-mode", "batched"],
     "--stack-mode batched needs --executor stacked or stacked-pool, not process"),
])
def test_a_stacked_pool_where_it_cannot_apply_is_a_one_line_error(tmp_path, capsys, flags,
                                                                 message):
    code, _, err = run_cli(capsys, "compare", "--dataset", "synthetic", "--epochs", "1",
                           "--store", tmp_path / "s.db", "--no-report", *flags)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_compare_with_a_stacked_pool_from_python(tmp_path):
    import layerorder

    res = layerorder.compare(store=tmp_path / "s.db", dataset="synthetic", arch="mlp", width=8,
                             epochs=1, orders=["standard"], seeds=3, executor="stacked-pool",
                             workers=2, progress=False)
    assert [r.status for r in res.runs] == ["done"] * 3
    assert sorted(r.provenance["stacked_with"] for r in res.runs) == [1, 2, 2]  # one per worker


def test_on_a_gpu_a_stacked_pool_has_one_worker_per_gpu(monkeypatch):
    import layerorder.experiment.execution.executors as executors

    monkeypatch.setattr(executors, "available_cores", lambda: 16)
    monkeypatch.setattr(executors.torch.cuda, "device_count", lambda: 4)
    assert executors.plan("stacked-pool", None, 25, "cuda").workers == 4
    assert executors.plan("stacked-pool", 2, 25, "cuda").workers == 2  # --workers decides
    assert executors.plan("stacked-pool", None, 25, "cpu").workers == 16  # one per core


def test_what_auto_chose_is_said_once_however_many_rounds():
    notes: list[str] = []
    pool = StackedPoolExecutor(workers=1, threads=1, on_note=notes.append)
    pool.kept = True  # kept between rounds, as --until-decided keeps it
    try:
        for seeds in ((0,), (1,)):
            tasks = _tasks(orders=("standard",), seeds=list(seeds), epochs=1)
            assert [o.status for o in pool.execute(iter(tasks))] == ["done"]
    finally:
        pool.close()
    assert [n for n in notes if n.startswith("stack mode auto")] == [
        "stack mode auto: exact on cpu (each seed's own convolution and linear calls: the runs"
        " equal those trained alone)"]


def test_an_error_in_stacked_training_fails_that_stack_and_keeps_its_worker():
    """Not a StackingError (so not trained run by run): the stack's runs are stored failed with
    the error, and the same worker trains the next stack."""
    good = _tasks(orders=("standard",), seeds=2, epochs=1)
    bad = [RunTask(10 + t.run_id, "broken", {**t.config, "dataset": "no-such-data"})
           for t in _tasks(orders=("act-first",), seeds=2, epochs=1)]
    pool = StackedPoolExecutor(workers=1, threads=1)
    outcomes = {o.run_id: o for o in pool.execute(iter(bad + good))}
    for task in bad:
        assert outcomes[task.run_id].status == "failed"
        assert outcomes[task.run_id].error.startswith("DatasetError: unknown data set")
    assert [outcomes[t.run_id].status for t in good] == ["done", "done"]
    assert len({o.provenance["pid"] for o in outcomes.values() if o.provenance}) == 1
