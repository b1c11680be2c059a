"""Stacking seeds on this CPU: speed of the two stack modes, and the batched mode's equivalence.

1. Speed (``--epochs``, default 3; ``--k`` seeds, default 5 and 20): one thread, the default
   model (cnn1d ``standard``), K seeds of one order trained three ways in the same process: as K
   runs alone (the minimal hand-written loop), stacked in the exact mode (each replica's own
   convolution and linear calls: the runs equal those trained alone bit for bit) and stacked in
   the batched mode (one grouped convolution and one batched matrix product for all replicas).
   Prints seconds per run and the ratios against the runs alone.
2. Equivalence (``--equivalence``): the default grid's orders, ``--seeds`` seeds each (default
   20), 20 epochs, trained stacked in both modes; the exact mode's runs are the sequential runs
   bit for bit, so each order's final accuracies in the batched mode are tested against them
   with the paired TOST (margin 0.3 points, Holm over the orders).

    python benchmarks/bench_stack_modes.py [--epochs 3] [--k 5 --k 20]
    python benchmarks/bench_stack_modes.py --equivalence [--seeds 20]
"""

from __future__ import annotations

import argparse
import time

import torch
from common import default_grid, load, make_model, minimal_loop

from layerorder.experiment.training.stacked import train_stacked
from layerorder.stats.decisions import look_pvalues
from layerorder.stats.holm import holm

MARGIN = 0.3


def stacked(cfgs, data, mode: str) -> tuple[float, list[float]]:
    """(seconds per run, final test accuracies) of ``cfgs`` trained as one stack."""
    models = [make_model(c, data) for c in cfgs]
    start = time.perf_counter()
    results = train_stacked(models, data, cfgs, mode=mode)
    return (time.perf_counter() - start) / len(cfgs), [r.epochs[-1].test_acc for r in results]


def speed(epochs: int, ks: list[int]) -> None:
    for k in ks:
        grid = default_grid(epochs=epochs, seeds=k)
        cfgs = [c for c in grid.runs() if c.order == grid.runs()[0].order]
        data = load(cfgs[0])
        stacked(cfgs[:2], data, "exact")  # warm-up of both paths
        stacked(cfgs[:2], data, "batched")
        alone_runs = cfgs[: min(k, 5)]
        start = time.perf_counter()
        for c in alone_runs:
            minimal_loop(make_model(c, data), data, c)
        alone = (time.perf_counter() - start) / len(alone_runs)
        exact, _ = stacked(cfgs, data, "exact")
        batched, _ = stacked(cfgs, data, "batched")
        print(f"K={k}, {epochs} epochs, 1 thread: alone {alone:.3f} s/run;"
              f" stacked exact {exact:.3f} s/run ({alone / exact:.2f}x);"
              f" stacked batched {batched:.3f} s/run ({alone / batched:.2f}x)")


def equivalence(seeds: int) -> None:
    grid = default_grid(seeds=seeds)
    orders = list(dict.fromkeys(c.order for c in grid.runs()))
    rows, p_tost = [], []
    for order in orders:
        cfgs = [c for c in grid.runs() if c.order == order]
        data = load(cfgs[0])
        _, exact = stacked(cfgs, data, "exact")
        _, batched = stacked(cfgs, data, "batched")
        diff = torch.tensor(batched, dtype=torch.float64) - torch.tensor(exact)
        p_tost.append(look_pvalues(diff.numpy(), MARGIN)[1])
        rows.append((order, float(diff.mean()), float(diff.abs().max()),
                     sum(exact) / len(exact), sum(batched) / len(batched)))
    print(f"batched vs exact (= sequential) final accuracy, {seeds} seeds per order, 20 epochs,"
          f" paired TOST within +-{MARGIN} points, Holm over {len(orders)} orders:")
    for (order, mean, worst, a, b), p in zip(rows, holm(p_tost)):
        verdict = "equivalent" if p < 0.05 else "not shown equivalent"
        print(f"  {order:15s} exact {a:.2f}, batched {b:.2f}: difference {mean:+.3f} points"
              f" (largest {worst:.2f}), TOST Holm p = {p:.4f}: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--k", type=int, action="append", help="seeds stacked (default 5, 20)")
    parser.add_argument("--equivalence", action="store_true")
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.equivalence:
        equivalence(args.seeds)
    else:
        speed(args.epochs, args.k or [5, 20])


if __name__ == "__main__":
    main()
