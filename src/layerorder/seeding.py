"""Seeding torch for one run: the generators of the run's own device, and no others.

``torch.manual_seed`` reseeds every accelerator's generators and, on a machine whose CUDA has not
started yet, queues a reseed of every GPU for when it starts: in a caller's process (a notebook,
``compare(train=fn)``) that queued call outlives any scope that saves and restores generators
(``experiment.training.scope.run_scope``) and overrides the caller's own seed later.
"""

from __future__ import annotations

import torch


def seed_run(seed: int, device: str | torch.device) -> None:
    """What ``torch.manual_seed`` does for a run on ``device``, and no more: the CPU's
    generator, and every CUDA generator for a run on a GPU. A run on the CPU gets the same
    numbers either way."""
    torch.default_generator.manual_seed(seed)
    if torch.device(device).type == "cuda":
        torch.cuda.manual_seed_all(seed)
