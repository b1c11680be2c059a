"""(f) How far a training step of the default model is from this machine's arithmetic limit.

For each order of the default grid (``cnn1d`` on MNIST-1D, batch 100) on one thread: the
floating-point operations of one training step (forward and backward, counted by PyTorch's own
``torch.utils.flop_counter.FlopCounterMode``: convolutions and matrix products; the element-wise
work of BatchNorm, activations, dropout and Adam is not counted), the time of a step (median of
``--repeats`` timings of ``--steps`` steps each, the loop's own step: index batch, forward,
cross-entropy, backward, fused Adam, one-cycle), and their ratio in GFLOP/s. Beside them, in the
same run: the rate of one large sgemm (``--gemm`` square float32 matrices) and of a matrix
product of the shape a convolution of this model lowers to (im2col), and the share of a step's
time each kind of operation takes (``torch.profiler``, self time).

With ``--alternatives`` it also times, forward and backward on the model's own shapes, what a
step could use instead of its slowest kernels: PyTorch's native convolution and an im2col
convolution through ``addmm`` against oneDNN's, and a BatchNorm written as ``var_mean`` and
element-wise operations against ATen's.

    python benchmarks/bench_step_flops.py [--steps 200] [--repeats 5] [--gemm 1024]
    python benchmarks/bench_step_flops.py --alternatives
    python benchmarks/bench_step_flops.py --compiled   (also each order through torch.compile)
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections import defaultdict

import torch
from common import default_grid, load, make_model
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from layerorder.blocks import seed_dropout
from layerorder.experiment.training.loop import batch_indices, make_optimizer, make_schedule

# profiler op names -> the kind a step's time is reported under (the rest is "other")
KINDS = {
    "aten::mkldnn_convolution": "convolution forward",
    "aten::convolution_backward": "convolution backward",
    "aten::native_batch_norm": "BatchNorm forward",
    "aten::native_batch_norm_backward": "BatchNorm backward",
    "aten::_fused_adam_": "optimizer",
    "Optimizer.step#Adam.step": "optimizer",
    "aten::addmm": "linear",
    "aten::mm": "linear",
}


def stepper(cfg, data):
    """A closure that trains one step of a fresh model of ``cfg`` as the loop does."""
    model = make_model(cfg, data)
    model.train()
    seed_dropout(model, cfg.seed)
    opt = make_optimizer(model.parameters(), cfg, cfg.lr)
    sched = make_schedule(opt, cfg, 10**6)
    gen = torch.Generator().manual_seed(cfg.seed)
    batches: list[torch.Tensor] = []
    loss_fn = torch.nn.CrossEntropyLoss()

    def step() -> None:
        if not batches:
            batches.extend(batch_indices(len(data.x_train), cfg.batch_size, gen))
        idx = batches.pop()
        loss = loss_fn(model(data.x_train[idx]), data.y_train[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()

    return model, step


def step_flops(cfg, data) -> int:
    model = make_model(cfg, data)
    idx = torch.arange(cfg.batch_size)
    with FlopCounterMode(display=False) as counter:
        loss = torch.nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
        loss.backward()
    return counter.get_total_flops()


def seconds_per_step(step, steps: int, repeats: int) -> float:
    for _ in range(20):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


def gemm_rate(m: int, k: int, n: int, repeats: int = 50) -> float:
    """GFLOP/s of an (m, k) @ (k, n) float32 product on this thread."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(5):
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * m * k * n * repeats / (time.perf_counter() - start) / 1e9


def time_shares(step, steps: int) -> dict[str, float]:
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    shares: dict[str, float] = defaultdict(float)
    for event in prof.key_averages():
        shares[KINDS.get(event.key, "other")] += event.self_cpu_time_total
    total = sum(shares.values())
    return {kind: value / total for kind, value in shares.items()}


def microseconds(fn, repeats: int = 300) -> float:
    for _ in range(20):
        fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats * 1e6


def compiled_steps(runs, data, steps: int, repeats: int) -> None:
    """Each order's step eager and through ``torch.compile`` (inductor, C++ on the CPU), timed
    once warm: the compile itself (its first steps) is left out and printed apart. The masks of
    layerorder's dropout run eagerly (``eager_under_compile``), as a compiled run does."""
    from layerorder.blocks.dropout import eager_under_compile

    eager_under_compile()
    print("torch.compile, once warm (ms per step, 1 thread):")
    print("order            eager  compiled  ratio  compile s")
    for cfg in runs:
        _, step = stepper(cfg, data)
        eager = seconds_per_step(step, steps, repeats)
        model, step = stepper(cfg, data)
        start = time.perf_counter()
        model.compile()
        for _ in range(3):  # the train graph and its recompiles
            step()
        warm = time.perf_counter() - start
        compiled = seconds_per_step(step, steps, repeats)
        print(f"{cfg.order:<16} {eager * 1e3:>5.2f} {compiled * 1e3:>9.2f} "
              f"{compiled / eager:>5.2f}x {warm:>9.1f}")


