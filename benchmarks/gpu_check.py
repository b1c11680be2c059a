"""The checks that need a GPU, printed as numbers (run by ``benchmarks/gpu_check.sh``).

1. ``--device auto`` resolves to CUDA, and the provenance of a run names the GPU.
2. The default grid's orders and model (five orders, ``--grid-seeds`` seeds each, default 25;
   ``--grid-epochs`` each, default 2, to fit the check's 5 minutes) on CUDA through the
   sequential, process and stacked executors, the stacked one in both stack modes: wall time,
   runs per hour, and each against the sequential runs (the batched mode to rounding per step and
   within seed noise in final accuracy; the exact mode bit for bit where the kernels allow).
3. The stacked executor on CUDA against sequential training of the same seeds for cnn1d and
   resnet: per-epoch training losses, final accuracies and the wall-time ratio.
4. ``--amp`` (bfloat16 autocast) on and off: finite, and its accuracy and time beside float32.
5. Runs trained in this process leave the caller's CPU and CUDA generators as they were.

Each comparison trains through ``layerorder.compare`` into a store of its own under ``--out``.
``--device cpu`` runs the same code on the CPU at the sizes given (CI runs it so, tiny, to keep
the script working on machines without a GPU: ``tests/test_gpu_check.py``); its numbers say
nothing about GPUs.
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

DEFAULT_ORDERS = ["standard", "act-first", "preact", "drop-before-bn", "no-norm"]


def _compare(out: Path, name: str, **settings):
    """Train afresh (a store left by an earlier check would train nothing and time nothing)."""
    t0 = time.perf_counter()
    res = layerorder.compare(store=out / f"{name}.db", progress=False, fresh=True, **settings)
    return res, time.perf_counter() - t0


def _save(out: Path, report: dict) -> None:
    """Written after every section, so a check cut off by its time limit keeps what it had."""
    (out / "gpu_check.json").write_text(json.dumps(report, indent=1, default=str) + "\n")


def _by_run(res) -> dict[tuple[str, int], tuple[float, list[float]]]:
    return {(r.label, r.seed): (r.final_test_acc, [e.train_loss for e in res.epochs[r.id]])
            for r in res.runs}


def _agreement(a: dict, b: dict) -> dict:
    """How far runs ``b`` are from the same runs ``a``: per-epoch training loss (relative) and
    final accuracy (points)."""
    assert a.keys() == b.keys(), (a.keys(), b.keys())
    rel = max(abs(x - y) / max(abs(x), 1e-12) for k in a for x, y in zip(a[k][1], b[k][1]))
    acc = [b[k][0] - a[k][0] for k in a]
    return {"runs": len(a), "max_rel_train_loss_diff": rel,
            "max_final_acc_diff_points": max(abs(d) for d in acc),
            "mean_final_acc_diff_points": sum(acc) / len(acc),
            "bit_for_bit": all(a[k] == b[k] for k in a)}


def grid_check(out: Path, device: str, epochs: int, seeds: int, workers: int,
               dataset: str) -> dict:
    """The default grid through every executor on ``device``, against the sequential runs."""
    base = dict(dataset=dataset, orders=DEFAULT_ORDERS, epochs=epochs, seeds=seeds,
                device=device)
    seq, t_seq = _compare(out, "grid-sequential", executor="sequential", **base)
    runs = len(seq.runs)
    report = {"runs": runs, "epochs": epochs,
              "sequential": {"s": round(t_seq, 2), "runs_per_hour": round(runs / t_seq * 3600)}}
    reference = _by_run(seq)
    for name, settings in (("process", dict(executor="process", workers=workers)),
                           ("stacked_batched", dict(executor="stacked", stack_mode="batched")),
                           ("stacked_exact", dict(executor="stacked", stack_mode="exact"))):
        res, seconds = _compare(out, f"grid-{name}", **settings, **base)
        report[name] = {"s": round(seconds, 2), "runs_per_hour": round(runs / seconds * 3600),
                        "speedup_vs_sequential": round(t_seq / seconds, 2),
                        **_agreement(reference, _by_run(res))}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("gpu-check"))
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--grid-seeds", type=int, default=25)
    parser.add_argument("--grid-epochs", type=int, default=2)
    parser.add_argument("--dataset", default="mnist1d")
    parser.add_argument("--image-dataset", default="mnist5k", help="for the --amp check (cnn2d)")
    parser.add_argument("--workers", type=int, default=4, help="process executor's workers")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    cuda = args.device == "cuda"
    report: dict = {"torch": torch.__version__, "cuda": torch.cuda.is_available(),
                    "device": args.device}
    if cuda and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: nothing to check (--device cpu runs the code on the CPU)")
    report["gpu"] = torch.cuda.get_device_name() if cuda else None
    report["auto_device"] = resolve_device("auto")
    report["default_grid"] = grid_check(args.out, args.device, args.grid_epochs, args.grid_seeds,
                                        args.workers, args.dataset)
    _save(args.out, report)
    base = dict(dataset=args.dataset, epochs=args.epochs, seeds=args.seeds, workers=1)
    # runs in this process (sequential and stacked executors) must leave the caller's
    # generators as they were, on the CPU and on every GPU in use
    torch.manual_seed(4321)
    cpu_state = torch.get_rng_state()
    if cuda:
        torch.cuda.manual_seed_all(4321)
        gpu_states = torch.cuda.get_rng_state_all()
    for arch, orders in (("cnn1d", ["standard", "act-first", "preact"]),
                         ("resnet", ["original", "full-preact"])):
        seq, t_seq = _compare(args.out, f"{arch}-seq", arch=arch, orders=orders,
                              device=args.device, executor="sequential", **base)
        stk, t_stk = _compare(args.out, f"{arch}-stk", arch=arch, orders=orders,
                              device=args.device, executor="stacked", **base)
        report[f"{arch}_stacked_vs_sequential"] = {
            **_agreement(_by_run(seq), _by_run(stk)),
            "sequential_s": round(t_seq, 2), "stacked_s": round(t_stk, 2),
            "speedup": round(t_seq / t_stk, 2),
            "device_in_provenance": sorted({str(r.provenance.get("device"))
                                            for r in stk.runs if r.provenance}),
        }
        _save(args.out, report)
    report["caller_rng_unchanged"] = bool(torch.equal(torch.get_rng_state(), cpu_state) and (
        not cuda or all(torch.equal(a, b)
                        for a, b in zip(torch.cuda.get_rng_state_all(), gpu_states))))
    amp, t_amp = _compare(args.out, "amp", arch="cnn2d", dataset=args.image_dataset,
                          orders=["standard", "preact"], device=args.device, amp=True,
                          epochs=args.epochs, seeds=2, executor="sequential")
    f32, t_f32 = _compare(args.out, "f32", arch="cnn2d", dataset=args.image_dataset,
                          orders=["standard", "preact"], device=args.device,
                          epochs=args.epochs, seeds=2, executor="sequential")
    accs = {k: v[0] for k, v in _by_run(amp).items()}
    report["amp_bf16"] = {
        "all_finite": all(math.isfinite(x) for x in accs.values()),
        "mean_acc_amp": sum(accs.values()) / len(accs),
        "mean_acc_f32": sum(v[0] for v in _by_run(f32).values()) / len(accs),
        "amp_s": round(t_amp, 2), "f32_s": round(t_f32, 2),
        "speedup": round(t_f32 / t_amp, 2),
    }
    _save(args.out, report)
    print(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
