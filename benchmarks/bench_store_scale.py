"""Stores of many runs: how ``layerorder runs``, ``report`` and ``export`` scale from 2,000 to
20,000 stored runs (written through the store API, not trained: each run finished with its
epochs, as a sweep stores it).

Each command runs as a user types it, in a fresh process; the ratio of its time at the larger
store to its time at the smaller one is printed beside the ratio of the sizes (10x): a command
that scales linearly or better prints a ratio of at most about 10.

    python benchmarks/bench_store_scale.py                 # 2,000 and 20,000 runs
    python benchmarks/bench_store_scale.py --sizes 500 5000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from layerorder.experiment.configuration.config import make_config
from layerorder.experiment.execution.runner import run_specs
from layerorder.store import EpochRecord, Store

ORDERS = ["standard", "act-first", "preact", "drop-before-bn", "no-norm"]
EPOCHS = 5
COMMANDS = {
    "runs": ["runs", "-e", "default", "--json"],
    "report": ["report", "-o", "{dir}/r.html"],
    "export": ["export", "-o", "{dir}/runs.csv"],
}


def build(path: Path, runs: int) -> float:
    """A store of ``runs`` finished runs of one experiment (5 orders); returns the seconds."""
    start = time.perf_counter()
    config = make_config({"orders": ORDERS, "seeds": runs // len(ORDERS), "epochs": EPOCHS,
                          "max_runs": max(runs, 10_000)})
    rng = np.random.default_rng(0)
    with Store.open(path) as db:
        exp = db.experiment(config.name, config.grid())
        db.add_runs(exp.id, run_specs(config))
        while (run := db.claim_next(exp.id, "bench")) is not None:
            acc = 95.0 + rng.normal(0, 0.5) + ORDERS.index(run.label) * 0.1
            epochs = [EpochRecord(e, 0.5 / e, acc - 1 / e, 0.4 / e, acc - 1 / e, 0.01, e * 1.0)
                      for e in range(1, EPOCHS + 1)]
            db.finish_run(run.id, status="done", epochs=epochs, owner="bench", wall_time=5.0)
    return time.perf_counter() - start


def timed(args: list[str], folder: Path, store: Path) -> float:
    cmd = [sys.executable, "-m", "layerorder", *(a.format(dir=folder) for a in args),
           "--store", str(store)]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=folder)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr.strip()[-300:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=(2_000, 20_000))
    args = parser.parse_args()
    small, large = args.sizes
    times: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in (small, large):
            folder = Path(tmp) / str(size)
            folder.mkdir()
            store = folder / "s.db"
            built = build(store, size)
            times[size] = {name: timed(cmd, folder, store) for name, cmd in COMMANDS.items()}
            mib = store.stat().st_size / 2**20
            print(f"{size:,} runs: store written in {built:.1f} s ({mib:.1f} MiB); "
                  + ", ".join(f"{k} {v:.2f} s" for k, v in times[size].items()))
    print(f"ratio {large:,} / {small:,} runs (sizes {large / small:g}x):")
    for name in COMMANDS:
        ratio = times[large][name] / times[small][name]
        print(f"  {name:7} {times[small][name]:7.2f} s -> {times[large][name]:7.2f} s:"
              f" {ratio:5.2f}x ({'at most linear' if ratio <= large / small else 'WORSE'})")


if __name__ == "__main__":
    main()
