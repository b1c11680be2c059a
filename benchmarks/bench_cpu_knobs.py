"""Two CPU settings tried for the default grid's speed (benchmarks/RESULTS.md, "the suite's
temporary folders in memory", last paragraph), each against its reference in the same run:

- ``--denormal``: a 4-epoch run of the default model on one thread, with and without
  ``torch.set_flush_denormal(True)``, alternating, three repeats (the first pair warms up);
- ``--pin``: two single-thread training processes at once (six 4-epoch runs each), each pinned
  to a core of its own (``taskset -c 0`` and ``-c 1``) and unpinned, alternating, twice.

    python benchmarks/bench_cpu_knobs.py --denormal
    python benchmarks/bench_cpu_knobs.py --pin
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import torch
from common import default_grid, load, make_model, minimal_loop

HERE = Path(__file__).resolve().parent


def _one_run(cfg, data) -> float:
    start = time.perf_counter()
    minimal_loop(make_model(cfg, data), data, cfg)
    return time.perf_counter() - start


def denormal() -> None:
    torch.set_num_threads(1)
    cfg = default_grid(epochs=4, seeds=1).runs()[0]
    data = load(cfg)
    try:
        for repeat in range(3):
            for flush in (False, True):
                torch.set_flush_denormal(flush)
                print(f"repeat {repeat}, flush denormals {flush}: {_one_run(cfg, data):.3f} s",
                      flush=True)
    finally:
        torch.set_flush_denormal(False)


def worker() -> None:
    torch.set_num_threads(1)
    cfg = default_grid(epochs=4, seeds=1).runs()[0]
    data = load(cfg)
    _one_run(cfg, data)  # warm
    print(f"{sum(_one_run(cfg, data) for _ in range(6)):.3f}")


def pin() -> None:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker"]
    for repeat in range(2):
        for pinned in (False, True):
            prefixes = (["taskset", "-c", "0"], ["taskset", "-c", "1"]) if pinned else ([], [])
            procs = [subprocess.Popen([*p, *cmd], stdout=subprocess.PIPE, text=True, cwd=HERE)
                     for p in prefixes]
            times = [proc.communicate()[0].strip() for proc in procs]
            print(f"repeat {repeat}, {'pinned' if pinned else 'unpinned'}: six runs each,"
                  f" {times[0]} s and {times[1]} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--denormal", action="store_true")
    group.add_argument("--pin", action="store_true")
    group.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    (denormal if args.denormal else pin if args.pin else worker)()


if __name__ == "__main__":
    main()
