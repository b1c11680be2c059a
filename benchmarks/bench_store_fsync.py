"""What a store's commits cost on a disk against a tmpfs: the same store of finished runs
(``bench_store_scale.build``: each run claimed, then finished with its epochs, two SQLite
transactions each with an fsync) built in a folder on the disk and in ``/dev/shm``, one after
the other in this process, wall and CPU seconds of each and their ratio. The test suite's
temporary folders go to ``/dev/shm`` for this (``tests/conftest.py``; benchmarks/RESULTS.md,
"the suite's temporary folders in memory").

    python benchmarks/bench_store_fsync.py                  # 20,000 runs, as the store test
    python benchmarks/bench_store_fsync.py --runs 2000 --disk /var/tmp
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench_store_scale import build


def timed_build(folder: str, runs: int) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        path = Path(tmp) / "s.db"
        wall, cpu = time.perf_counter(), time.process_time()
        build(path, runs)
        return time.perf_counter() - wall, time.process_time() - cpu, path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--disk", default=tempfile.gettempdir(), help="a folder on the disk")
    parser.add_argument("--memory", default="/dev/shm", help="a folder on a tmpfs")
    args = parser.parse_args()
    if not os.path.isdir(args.memory):
        raise SystemExit(f"{args.memory} is not a folder: give --memory a tmpfs folder")
    results = {}
    for name, folder in (("disk", args.disk), ("memory", args.memory)):
        wall, cpu, size = timed_build(folder, args.runs)
        results[name] = wall
        print(f"{name:6} ({folder}): {args.runs:,} runs in {wall:.2f} s wall, {cpu:.2f} s CPU"
              f" (this process), {size / 2**20:.0f} MiB")
    print(f"disk / memory: {results['disk'] / results['memory']:.2f}x the wall time")


if __name__ == "__main__":
    main()
