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
    def fork_rng(devices, device_type=None):
        assert device_type == "cuda"
        seen["forked"].append(list(devices))
        yield

    monkeypatch.setattr(scope.torch.accelerator, "current_accelerator", lambda *a, **k: None)
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
def test_a_run_on_one_gpu_of_several_makes_it_current(two_gpus, no_thread_cap, device, current,
                                                     forked):
    threads = torch.get_num_threads()
    with scope.run_scope(threads + 1, device):
        assert torch.get_num_threads() == threads + 1
        assert two_gpus["inside"] == (current[0] if current else None)
    assert torch.get_num_threads() == threads
    assert two_gpus == {"current": current, "forked": forked, "inside": None}


class _FakeMPS:
    """An Apple GPU's generator, as ``torch.mps`` presents it."""

    def __init__(self):
        self.state = torch.tensor([1], dtype=torch.uint8)

    def device_count(self):
        return 1

    def get_rng_state(self, device="mps"):
        return self.state.clone()

    def set_rng_state(self, new_state, device="mps"):
        self.state = new_state.clone()


def test_a_run_on_a_mac_leaves_the_apple_gpus_generator_as_it_was(monkeypatch):
    """torch.manual_seed reseeds MPS's generator whenever MPS is present, a run on the CPU
    included, so the scope saves and restores it as it does CUDA's (stubbed MPS)."""
    mps = _FakeMPS()
    real = torch.get_device_module
    monkeypatch.setattr(scope.torch.accelerator, "current_accelerator",
                        lambda *a, **k: torch.device("mps"))
    monkeypatch.setattr(scope.torch, "get_device_module",
                        lambda device=None: mps if str(device) == "mps" else real(device))
    with scope.run_scope(None, "cpu"):
        mps.set_rng_state(torch.tensor([9], dtype=torch.uint8))  # what a run's seeding does
    assert mps.state.tolist() == [1]


