"""``layerorder.seeding``: a run seeds its own device's generators and no others."""

import pytest
import torch

from layerorder import seeding


@pytest.mark.parametrize("device,gpus_seeded", [("cpu", []), ("cuda", [5]), ("cuda:1", [5])])
def test_a_run_seeds_the_gpus_only_when_it_runs_on_one(monkeypatch, device, gpus_seeded):
    """A CPU run seeds the CPU's generator alone: ``torch.manual_seed`` would also queue a
    reseed of every GPU on a machine whose CUDA has not started, for the caller to inherit."""
    seeded = []
    monkeypatch.setattr(seeding.torch.cuda, "manual_seed_all", seeded.append)
    with torch.random.fork_rng(devices=[]):
        seeding.seed_run(5, device)
        drawn = torch.rand(3)
    assert seeded == gpus_seeded
    assert torch.equal(drawn, torch.rand(3, generator=torch.Generator().manual_seed(5)))
