"""A pytest plugin that writes, per test, its wall time, the CPU of the test's process and of
the processes it waited for, and the whole machine's idle and iowait time while it ran
(``/proc/stat``), one JSON line per test to ``$TIMELINE_DIR/timeline-<xdist worker>.jsonl``.
benchmarks/RESULTS.md, "the suite's temporary folders in memory", read it; it is not part of
the test suite.

    TIMELINE_DIR=/tmp/tl PYTHONPATH=benchmarks python -m pytest -p pytest_timeline
    python benchmarks/pytest_timeline.py /tmp/tl        # sums, and the tests most idle
"""

from __future__ import annotations

import glob
import json
import os
import resource
import sys
import time

import pytest

_out = None


def _cpu() -> float:
    own, waited = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + waited.ru_utime + waited.ru_stime


def _idle() -> float:
    with open("/proc/stat") as fh:
        fields = fh.readline().split()
    return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")  # idle + iowait


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Around each test in the process that runs it (an xdist worker, not the controller)."""
    global _out
    if _out is None:
        folder = os.environ.get("TIMELINE_DIR", "/tmp")
        os.makedirs(folder, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        _out = open(os.path.join(folder, f"timeline-{worker}.jsonl"), "a")
    start, cpu, idle = time.time(), _cpu(), _idle()
    yield
    _out.write(json.dumps({"id": item.nodeid, "start": start, "wall": time.time() - start,
                           "cpu": _cpu() - cpu, "idle": _idle() - idle}) + "\n")
    _out.flush()


def summary(folder: str, most: int = 15) -> None:
    rows = [json.loads(line) for path in glob.glob(os.path.join(folder, "timeline-*.jsonl"))
            for line in open(path)]
    print(f"{len(rows)} tests: wall {sum(r['wall'] for r in rows):.0f} s, CPU"
          f" {sum(r['cpu'] for r in rows):.0f} s, machine idle while they ran"
          f" {sum(r['idle'] for r in rows):.0f} s (overlapping)")
    for r in sorted(rows, key=lambda r: -r["idle"])[:most]:
        print(f"{r['idle']:6.1f} idle {r['wall']:6.1f} wall {r['cpu']:6.1f} cpu  {r['id']}")


if __name__ == "__main__":
    summary(sys.argv[1] if len(sys.argv) > 1 else "/tmp")
