"""A pool worker's entry point, kept apart from the pool so that a spawned worker imports nothing
heavy before it is tied to its driver: unpickling the entry point imports this module (and the
light ``lifeline``) alone; torch and the training code come after ``die_with``. A driver killed
while its workers are still importing torch (a minute on a loaded machine) leaves none behind.
A worker forked by the pool's fork server (``fork_server.py``) has them imported already.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from dataclasses import dataclass

from layerorder.experiment.execution.lifeline import die_with


@dataclass(frozen=True)
class Stack:
    """Runs that differ in their seed alone, for one worker to train as one stacked model
    (``--executor stacked-pool``); ``mode`` is the ``stack_mode`` setting."""

    tasks: tuple  # of RunTask (not imported here: this module stays light)
    mode: str = "auto"
    executor: str = "stacked-pool"  # the name stored in each run's provenance


def _take_environment(environ: dict[str, str]) -> None:
    """The driver's environment in this worker. A spawned worker has it already; one forked from
    the fork server has the server's: the driver's when the server started, plus what the
    server's imports set (torch's own defaults, kept unless the driver sets them too)."""
    server = sys.modules.get("layerorder.experiment.execution.fork_server")
    for name in (server.INHERITED if server is not None else ()):
        if name not in environ:  # removed in the driver since the server started
            os.environ.pop(name, None)
    os.environ.update(environ)


def worker_main(conn, shipped: bytes | None, driver: int, threads: int | None,
                environ: dict[str, str] | None = None) -> None:
    """A pool worker: die with the driver, take its environment (``environ``, as it was when the
    worker was started: ``_take_environment``), install what it shipped, then train what it is
    sent, one run or one ``Stack`` at a time, sending progress, notes and an outcome per run back
    over its pipe. An install that fails is reported by every run this worker is given."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group:
    die_with(driver)  # the driver alone decides when its workers stop
    if environ is not None:
        _take_environment(environ)
    from dataclasses import replace  # the rest only once this worker is tied to its driver

    from layerorder.experiment.execution.shipping import install
    from layerorder.experiment.execution.worker import RunOutcome, execute

    try:
        install(shipped)
        install_error = None
    except Exception as exc:  # the user's pickled objects cannot be rebuilt here
        install_error = f"cannot load the shipped data set or model: {type(exc).__name__}: {exc}"

    def send(p) -> None:
        conn.send(("progress", p))

    def note(text: str) -> None:
        conn.send(("note", text))

    def stacked(stack: Stack) -> None:
        """Each run of ``stack`` done; a bug in stacked training fails the runs it left
        without an outcome, with its traceback (not hidden, and no worker lost to it)."""
        from layerorder.experiment.execution.stacked_runs import train_stack  # a pool of
        # single runs never imports the stacking code
        left = {t.run_id for t in stack.tasks}
        try:
            tasks = [replace(t, threads=threads) for t in stack.tasks]
            for outcome in train_stack(tasks, send, stack.mode, note, stack.executor):
                conn.send(("done", outcome))
                left.discard(outcome.run_id)  # once sent: an outcome that cannot be sent fails
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"
            for run_id in sorted(left):
                conn.send(("done", RunOutcome(run_id, "failed", error=error)))

    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the driver is gone
            return
        if task is None:
            return
        runs = task.tasks if isinstance(task, Stack) else (task,)
        if install_error is not None:
            for run in runs:
                conn.send(("done", RunOutcome(run.run_id, "failed", error=install_error)))
        elif isinstance(task, Stack):
            stacked(task)
        else:
            conn.send(("done", execute(replace(task, threads=threads), send)))
