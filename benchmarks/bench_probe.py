"""Probe overhead: training with ``--probe`` on vs off, measured in one process.

The probe runs once per epoch (and at init) on a fixed probe batch: stage statistics for every
stage, gradient flow and the BN variance shift. Target: probes on / probes off <= 1.10.

    python benchmarks/bench_probe.py [--epochs 5] [--repeats 3] [--order standard]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from layerorder.experiment.config import RunConfig
from layerorder.experiment.loop import train
from layerorder.experiment.worker import load_run_data
from layerorder.models import build_model
from layerorder.probe import EpochProbe


def one_run(cfg: RunConfig, data, probe: bool) -> float:
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.arch, cfg.order, in_shape=data.in_shape, num_classes=data.num_classes)
    prober = EpochProbe(data.x_train, data.y_train) if probe else None
    start = time.perf_counter()
    train(model, data, cfg, probe=prober)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--order", default="standard")
    args = parser.parse_args()
    cfg = RunConfig(order=args.order, seed=0, lr=0.01, epochs=args.epochs)
    data = load_run_data(cfg, "cpu")
    one_run(cfg, data, False)  # warm-up
    off, on = [], []
    for _ in range(args.repeats):  # interleaved, so drift hits both alike
        off.append(one_run(cfg, data, False))
        on.append(one_run(cfg, data, True))
    t_off, t_on = statistics.median(off), statistics.median(on)
    print(
        f"mnist1d / cnn1d / {args.order}, {args.epochs} epochs, {torch.get_num_threads()} threads"
    )
    print(f"probes off: {t_off:.3f} s (median of {args.repeats})")
    print(f"probes on:  {t_on:.3f} s (median of {args.repeats})")
    print(f"ratio on/off: {t_on / t_off:.3f}  (target <= 1.10)")


if __name__ == "__main__":
    main()
