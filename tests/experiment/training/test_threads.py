"""``training.threads``: ``OMP_NUM_THREADS`` caps the threads a run takes in its process (the
plan gives it every core it may use; a cluster job, a shared machine or a test runner may give
the process less)."""

import pytest
import torch

from layerorder.experiment.training import scope, threads


@pytest.mark.parametrize("value, cap", [
    (None, None),
    ("3", 3),
    (" 2 ", 2),
    ("4,2", 4),  # one number per nesting level: the outer one is this process's
    ("0", None),  # no positive number: OpenMP and torch ignore it, and so does the cap
    ("", None),
    ("-1", None),
    ("many", None),
])
def test_the_cap_is_openmps_first_positive_number(monkeypatch, value, cap):
    if value is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", value)
    assert threads.thread_cap() == cap
    assert threads.capped(8) == (8 if cap is None else cap)
    assert threads.capped(None) is None  # no thread count asked for: torch's own stays


def test_a_run_takes_no_more_threads_than_the_cap_and_the_callers_count_comes_back(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    with scope.run_scope(4, "cpu"):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    monkeypatch.setenv("OMP_NUM_THREADS", "64")  # a cap above the plan never raises it
    with scope.run_scope(2, "cpu"):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == before
