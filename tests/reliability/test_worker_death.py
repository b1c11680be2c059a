"""A pool worker that dies charges only the run it held; the other workers keep training."""

import os
import signal

import pytest

from layerorder.experiment.configuration.config import make_config
from layerorder.experiment.execution.executors import ProcessExecutor
from layerorder.experiment.execution.worker import RunTask
from tests.gate import ENV, HERE, make_gate, open_gate
from tests.reliability.processes import children, zombie


def _task(run_id: int, epochs: int, gated: bool = False) -> RunTask:
    """A tiny run; ``gated``: the gated model of ``tests/gate.py``, which waits at the gate."""
    model = {"model": f"{HERE}:model", "orders": ["as-is"]} if gated else {"orders": ["standard"]}
    config = make_config(
        {
            "dataset": "synthetic",
            "data_options": {"num_samples": 400},
            "arch": "mlp",
            "width": 8,
            "epochs": epochs,
            "batch_size": 16,
            "seeds": [run_id],
            **model,
        }
    )
    (run,) = config.runs()
    return RunTask(run_id, run.order, run.to_dict())


@pytest.mark.slow
def test_only_the_killed_workers_run_is_charged(tmp_path, monkeypatch):
    """Run 2 waits at the gate (``tests/gate.py``) while run 1's worker is killed three times,
    so it is in flight at every kill; the gate opens after the last."""
    gate = make_gate(tmp_path / "gate")
    monkeypatch.setenv(ENV, str(gate))  # the workers inherit it
    executor = ProcessExecutor(workers=2, threads=1)
    killed: list[int] = []
    neighbour: list[int | None] = []  # the worker of run 2 at each kill

    def progress(p):
        # kill only once run 2 is in flight (on a busy machine run 1's first epoch can end
        # before run 2 has been handed to the other worker)
        started = executor.worker_pid(2) is not None or killed
        if p.run_id == 1 and started and len(killed) < ProcessExecutor.max_tries:
            pid = executor.worker_pid(1)
            neighbour.append(executor.worker_pid(2))
            killed.append(pid)
            os.kill(pid, signal.SIGKILL)
            if len(killed) == ProcessExecutor.max_tries:
                open_gate(gate)

    tasks = iter([_task(1, epochs=3), _task(2, epochs=3, gated=True)])
    outcomes = {o.run_id: o for o in executor.execute(tasks, progress)}
    assert len(set(killed)) == 3  # three different workers ran run 1
    assert outcomes[1].status == "failed"
    assert "died (killed by SIGKILL) 3 times" in outcomes[1].error
    # run 2 was in flight at the first kill and finished on the worker it started on
    assert neighbour[0] is not None and outcomes[2].status == "done", outcomes[2].error
    assert outcomes[2].provenance["pid"] == neighbour[0]


def test_a_worker_killed_once_is_retried_and_the_pool_leaves_no_process():
    executor = ProcessExecutor(workers=2, threads=1)
    pids: set[int] = set()

    def progress(p):
        pid = executor.worker_pid(p.run_id)
        if pid is not None:
            pids.add(pid)
        if p.run_id == 1 and p.epoch == 1 and len(pids) <= 2:
            os.kill(executor.worker_pid(1), signal.SIGKILL)

    outcomes = list(executor.execute(iter([_task(1, 2), _task(2, 2)]), progress))
    assert sorted(o.status for o in outcomes) == ["done", "done"]
    for pid in pids:  # every worker has ended and been reaped
        assert not os.path.exists(f"/proc/{pid}") or zombie(pid) is False
    assert not children(os.getpid(), tracker=False)


def test_a_worker_that_dies_idle_costs_no_run():
    executor = ProcessExecutor(workers=2, threads=1)

    def tasks():
        yield _task(1, 2)
        idle = executor._pool[1]  # the first task went to worker 0; worker 1 is idle
        os.kill(idle.process.pid, signal.SIGKILL)
        idle.process.join()
        yield _task(2, 2)

    outcomes = {o.run_id: o for o in executor.execute(tasks(), None)}
    assert [outcomes[i].status for i in (1, 2)] == ["done", "done"], outcomes
