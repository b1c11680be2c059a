"""How many threads a run may take in its process: what a plan gives it, capped by the user's
environment. Free of torch, so a user's command (``user_runs``) gets the same cap without it."""

from __future__ import annotations

import os

# The variable by which a user (a cluster job, a shared machine, a test runner) caps the threads
# of every process it starts: OpenMP's, which torch's own default thread count reads too.
THREADS_VARIABLE = "OMP_NUM_THREADS"


def thread_cap() -> int | None:
    """The most threads a run may take in this process: ``OMP_NUM_THREADS`` where it is set to a
    positive number (its first, where it lists one per nesting level, as ``4,2``); None where it
    is unset or is no such number, which OpenMP and torch ignore as well."""
    first = os.environ.get(THREADS_VARIABLE, "").split(",")[0].strip()
    return int(first) if first.isdigit() and int(first) > 0 else None


def capped(threads: int | None) -> int | None:
    """``threads``, or fewer where ``OMP_NUM_THREADS`` says so (``thread_cap``): a plan gives a
    run every core it may use, and the user's environment may give this process less."""
    cap = thread_cap()
    return threads if not threads or cap is None else min(threads, cap)
