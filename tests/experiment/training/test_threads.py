"""``training.threads``: ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` cap the threads a run takes
in its process (the plan gives it every core it may use; a cluster job, a shared machine or a
test runner may give the process less), and a user's command never gets more than its driver's
environment allows."""

import pytest
import torch

from layerorder.experiment.training import scope, threads


@pytest.mark.parametrize("value, cap", [
    (None, None),
    ("3", 3),
    (" 2 ", 2),
    ("+2", 2),  # as OpenMP and torch read it
    ("4,2", 4),  # one number per nesting level: the outer one is this process's
    ("0", None),  # no positive number: OpenMP and torch ignore it, and so does the cap
    ("", None),
    ("-1", None),
    ("many", None),
    ("\u00b2", None),  # a digit to str.isdigit, not to int(): ignored, not a crash
])
def test_the_cap_is_the_first_positive_number_openmp_would_read(no_thread_cap, value, cap):
    if value is not None:
        no_thread_cap.setenv("OMP_NUM_THREADS", value)
    assert threads.thread_cap() == cap
    assert threads.capped(8) == (8 if cap is None else cap)
    assert threads.capped(None) is None  # no thread count asked for: torch's own stays


def test_mkls_variable_caps_as_well_and_the_lowest_wins(no_thread_cap):
    no_thread_cap.setenv("MKL_NUM_THREADS", "2")
    assert threads.thread_cap() == 2
    no_thread_cap.setenv("OMP_NUM_THREADS", "3")
    assert threads.thread_cap() == 2
    no_thread_cap.setenv("OMP_NUM_THREADS", "1")
    assert threads.thread_cap() == 1
    no_thread_cap.setenv("OPENBLAS_NUM_THREADS", "1")  # numpy's alone: torch does not read it
    no_thread_cap.setenv("OMP_NUM_THREADS", "4")
    no_thread_cap.delenv("MKL_NUM_THREADS")
    assert threads.thread_cap() == 4


def test_a_command_gets_the_plans_threads_or_the_users_lower_value_of_each(no_thread_cap):
    assert threads.thread_environment(3) == dict.fromkeys(threads.THREAD_VARIABLES, "3")
    no_thread_cap.setenv("OPENBLAS_NUM_THREADS", "1")
    no_thread_cap.setenv("MKL_NUM_THREADS", "8")  # higher than the plan: never raised to it
    assert threads.thread_environment(3) == {
        "OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "3", "OPENBLAS_NUM_THREADS": "1"}


def test_a_run_takes_no_more_threads_than_the_cap_and_the_callers_count_comes_back(no_thread_cap):
    before = torch.get_num_threads()
    no_thread_cap.setenv("OMP_NUM_THREADS", "1")
    with scope.run_scope(4, "cpu"):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    no_thread_cap.setenv("OMP_NUM_THREADS", "64")  # a cap above the plan never raises it
    with scope.run_scope(2, "cpu"):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == before
