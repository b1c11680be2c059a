"""What layerorder costs around a user's own script: ``compare --command`` against a plain shell
loop that runs the same script for every order and seed.

The reference runs ``python examples/torch_order.py --order O --seed S`` one after another, as a
hand-written loop would; layerorder runs the same commands with the sequential executor (one at a
time too, so the two are comparable), each under its guard, with the metrics file read as it is
written and every run stored. The two alternate ``--repeats`` times; the ratio of the medians is
the overhead (the process pool's parallel runs are ``bench_sweep``'s question, not this one).

    python benchmarks/bench_command.py                   # 2 orders x 3 seeds, 3 repeats
    python benchmarks/bench_command.py --seeds 5 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import layerorder

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "torch_order.py"
ORDERS = ("conv-bn-relu", "conv-relu-bn")


def plain(seeds: int) -> float:
    """The hand-written loop: every order and seed, one process after another."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAYERORDER_")}
    start = time.perf_counter()
    for seed in range(seeds):
        for order in ORDERS:
            subprocess.run([sys.executable, str(SCRIPT), "--order", order, "--seed", str(seed)],
                           check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def ours(seeds: int, store: Path) -> float:
    start = time.perf_counter()
    results = layerorder.compare(command=f"{sys.executable} {SCRIPT} --order {{order}}"
                                         " --seed {seed}",
                                 orders=list(ORDERS), seeds=seeds, metric="val_loss", goal="min",
                                 executor="sequential", store=store, progress=False)
    elapsed = time.perf_counter() - start
    assert {r.status for r in results.runs} == {"done"}, [r.error for r in results.runs]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    reference, measured = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            reference.append(plain(args.seeds))
            measured.append(ours(args.seeds, Path(tmp) / f"s{i}.db"))  # a fresh store each time
    runs = len(ORDERS) * args.seeds
    ref, got = statistics.median(reference), statistics.median(measured)
    print(f"{runs} runs of {SCRIPT.name}, {args.repeats} repeats each, medians:")
    print(f"  plain loop of processes:          {ref:.2f} s  ({ref / runs:.2f} s per run)")
    print(f"  compare --command, sequential:    {got:.2f} s  ({got / runs:.2f} s per run)")
    print(f"  ratio: {got / ref:.3f}x  (overhead {1000 * (got - ref) / runs:.0f} ms per run)")


if __name__ == "__main__":
    main()
