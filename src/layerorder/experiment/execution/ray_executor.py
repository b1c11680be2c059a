"""``--executor ray``: every run is a Ray task; the driver alone writes the store.

Connects to ``--ray-address`` (or ``RAY_ADDRESS``), or starts a local Ray. The data set goes into
Ray's object store once per distinct data configuration, not once per task. Tasks are submitted
as the cluster has room (runs are claimed from the store only then), and outcomes stream back as
runs finish. A task whose worker dies (crash, node loss) is retried by Ray up to ``max_retries``
times, then stored as failed. Interrupting the driver cancels the outstanding tasks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from layerorder.errors import ConfigError
from layerorder.experiment.configuration.settings import is_user_run
from layerorder.experiment.execution.executors import Executor, ProgressFn
from layerorder.experiment.execution.worker import RunOutcome, RunTask, execute
from layerorder.experiment.training.run_data import load_run_data


def require_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--executor ray needs Ray; install it with: pip install 'layerorder[ray]'"
        ) from None
    return ray


def _run_on_ray(task: RunTask, data, shipped: bytes | None = None) -> RunOutcome:
    """What a Ray worker runs: the same ``execute`` as every other executor."""
    from layerorder.experiment.execution.shipping import install

    install(shipped)
    return execute(task, data=data)


class RayExecutor(Executor):
    name = "ray"

    def __init__(
        self,
        *,
        address: str | None = None,
        cpus_per_run: float = 1.0,
        gpus_per_run: float = 0.0,
        max_retries: int = 2,
        local_cpus: int | None = None,
        shipped: bytes | None = None,
    ):
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.cpus_per_run, self.gpus_per_run = cpus_per_run, gpus_per_run
        self.max_retries, self.local_cpus = max_retries, local_cpus
        self.started_ray = False
        self.shipped = shipped  # user data / model factory the workers install first

    def connect(self):
        """Start or reach Ray (idempotent); raises ``ConfigError`` when that fails."""
        ray = require_ray()
        if not ray.is_initialized():
            kwargs = {"include_dashboard": False, "log_to_driver": False}
            try:
                if self.address:
                    ray.init(address=self.address, **kwargs)
                else:
                    ray.init(num_cpus=self.local_cpus, **kwargs)
                    self.started_ray = True
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"the Ray cluster at '{self.address}'" if self.address else "a local Ray"
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ConfigError(
                    f"cannot start or reach {where}: {first}; check --ray-address / RAY_ADDRESS"
                ) from None
        return ray

    def slots(self, ray) -> int:
        cpus = ray.cluster_resources().get("CPU", 1.0)
        gpus = ray.cluster_resources().get("GPU", 0.0)
        n = int(cpus // self.cpus_per_run) if self.cpus_per_run else 1_000
        if self.gpus_per_run:
            n = min(n, int(gpus // self.gpus_per_run))
        if n < 1:
            raise ConfigError(
                f"the Ray cluster has {cpus:g} CPUs and {gpus:g} GPUs: too few for"
                f" --cpus-per-run {self.cpus_per_run:g} --gpus-per-run {self.gpus_per_run:g}"
            )
        return n

    def execute(self, tasks: Iterator[RunTask], progress: ProgressFn | None = None):
        ray = self.connect()
        remote = ray.remote(
            num_cpus=self.cpus_per_run, num_gpus=self.gpus_per_run, max_retries=self.max_retries
        )(_run_on_ray)
        slots, data_refs = self.slots(ray), {}
        shipped = None if self.shipped is None else ray.put(self.shipped)
        threads = max(1, int(self.cpus_per_run))
        inflight: dict = {}
        try:
            exhausted = False
            while True:
                while not exhausted and len(inflight) < slots:
                    task = next(tasks, None)
                    if task is None:
                        exhausted = True
                        break
                    ref = remote.remote(
                        _with_threads(task, threads), self._data(ray, task, data_refs), shipped
                    )
                    inflight[ref] = task
                if not inflight:
                    return
                done, _ = ray.wait(list(inflight), num_returns=1, timeout=1.0)
                for ref in done:
                    yield _outcome(ray, ref, inflight.pop(ref))
        finally:
            for ref in inflight:
                ray.cancel(ref, force=True)
            if self.started_ray:
                ray.shutdown()

    def _data(self, ray, task: RunTask, refs: dict):
        cfg = task.run_config
        if is_user_run(cfg):  # the user's own run brings its own data
            return None
        key = (cfg.dataset, tuple(sorted(cfg.data_options.items())), task.device)
        if key not in refs:  # one copy in the object store per data configuration
            refs[key] = ray.put(load_run_data(cfg, "cpu"))
        return refs[key]


def _with_threads(task: RunTask, threads: int) -> RunTask:
    from dataclasses import replace

    return replace(task, threads=threads)


def _outcome(ray, ref, task: RunTask) -> RunOutcome:
    try:
        return ray.get(ref)
    except Exception as exc:  # the task died more often than it may be retried
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return RunOutcome(task.run_id, "failed", error=f"{type(exc).__name__}: {first}")
