"""Lint speed on 100-block models: trace + role graph + census + rules + fold plans.

Target: under 2 s for a 100-block model. For scale, a bare ``torch.fx.symbolic_trace`` of the same
model is timed in the same run (the ratio is lint time over that floor).

    python benchmarks/bench_lint.py [--blocks 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.fx as fx

from layerorder.lint import lint_model
from layerorder.models import build_model

TARGET_S = 2.0


def timed(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cases(blocks: int):
    cnn = build_model("cnn1d", "standard", in_shape=(1, 40), num_classes=10, depth=blocks)
    yield f"cnn1d, {blocks} conv-bn-relu-drop blocks, torch.fx", cnn, {"mode": "fx"}
    hooks = {"mode": "hooks", "input_shape": (1, 1, 40)}
    yield f"cnn1d, {blocks} blocks, forward hooks (one forward pass)", cnn, hooks
    units = max(1, round(blocks / 3))  # resnet depth 6n+2 has 3n residual units
    depth = 6 * units + 2
    res = build_model("resnet", "original", in_shape=(3, 32, 32), num_classes=10, depth=depth)
    yield f"resnet-{depth}, {3 * units} residual units, torch.fx", res, {"mode": "fx"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{torch.get_num_threads()} threads, median of {args.repeats}")
    worst = 0.0
    for label, model, kwargs in cases(args.blocks):
        t_lint = timed(lambda m=model, k=kwargs: lint_model(m, **k), args.repeats)
        t_trace = timed(lambda m=model: fx.symbolic_trace(m), args.repeats)
        report = lint_model(model, **kwargs)
        nodes = sum(n for _, n in report.roles)
        worst = max(worst, t_lint)
        print(
            f"{label}: lint {t_lint:.3f} s ({nodes} role nodes, {len(report.findings)} findings);"
            f" bare fx trace {t_trace:.3f} s; ratio {t_lint / t_trace:.1f}"
        )
    verdict = "ok" if worst < TARGET_S else "TOO SLOW"
    print(f"slowest lint: {worst:.3f} s (target < {TARGET_S:.0f} s): {verdict}")


if __name__ == "__main__":
    main()
