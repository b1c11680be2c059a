"""The ``auto`` executor's choice against both of its options, on the grids it decides.

For each grid, ``layerorder compare`` runs with ``--executor sequential``, ``process`` and
``auto`` in fresh processes (a new store each time, no report), as a user starts it, and the wall
time of each cell is printed with its ratio to the better of the two fixed choices: ``auto``
should be within a few percent of the better one on every grid. The pool's start-up cost, the
number ``auto`` weighs (``executors.POOL_START_SECONDS``), is measured too: a two-run grid of
runs that train in a fraction of a second, in a pool and in one process.

    python benchmarks/bench_auto.py                  # start-up, 500-sample grid, default grid
    python benchmarks/bench_auto.py --skip-default   # without the default grid (about 5 min)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from layerorder.experiment.execution.executors import POOL_START_SECONDS

GRIDS = {
    "tiny 2-run grid": ["--dataset", "synthetic", "--arch", "mlp", "--width", "8", "--epochs",
                        "1", "--order", "standard", "--seeds", "2"],
    "500-sample grid": ["--data-opt", "num_samples=500"],
    "default grid": [],
}
EXECUTORS = ("sequential", "process", "auto")


def cell(args: list[str], executor: str) -> tuple[float, str]:
    """Wall seconds of one ``compare`` in a fresh process, and the note ``auto`` gave."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "layerorder", "compare", *args, "--executor", executor,
               "--store", str(Path(tmp) / "s.db"), "--no-report"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=tmp)
        seconds = time.perf_counter() - start
    note = next((line for line in proc.stderr.splitlines() if "left go to a process pool" in line),
                "in this process throughout")
    return seconds, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-default", action="store_true")
    args = parser.parse_args()
    print(f"auto weighs a pool's start at {POOL_START_SECONDS:g} s")
    for name, grid in GRIDS.items():
        if name == "default grid" and args.skip_default:
            continue
        times = {}
        for executor in EXECUTORS:
            times[executor], note = cell(grid, executor)
            said = f"  ({note.removeprefix('note: ')})" if executor == "auto" else ""
            print(f"{name}: {executor:10s} {times[executor]:7.1f} s{said}", flush=True)
        best = min(times["sequential"], times["process"])
        print(f"{name}: auto / the better fixed choice = {times['auto'] / best:.3f}"
              f"; pool - sequential = {times['process'] - times['sequential']:+.1f} s",
              flush=True)


if __name__ == "__main__":
    main()
