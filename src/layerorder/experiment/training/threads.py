"""How many threads a run may take in its process: what a plan gives it, capped by the user's
environment. Free of torch, so a user's command (``user_runs``) gets the same cap without it."""

from __future__ import annotations

import os
import re

# The variables by which a user (a cluster job, a shared machine, a test runner) caps the threads
# of every process it starts: OpenMP's and MKL's, which torch's own default thread count reads,
# and OpenBLAS's (numpy's). A user's command is given all three (``thread_environment``).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
TORCH_VARIABLES = THREAD_VARIABLES[:2]


def _number(name: str) -> int | None:
    """The positive number a variable sets (its first, where it lists one per nesting level, as
    OpenMP's ``4,2``); None where it is unset or is no such number, which OpenMP and torch ignore
    as well."""
    first = os.environ.get(name, "").split(",")[0]
    match = re.fullmatch(r"\s*\+?([0-9]+)\s*", first, re.ASCII)
    if match is None:
        return None
    return int(match.group(1)) or None  # 0 threads is no number of threads


def thread_cap() -> int | None:
    """The most threads a run may take in this process: the lowest of ``OMP_NUM_THREADS`` and
    ``MKL_NUM_THREADS`` that the environment sets; None where it sets neither."""
    numbers = [n for n in map(_number, TORCH_VARIABLES) if n is not None]
    return min(numbers) if numbers else None


def capped(threads: int | None) -> int | None:
    """``threads``, or fewer where the environment says so (``thread_cap``): a plan gives a run
    every core it may use, and the user's environment may give this process less."""
    cap = thread_cap()
    return threads if not threads or cap is None else min(threads, cap)


def thread_environment(threads: int) -> dict[str, str]:
    """What a user's command is given so that runs side by side share the cores as planned: each
    of ``THREAD_VARIABLES`` at ``threads``, or at the user's own lower value."""
    return {name: str(min(threads, _number(name) or threads)) for name in THREAD_VARIABLES}
