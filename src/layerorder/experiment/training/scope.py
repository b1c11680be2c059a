"""A run's own thread count, random state and current GPU, the caller's again afterwards.

Every way a run trains in a caller's process goes through ``run_scope``: the sequential and
stacked executors (``experiment.execution``), and ``probe_orders`` (``training.probing``). Runs
seed torch with ``layerorder.seeding.seed_run``, which touches only their own device's generators.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from layerorder.experiment.training.threads import capped


@contextlib.contextmanager
def run_scope(threads: int | None, device: str) -> Iterator[None]:
    """A run's own thread count (``threads``, at most what the environment allows:
    ``training.threads.capped``), random state and current GPU, the caller's again afterwards: a
    run trained in the user's own process (the sequential executor, a notebook) seeds torch's
    generators and may set its threads, and must leave neither changed. A run on one GPU of
    several (``cuda:1``, as a pool worker's is) makes it the current device while it trains, so
    that nothing of it (a generator, cuDNN's workspace, a tensor made on plain ``cuda``) lands
    on GPU 0."""
    before = torch.get_num_threads()
    # torch.manual_seed reseeds every CUDA device, so every one in use is saved and restored;
    # a device that cannot be read (a bad 'cuda:N') fails inside the run, as a failed outcome
    try:
        on = torch.device(device)
        in_use = torch.cuda.is_initialized() or on.type == "cuda"
        gpus = torch.cuda.device_count()
        forked = list(range(gpus)) if in_use else []
        named = on.type == "cuda" and on.index is not None and on.index < gpus
        current = torch.cuda.device(on.index) if named else None
    except (RuntimeError, AssertionError):
        forked, current = [], None
    with torch.random.fork_rng(devices=forked, device_type="cuda"), _other_accelerator(), (
            current if current is not None else contextlib.nullcontext()):
        try:
            if threads:
                torch.set_num_threads(capped(threads))
            yield
        finally:
            torch.set_num_threads(before)


def _other_accelerator() -> contextlib.AbstractContextManager:
    """torch.manual_seed (in a user's own code, a model factory) reseeds the generators of an
    accelerator other than CUDA too (Apple's MPS, Intel's XPU), whenever one is present: on such
    a machine they are saved and restored as well. Nothing on a torch without
    ``torch.accelerator`` (before 2.6), or where the accelerator cannot be read."""
    try:
        current = torch.accelerator.current_accelerator()
        if current is None or current.type not in ("mps", "xpu"):
            return contextlib.nullcontext()
        devices = range(torch.get_device_module(current.type).device_count())
    except (AttributeError, RuntimeError, AssertionError):
        return contextlib.nullcontext()
    return torch.random.fork_rng(devices=devices, device_type=current.type)
