"""Can stacking seeds pay on this CPU? One thread, the default model (cnn1d ``standard``), K seeds
of one order trained three ways, each timed in the same process: as K runs alone (the minimal
hand-written loop), as one stacked model in the bit-exact mode (each replica's convolution and
linear calls its own, as a run alone makes them: what the ``stacked`` executor does on the CPU),
and as one stacked model with one grouped convolution and one batched matrix product for all K
replicas (what it does on CUDA; on the CPU only this benchmark switches it on, by treating the
CPU as the other devices). Prints seconds per run and the ratios against the runs alone, and the
final accuracies of the two stacked modes side by side (the grouped mode is not bit-exact).

    python benchmarks/bench_stack_modes.py [--epochs 3] [--k 5 --k 20]
"""

from __future__ import annotations

import argparse
import time

import torch
from common import default_grid, load, make_model, minimal_loop

import layerorder.experiment.training.stacking as stacking
from layerorder.experiment.training.stacked import train_stacked


def stacked_seconds(cfgs, data, grouped: bool) -> tuple[float, list[float]]:
    exact = stacking.PER_REPLICA_DEVICES
    stacking.PER_REPLICA_DEVICES = frozenset() if grouped else exact
    try:
        models = [make_model(c, data) for c in cfgs]
        start = time.perf_counter()
        results = train_stacked(models, data, cfgs)
        seconds = time.perf_counter() - start
    finally:
        stacking.PER_REPLICA_DEVICES = exact
    return seconds / len(cfgs), [r.epochs[-1].test_acc for r in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--k", type=int, action="append", help="seeds stacked (default 5, 20)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for k in args.k or [5, 20]:
        grid = default_grid(epochs=args.epochs, seeds=k)
        cfgs = [c for c in grid.runs() if c.order == grid.runs()[0].order]
        data = load(cfgs[0])
        stacked_seconds(cfgs[:2], data, grouped=False)  # warm-up of both paths
        stacked_seconds(cfgs[:2], data, grouped=True)
        alone_runs = cfgs[: min(k, 5)]
        start = time.perf_counter()
        for c in alone_runs:
            minimal_loop(make_model(c, data), data, c)
        alone = (time.perf_counter() - start) / len(alone_runs)
        exact, acc_exact = stacked_seconds(cfgs, data, grouped=False)
        grouped, acc_grouped = stacked_seconds(cfgs, data, grouped=True)
        print(f"K={k}, {args.epochs} epochs, 1 thread: alone {alone:.3f} s/run;"
              f" stacked exact {exact:.3f} s/run ({alone / exact:.2f}x);"
              f" stacked grouped {grouped:.3f} s/run ({alone / grouped:.2f}x)")
        diffs = [abs(a - b) for a, b in zip(acc_exact, acc_grouped)]
        print(f"  final accuracy, exact vs grouped: largest difference {max(diffs):.2f} points"
              f" over {k} seeds (mean {sum(acc_exact) / k:.2f} vs {sum(acc_grouped) / k:.2f})")


if __name__ == "__main__":
    main()
