"""(a) Loop overhead: layerorder's training loop vs a minimal hand-written loop, same model/data.

Both do the same batches, optimizer and schedule; the ratio is the cost of layerorder's loop
(metrics accumulated on the device, per-epoch records, divergence check). Target <= 1.03.
``--compile`` or ``--amp`` apply to layerorder's loop only: the ratio is then their gain or loss.

    python benchmarks/bench_loop.py [--epochs 10] [--repeats 5] [--threads 1] [--compile] [--amp]
"""

from __future__ import annotations

import argparse
import statistics

import torch
from common import load, make_model, minimal_loop, peak_rss_mib, timed

from layerorder.experiment.configuration.config import RunConfig
from layerorder.experiment.training.loop import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--compile", action="store_true", help="torch.compile layerorder's model")
    parser.add_argument("--amp", action="store_true", help="bfloat16 autocast in layerorder's loop")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = RunConfig(order="standard", seed=0, lr=0.01, epochs=args.epochs)
    ours_cfg = RunConfig(order="standard", seed=0, lr=0.01, epochs=args.epochs, amp=args.amp)
    data = load(cfg)

    def ours_run(model):
        return train(model, data, ours_cfg, compile_model=args.compile)

    timed(ours_run, make_model(cfg, data))  # warm-up (and, with --compile, the compilation)
    ours, ref = [], []
    for _ in range(args.repeats):  # interleaved, so drift hits both alike
        ref.append(timed(minimal_loop, make_model(cfg, data), data, cfg)[0])
        ours.append(timed(ours_run, make_model(cfg, data))[0])
    t_ref, t_ours = statistics.median(ref), statistics.median(ours)
    extras = "".join([", compiled" if args.compile else "", ", amp" if args.amp else ""])
    print(f"mnist1d / cnn1d / standard, {args.epochs} epochs, {args.threads} thread(s){extras}")
    print(f"minimal hand-written loop: {t_ref:.3f} s (median of {args.repeats})")
    print(f"layerorder loop:           {t_ours:.3f} s (median of {args.repeats})")
    print(f"ratio layerorder/minimal:  {t_ours / t_ref:.3f}  (target <= 1.03)")
    print(f"peak RSS of this process:  {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
