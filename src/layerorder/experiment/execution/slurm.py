"""``--executor slurm``: each round's runs are trained by pull workers (``execution.pull``)
submitted as one SLURM job array through submitit; the driver stores the round, waits while the
array drains it, and analyses.

Every array task runs the same thing, ``pull.work`` on the driver's store and experiment, as
``sbatch --array=0-N layerorder worker …`` would (``docs/scaling.md`` has that script for users
who submit by hand). The store must be one that every node reaches: a PostgreSQL URL, or an
SQLite file on a file system with working locks (not NFS). ``--slurm-cluster local`` runs the same
jobs as processes on this machine through submitit's local executor.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from layerorder.errors import ConfigError

LOG_FOLDER = "layerorder-slurm"  # submitit's job scripts and logs, under the driver's folder


@contextlib.contextmanager
def _quiet_submitit() -> Iterator[None]:
    """submitit's warnings off while the jobs' states are polled: where SLURM keeps no
    accounting (no ``sacct``) it warns at every poll, on stdout, which carries the command's
    JSON. Its level is restored after."""
    logger = logging.getLogger("submitit")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _submitit() -> Any:
    """submitit, imported without its logging set-up. At import it calls
    ``logging.config.dictConfig``, which closes every logging handler the process has (the
    user's, a notebook's, a test runner's); ``SUBMITIT_LOG_LEVEL=NOCONFIG`` (its own switch) is
    set for the import alone, unless the user set the variable."""
    if "submitit" in sys.modules:
        return sys.modules["submitit"]
    unset = "SUBMITIT_LOG_LEVEL" not in os.environ
    if unset:
        os.environ["SUBMITIT_LOG_LEVEL"] = "NOCONFIG"
    try:
        import submitit
    finally:
        if unset:
            os.environ.pop("SUBMITIT_LOG_LEVEL", None)
    return submitit


def require_submitit(cluster: str) -> None:
    """Refuse ``--executor slurm`` where it cannot submit, before anything is stored."""
    try:
        _submitit()
    except ImportError as exc:
        raise ConfigError("--executor slurm needs submitit; install it with"
                          " pip install 'layerorder[slurm]'") from exc
    if cluster == "slurm" and shutil.which("sbatch") is None:
        raise ConfigError("--executor slurm: no SLURM here (sbatch is not on PATH); run it on a"
                          " node that can submit jobs, or pass --slurm-cluster local to run the"
                          " same jobs as processes on this machine")


class WorkerArray:
    """The jobs of one round: submitted together, watched, cancelled on an interrupt."""

    def __init__(self, jobs: Sequence[Any], folder: Path) -> None:
        self.jobs, self.folder = list(jobs), folder

    def ended(self) -> str | None:
        """Why no job is left to finish the round (every job ended), else None."""
        with _quiet_submitit():
            if not all(job.done() for job in self.jobs):
                return None
        states = sorted({str(job.state) for job in self.jobs})
        return (f"all {len(self.jobs)} SLURM jobs ended ({', '.join(states)}); their logs are"
                f" in {self.folder}")

    def cancel(self) -> None:
        for job in self.jobs:
            if not job.done():
                job.cancel(check=False)


def submit_workers(store: str, experiment: int, count: int, *, cluster: str,
                   partition: str | None, minutes: int, device: str, lease: float,
                   run_timeout: float | None) -> WorkerArray:
    """Submit ``count`` pull workers for ``experiment`` as one job array."""
    from layerorder.experiment.execution.pull import work

    submitit = _submitit()
    folder = Path(LOG_FOLDER) / f"experiment-{experiment}"
    executor = submitit.AutoExecutor(folder=folder / "%j", cluster=cluster)
    parameters: dict[str, Any] = {"timeout_min": minutes, "tasks_per_node": 1,
                                  "name": f"layerorder-{experiment}"}
    if cluster == "slurm" and partition:
        parameters["slurm_partition"] = partition
    # At the time limit SLURM sends SIGTERM (then SIGKILL after its KillWait): the worker, whose
    # handler replaces submitit's while it works, hands its run back (``pull._stop_on_sigterm``).
    executor.update_parameters(**parameters)
    with executor.batch():
        jobs = [executor.submit(work, store, experiment=str(experiment), device=device,
                                lease=lease, run_timeout=run_timeout) for _ in range(count)]
    return WorkerArray(jobs, folder)
