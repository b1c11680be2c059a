"""Seeds until decided vs a fixed number of seeds, on the default grid.

Runs the default comparison (MNIST-1D, cnn1d, the five presets, 20 epochs) twice into fresh
stores: a fixed design of ``--max-seeds`` seeds per order (the reference), and ``--until-decided``
starting from ``--seeds`` seeds per round up to the same maximum. Prints the runs each trained,
the wall time of each and their ratio, and whether every pair got the same decision.

    python benchmarks/bench_until_decided.py                  # 5 per round, at most 20
    python benchmarks/bench_until_decided.py --epochs 5 --max-seeds 10
    python benchmarks/bench_until_decided.py --order standard --order no-norm
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import layerorder


def run(store: Path, **settings):
    start = time.perf_counter()
    results = layerorder.compare(store=store, progress=False, **settings)
    return results, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per round")
    parser.add_argument("--max-seeds", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--order", action="append", help="orders (default: the five presets)")
    args = parser.parse_args()
    orders = {"orders": args.order} if args.order else {}
    with tempfile.TemporaryDirectory() as tmp:
        fixed, t_fixed = run(
            Path(tmp) / "fixed.db", seeds=args.max_seeds, epochs=args.epochs, **orders
        )
        seq, t_seq = run(
            Path(tmp) / "seq.db", seeds=args.seeds, epochs=args.epochs, until_decided=True,
            max_seeds=args.max_seeds, **orders,
        )
    print(f"fixed {args.max_seeds} seeds: {fixed.trained} runs, {t_fixed:.1f} s")
    looks = ", ".join(map(str, seq.analysis.looks))
    used = max(d.n_pairs for d in seq.analysis.decisions)
    print(f"until decided (looks at {looks}): {seq.trained} runs ({used} seeds), {t_seq:.1f} s")
    runs, wall = seq.trained / fixed.trained, t_seq / t_fixed
    print(f"ratio: {runs:.2f} of the runs, {wall:.2f} of the time")
    fixed_d = {(d.a, d.b): d for d in fixed.analysis.decisions}
    same = 0
    for d in seq.analysis.decisions:
        f = fixed_d[(d.a, d.b)]
        agree = f.decision == d.decision
        same += agree
        print(
            f"  {d.a} - {d.b}: fixed {f.decision} ({f.mean_diff:+.2f}), until decided"
            f" {d.decision} ({d.mean_diff:+.2f}, at {d.decided_at or used} seeds)"
            f"{'' if agree else '  <- differs'}"
        )
    print(f"same decision for {same} of {len(seq.analysis.decisions)} pairs")
    # what limits the saving: an order is trained up to the look where the last of its pairs was
    # decided, so no run of this design could train fewer runs than this with these decisions
    need: dict[str, int] = {}
    for d in seq.analysis.decisions:
        for order in (d.a, d.b):
            need[order] = max(need.get(order, 0), d.decided_at or used)
    least = sum(need.values())  # the default grid: one condition
    per_run = t_fixed / fixed.trained
    print(f"the least this design trains with these decisions: {least} runs "
          f"({', '.join(f'{o} {n}' for o, n in need.items())} seeds), "
          f"{least / fixed.trained:.2f} of the runs; at the fixed design's "
          f"{per_run:.2f} s per run that is {least * per_run:.1f} s "
          f"({least / fixed.trained:.2f} of its time), and {t_seq - least * per_run:+.1f} s "
          "went to the rounds (each look waits for its round's last run, then analyses)")
    print("fixed verdict:", fixed.verdict.text)
    print("until-decided verdict:", seq.verdict.text)


if __name__ == "__main__":
    main()
