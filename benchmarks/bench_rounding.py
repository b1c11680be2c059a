"""Float32 rounding: how far the stacked executor moves final accuracies (on the CPU it should
not move them at all: each replica goes through the calls its run makes alone), against how far
sequential training moves them under other benign changes (thread count, convolution algorithm).

Trains the given seeds of each order four ways on the default data (cnn1d, 20 epochs) and prints
|difference in final test accuracy| per run. About 3-4 minutes per order on 2 cores.

    python benchmarks/bench_rounding.py [--orders standard,preact] [--seeds 5]
"""

from __future__ import annotations

import argparse
import statistics

import torch

from layerorder.data import load_dataset
from layerorder.experiment.configuration.config import DEFAULT_ORDERS, RunConfig
from layerorder.experiment.training.loop import train
from layerorder.experiment.training.stacked import train_stacked
from layerorder.models import build_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", default=",".join(DEFAULT_ORDERS))
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    data = load_dataset("mnist1d")

    def build(c):
        torch.manual_seed(c.seed)
        return build_model("cnn1d", c.order, in_shape=data.in_shape, num_classes=10)

    def sequential(cfgs, threads, onednn=True):
        torch.set_num_threads(threads)
        torch.backends.mkldnn.enabled = onednn
        try:
            return [train(build(c), data, c).epochs[-1].test_acc for c in cfgs]
        finally:
            torch.backends.mkldnn.enabled = True

    everything = {"stacked": [], "threads": [], "conv": []}
    for order in args.orders.split(","):
        cfgs = [RunConfig(order=order, seed=s, lr=0.01, epochs=20) for s in range(args.seeds)]
        seq = sequential(cfgs, 1)
        torch.set_num_threads(1)
        stk = [r.epochs[-1].test_acc for r in train_stacked([build(c) for c in cfgs], data, cfgs)]
        rows = {
            "stacked": stk,
            "threads": sequential(cfgs, 2),
            "conv": sequential(cfgs, 1, onednn=False),
        }
        print(f"{order}: sequential final accuracies {seq}")
        for name, accs in rows.items():
            diffs = [round(abs(a - b), 2) for a, b in zip(accs, seq)]
            everything[name] += diffs
            print(f"  {name:8s} |diff| {diffs}")
    labels = {
        "stacked": "stacked vs sequential",
        "threads": "sequential 2 threads vs 1",
        "conv": "native vs oneDNN conv",
    }
    for name, diffs in everything.items():
        above = sum(d > 0.3 for d in diffs)
        print(
            f"{labels[name]:26s} mean {statistics.mean(diffs):.2f}, max {max(diffs):.1f},"
            f" {above} of {len(diffs)} above 0.3"
        )


if __name__ == "__main__":
    main()
