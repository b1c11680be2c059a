"""A pool worker's entry point, kept apart from the pool so that a spawned worker imports nothing
heavy before it is tied to its driver: unpickling the entry point imports this module (and the
light ``lifeline``) alone; torch and the training code come after ``die_with_parent``. A driver
killed while its workers are still importing torch (a minute on a loaded machine) leaves none
behind.
"""

from __future__ import annotations

import signal

from layerorder.experiment.execution.lifeline import die_with_parent


def worker_main(conn, shipped: bytes | None, driver: int, threads: int | None) -> None:
    """A pool worker: die with the driver, install what it shipped, then train the runs it
    is sent one at a time, sending progress and the outcome back over its pipe. An install
    that fails is reported by every run this worker is given."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group:
    die_with_parent(driver)  # the driver alone decides when its workers stop
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