def im2col_conv1d(x, weight, bias, stride: int, pad: int):
    """A 1-d convolution as one matrix product of the unfolded input (autograd backward)."""
    n, c, _ = x.shape
    out_c, _, k = weight.shape
    cols = torch.nn.functional.pad(x, (pad, pad)).unfold(2, k, stride)  # n, c, l_out, k
    l_out = cols.shape[2]
    cols = cols.permute(0, 2, 1, 3).reshape(n * l_out, c * k)
    out = torch.addmm(bias, cols, weight.view(out_c, c * k).t())
    return out.view(n, l_out, out_c).permute(0, 2, 1)


def alternatives(batch: int) -> None:
    """Forward and backward, in microseconds, of each kernel choice at the model's shapes."""
    print("forward + backward at the default model's shapes, 1 thread (microseconds):")
    for length in (40, 20):
        alternatives_at(batch, length)


def alternatives_at(batch: int, length: int) -> None:
    f = torch.nn.functional
    x = torch.randn(batch, 32, length, requires_grad=True)
    w = torch.randn(32, 32, 5, requires_grad=True)
    b = torch.randn(32, requires_grad=True)
    bn = torch.nn.BatchNorm1d(32)

    def run(layer):
        def step():
            y = layer()
            y.backward(torch.ones_like(y))
        return step

    def by_hand():
        var, mean = torch.var_mean(x, dim=(0, 2), keepdim=True, correction=0)
        return (x - mean) * torch.rsqrt(var + bn.eps) * bn.weight[:, None] + bn.bias[:, None]

    onednn = microseconds(run(lambda: f.conv1d(x, w, b, stride=2, padding=2)))
    with warnings.catch_warnings():  # the flags' note about TF32 on Intel GPUs
        warnings.simplefilter("ignore", UserWarning)
        with torch.backends.mkldnn.flags(enabled=False):
            native = microseconds(run(lambda: f.conv1d(x, w, b, stride=2, padding=2)))
    im2col = microseconds(run(lambda: im2col_conv1d(x, w, b, 2, 2)))
    print(f"  conv 32->32, k5 s2, on ({batch}, 32, {length}): oneDNN {onednn:.0f}, "
          f"native {native:.0f} ({native / onednn:.2f}x), im2col + addmm {im2col:.0f} "
          f"({im2col / onednn:.2f}x)")
    aten = microseconds(run(lambda: bn(x)))
    hand = microseconds(run(by_hand))
    print(f"  BatchNorm on ({batch}, 32, {length}): ATen {aten:.0f}, var_mean and "
          f"element-wise {hand:.0f} ({hand / aten:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--gemm", type=int, default=1024, help="size of the square sgemm")
    parser.add_argument("--alternatives", action="store_true",
                        help="also time other kernels for the step's convolutions and BatchNorm")
    parser.add_argument("--compiled", action="store_true",
                        help="also time each order's step through torch.compile, once warm")
    args = parser.parse_args()
    if min(args.steps, args.repeats, args.gemm) < 1:
        parser.error("--steps, --repeats and --gemm take positive whole numbers")
    torch.set_num_threads(1)
    config = default_grid(seeds=1)
    runs = config.runs()
    data = load(runs[0])
    peak = gemm_rate(args.gemm, args.gemm, args.gemm)
    batch = runs[0].batch_size
    # the 32 -> 32 convolution of kernel 5 and stride 2 on 40 samples, as one im2col product
    im2col = gemm_rate(batch * 20, 32 * 5, 32, repeats=500)
    print(f"sgemm {args.gemm}x{args.gemm}, 1 thread: {peak:.1f} GFLOP/s")
    print(f"the same product at a convolution's im2col shape ({batch * 20}x160 @ 160x32): "
          f"{im2col:.1f} GFLOP/s ({im2col / peak:.0%} of the sgemm)")
    header = "order            GFLOP/step  ms/step  GFLOP/s  of sgemm"
    print(header)
    shares_all: dict[str, list[float]] = defaultdict(list)
    for cfg in runs:
        flops = step_flops(cfg, data)
        model, step = stepper(cfg, data)
        secs = seconds_per_step(step, args.steps, args.repeats)
        rate = flops / secs / 1e9
        print(f"{cfg.order:<16} {flops / 1e9:>10.4f} {secs * 1e3:>8.2f} {rate:>8.1f} "
              f"{rate / peak:>9.1%}")
        for kind, share in time_shares(step, min(args.steps, 100)).items():
            shares_all[kind].append(share)
    print("share of a step's time (self time under torch.profiler; min-max over the orders):")
    for kind, values in sorted(shares_all.items(), key=lambda kv: -max(kv[1])):
        print(f"  {kind:<22} {min(values):>6.1%} - {max(values):.1%}")
    if args.alternatives:
        alternatives(batch)
    if args.compiled:
        compiled_steps(runs, data, args.steps, args.repeats)


if __name__ == "__main__":
    main()
