"""(b) Sweep speed: the default grid through layerorder's best executor vs plain sequential loops.

Two references, each run for every order and seed one after another on the same models and data
with 2 threads and plain PyTorch kernels (nn.Dropout's masks, the default Adam):
``plain``, a typical training script (DataLoader over a TensorDataset, shuffle, loss read every
step), and ``minimal``, the least a hand-written loop does (index batches, nothing read per
step). layerorder runs the same grid with ``compare``'s automatic plan. Target >= 2x (stretch
3x). Also prints (d) the peak memory of each.

    python benchmarks/bench_sweep.py            # the full default grid (about 6 minutes)
    python benchmarks/bench_sweep.py --epochs 5 --seeds 2 --reference minimal
    python benchmarks/bench_sweep.py --executor stacked-pool --stack-mode batched
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
from common import default_grid, load, make_model, peak_rss_mib, plain_loop, plain_minimal_loop

from layerorder.experiment.execution.runner import run_sweep
from layerorder.store import Store

REFERENCES = {
    "plain": ("plain sequential loop (DataLoader, 2 threads)", plain_loop),
    "minimal": ("minimal sequential loop (index batches, 2 threads)", plain_minimal_loop),
}


def reference_grid(config, name: str) -> tuple[float, dict]:
    loop = REFERENCES[name][1]
    torch.set_num_threads(2)
    accs = defaultdict(list)
    load(config.runs()[0])  # read from the cache before timing, as layerorder's driver does
    start = time.perf_counter()
    for cfg in config.runs():
        data = load(cfg)
        accs[cfg.order].append(loop(make_model(cfg, data), data, cfg))
    return time.perf_counter() - start, accs


def layerorder_grid(config, executor: str, stack_mode: str = "auto") -> tuple[float, dict, str]:
    config = type(config)(**{**config.__dict__, "executor": executor, "stack_mode": stack_mode})
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "b.db") as store:
        start = time.perf_counter()
        summary = run_sweep(config, store)
        wall = time.perf_counter() - start
        accs = defaultdict(list)
        for run in store.runs(summary.experiment.id):
            accs[run.label].append(run.final_test_acc)
    return wall, accs, summary.plan.describe()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--executor", default="auto")
    parser.add_argument("--stack-mode", default="auto", help="with a stacking executor")
    parser.add_argument(
        "--reference", default="plain,minimal", help="comma-separated: plain, minimal"
    )
    args = parser.parse_args()
    names = [r.strip() for r in args.reference.split(",") if r.strip()]
    if not names or any(r not in REFERENCES for r in names):
        parser.error(f"--reference takes plain and/or minimal, got {args.reference!r}")
    config = default_grid(args.epochs, args.seeds)
    load(config.runs()[0])  # data generated and cached before timing
    t_ours, ours, plan = layerorder_grid(config, args.executor, args.stack_mode)
    rss_children = peak_rss_mib(children=True)
    # each reference in a fresh process, as a plain script runs: nothing that layerorder's
    # sweep left in this one (thread settings, allocator state, warm caches) carries into it
    spawn = multiprocessing.get_context("spawn")
    refs = {}
    for name in names:
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            refs[name] = pool.submit(reference_grid, config, name).result()
    n = len(config.runs())
    print(
        f"default grid: {n} runs ({len(config.orders)} orders x {len(config.seeds)} seeds),"
        f" {config.epochs} epochs, mnist1d / cnn1d"
    )
    print(f"layerorder ({plan}): {t_ours:.1f} s")
    for name, (t_ref, _) in refs.items():
        print(f"{REFERENCES[name][0]}: {t_ref:.1f} s")
        print(f"  speed-up vs {name}: {t_ref / t_ours:.2f}x  (target >= 2x, stretch 3x)")
    print(f"mean final test accuracy per order (layerorder | {' | '.join(names)}):")
    for order in config.orders:
        cells = [f"{statistics.mean(ours[order]):6.2f}"]
        cells += [f"{statistics.mean(accs[order]):6.2f}" for _, accs in refs.values()]
        print(f"  {order:15s} " + " | ".join(cells))
    print(f"peak RSS: driver {peak_rss_mib():.0f} MiB, largest worker {rss_children:.0f} MiB")


if __name__ == "__main__":
    main()
