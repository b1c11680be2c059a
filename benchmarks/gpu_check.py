"""The checks that need a GPU, printed as numbers (run by ``benchmarks/gpu_check.sh``).

1. ``--device auto`` resolves to CUDA, and the provenance of a run names the GPU.
2. The stacked executor on CUDA (one grouped convolution and one batched matrix product for all
   seeds) against sequential training of the same seeds on CUDA: per-epoch training losses and
   final accuracies, and the wall-time ratio measured in the same process.
3. ``--amp`` (bfloat16 autocast) on CUDA: finite, and its accuracy and time beside float32.
4. Runs trained in this process leave the caller's CPU and CUDA generators as they were.
Each comparison trains through ``layerorder.compare`` into a store of its own under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch

import layerorder
from layerorder.experiment.training.run_data import resolve_device


def _compare(out: Path, name: str, **settings):
    t0 = time.perf_counter()
    res = layerorder.compare(store=out / f"{name}.db", progress=False, **settings)
    return res, time.perf_counter() - t0


def _by_run(res) -> dict[tuple[str, int], tuple[float, list[float]]]:
    return {(r.label, r.seed): (r.final_test_acc, [e.train_loss for e in res.epochs[r.id]])
            for r in res.runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("gpu-check"))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict = {"torch": torch.__version__, "cuda": torch.cuda.is_available()}
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: nothing to check")
    report["gpu"] = torch.cuda.get_device_name()
    report["auto_device"] = resolve_device("auto")
    base = dict(dataset="mnist1d", epochs=args.epochs, seeds=args.seeds, workers=1)
    # runs in this process (sequential and stacked executors) must leave the caller's
    # generators as they were, on the CPU and on every GPU in use
    torch.manual_seed(4321)
    torch.cuda.manual_seed_all(4321)
    cpu_state, gpu_states = torch.get_rng_state(), torch.cuda.get_rng_state_all()
    for arch, orders in (("cnn1d", ["standard", "act-first", "preact"]),
                         ("resnet", ["original", "full-preact"])):
        seq, t_seq = _compare(args.out, f"{arch}-seq", arch=arch, orders=orders,
                              device="cuda", executor="sequential", **base)
        stk, t_stk = _compare(args.out, f"{arch}-stk", arch=arch, orders=orders,
                              device="cuda", executor="stacked", **base)
        a, b = _by_run(seq), _by_run(stk)
        assert a.keys() == b.keys(), (a.keys(), b.keys())
        rel = max(abs(x - y) / max(abs(x), 1e-12) for k in a for x, y in zip(a[k][1], b[k][1]))
        acc = max(abs(a[k][0] - b[k][0]) for k in a)
        report[f"{arch}_stacked_vs_sequential"] = {
            "runs": len(a), "max_rel_train_loss_diff": rel, "max_final_acc_diff_points": acc,
            "sequential_s": round(t_seq, 2), "stacked_s": round(t_stk, 2),
            "speedup": round(t_seq / t_stk, 2),
            "device_in_provenance": sorted({str(r.provenance.get("device"))
                                            for r in stk.runs if r.provenance}),
        }
    report["caller_rng_unchanged"] = bool(
        torch.equal(torch.get_rng_state(), cpu_state)
        and all(torch.equal(a, b) for a, b in zip(torch.cuda.get_rng_state_all(), gpu_states)))
    amp, t_amp = _compare(args.out, "amp", arch="cnn2d", dataset="mnist5k",
                          orders=["standard", "preact"], device="cuda", amp=True,
                          epochs=args.epochs, seeds=2, executor="sequential")
    f32, t_f32 = _compare(args.out, "f32", arch="cnn2d", dataset="mnist5k",
                          orders=["standard", "preact"], device="cuda",
                          epochs=args.epochs, seeds=2, executor="sequential")
    accs = {k: v[0] for k, v in _by_run(amp).items()}
    report["amp_bf16"] = {
        "all_finite": all(math.isfinite(x) for x in accs.values()),
        "mean_acc_amp": sum(accs.values()) / len(accs),
        "mean_acc_f32": sum(v[0] for v in _by_run(f32).values()) / len(accs),
        "amp_s": round(t_amp, 2), "f32_s": round(t_f32, 2),
    }
    text = json.dumps(report, indent=1, default=str)
    print(text)
    (args.out / "gpu_check.json").write_text(text + "\n")


if __name__ == "__main__":
    main()
