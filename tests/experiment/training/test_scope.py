"""``training.scope.run_scope``: what a run may change is the caller's again afterwards, and a run
on one GPU of several makes that GPU the current device while it trains (stubbed CUDA: the
machines these tests run on have none; ``benchmarks/gpu_check.sh`` runs the real thing)."""

import contextlib

import pytest
import torch

from layerorder.experiment.training import scope


@pytest.fixture
def two_gpus(monkeypatch):
    """torch.cuda with two devices: which device each run made current, and which generators
    it forked."""
    seen = {"current": [], "forked": [], "inside": None}

    @contextlib.contextmanager
    def device(index):
        seen["inside"] = index  # current from here until the run's scope ends
        seen["current"].append(index)
        yield
        seen["inside"] = None

    @contextlib.contextmanager
    def fork_rng(devices):
        seen["forked"].append(list(devices))
        yield

    monkeypatch.setattr(scope.torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(scope.torch.cuda, "is_initialized", lambda: False)
    monkeypatch.setattr(scope.torch.cuda, "device", device)
    monkeypatch.setattr(scope.torch.random, "fork_rng", fork_rng)
    return seen


@pytest.mark.parametrize(
    "device,current,forked",
    [
        ("cuda:1", [1], [[0, 1]]),  # a pool worker's GPU is current while its run trains
        ("cuda:0", [0], [[0, 1]]),
        ("cuda", [], [[0, 1]]),  # plain cuda: the caller's current device, left alone
        ("cuda:7", [], [[0, 1]]),  # no such GPU: the run fails inside, as a failed outcome
        ("cpu", [], [[]]),
    ],
)
def test_a_run_on_one_gpu_of_several_makes_it_current(two_gpus, device, current, forked):
    threads = torch.get_num_threads()
    with scope.run_scope(threads + 1, device):
        assert torch.get_num_threads() == threads + 1
        assert two_gpus["inside"] == (current[0] if current else None)
    assert torch.get_num_threads() == threads
    assert two_gpus == {"current": current, "forked": forked, "inside": None}
