"""Probe overhead: training with ``--probe`` on vs off, measured in one process.

The probe runs at init, every ``--probe-every`` epochs (the run's default) and at the last epoch,
on a fixed probe batch: stage statistics for every stage, gradient flow and the BN variance
shift; then, as a probed run of ``compare --probe`` ends, the trained model's fit (eval-mode
accuracy on 1,000 training samples and on the test set) and its accuracy after BN
recalibration. Target: probes on / probes off <= 1.05. It also
prints the time spent inside the probe calls, which moves less with machine noise than the
difference of two wall times.

    python benchmarks/bench_probe.py [--epochs 5] [--repeats 3] [--order standard]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from layerorder.experiment.configuration.config import RunConfig
from layerorder.experiment.execution.worker import final_probe_records
from layerorder.experiment.training.loop import train
from layerorder.experiment.training.run_data import load_run_data
from layerorder.models import build_model
from layerorder.probe import EpochProbe


class TimedProbe(EpochProbe):
    """EpochProbe that also sums the time spent inside its calls."""

    seconds = 0.0

    def __call__(self, epoch, model) -> None:
        start = time.perf_counter()
        super().__call__(epoch, model)
        self.seconds += time.perf_counter() - start


def one_run(cfg: RunConfig, data, probe: bool) -> tuple[float, float]:
    """(wall time of the run, seconds of it spent probing)."""
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.arch, cfg.order, in_shape=data.in_shape, num_classes=data.num_classes)
    prober = (TimedProbe(data.x_train, data.y_train, every=cfg.probe_every, epochs=cfg.epochs)
              if probe else None)
    start = time.perf_counter()
    result = train(model, data, cfg, probe=prober)
    if prober is None or result.status != "done":
        return time.perf_counter() - start, prober.seconds if prober else 0.0
    ended = time.perf_counter()  # what the worker adds at the end of a probed run
    prober.records.extend(final_probe_records(model, data, cfg, result))
    prober.seconds += time.perf_counter() - ended
    return time.perf_counter() - start, prober.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--order", default="standard")
    parser.add_argument("--probe-every", type=int, default=None,
                        help="epochs between probes (default: the run setting's default)")
    args = parser.parse_args()
    every = {} if args.probe_every is None else {"probe_every": args.probe_every}
    cfg = RunConfig(order=args.order, seed=0, lr=0.01, epochs=args.epochs, probe=True, **every)
    data = load_run_data(cfg, "cpu")
    one_run(cfg, data, False)  # warm-up
    off, on, inside = [], [], []
    for _ in range(args.repeats):  # interleaved, so drift hits both alike
        off.append(one_run(cfg, data, False)[0])
        wall, probing = one_run(cfg, data, True)
        on.append(wall)
        inside.append(probing)
    t_off, t_on, t_in = statistics.median(off), statistics.median(on), statistics.median(inside)
    print(
        f"mnist1d / cnn1d / {args.order}, {args.epochs} epochs, {torch.get_num_threads()} threads"
    )
    print(f"probes off: {t_off:.3f} s (median of {args.repeats})")
    print(f"probes on:  {t_on:.3f} s (median of {args.repeats})")
    probed = [e for e in range(cfg.epochs + 1) if e % cfg.probe_every == 0 or e == cfg.epochs]
    print(f"ratio on/off: {t_on / t_off:.3f}  (target <= 1.05; probes at epochs {probed})")
    paired = statistics.median(a / b for a, b in zip(on, off))
    print(f"median of the {args.repeats} paired ratios (each on-run against the off-run just"
          f" before it): {paired:.3f}")
    print(
        f"time inside the probe calls: {t_in:.3f} s (median), {t_in / t_off:.1%} of a run"
        " without probes (less noisy than the difference of two wall times)"
    )


if __name__ == "__main__":
    main()
