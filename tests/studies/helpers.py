"""Stored results prepared for each claim outcome, without training: run records with planted
accuracies and probe records with planted statistics, analysed by the comparison's own code."""

from __future__ import annotations

import math
from pathlib import Path

from layerorder.probe.records import StageStats, VarianceShift
from layerorder.results import Results
from layerorder.stats.analysis import analyze
from layerorder.store import RunRecord
from layerorder.studies import load_study
from layerorder.studies.evidence import Evidence


def run(i, label, seed, acc, *, lr=0.01, status="done", config=None):
    return RunRecord(i, 1, f"k{i}", label, seed, lr, dict(config or {}), status, None, 1, None,
                     None, acc, None, None, 1.0, None, None, None)


def paired_runs(shifts, seeds=8, sd=0.1, config=None, start=0, *, center=95.0, rng_seed=1):
    """One run per (seed, order): a shared per-seed level near ``center``, the order's shift and
    noise of SD ``sd`` (the pairing by seed that the comparisons use)."""
    import numpy as np

    rng = np.random.default_rng(rng_seed)
    runs, i = [], start
    for seed in range(seeds):
        shared = rng.normal(center, 0.5)
        for label, shift in shifts.items():
            i += 1
            runs.append(run(i, label, seed, shared + shift + rng.normal(0, sd), config=config))
    return runs


def stage(name, kind, **values):
    base = dict(count=100, mean=0.0, std=1.0, skewness=0.0, kurtosis=0.0, frac_negative=0.5,
                frac_zero=0.0, frac_positive=0.5, min=-3.0, max=3.0, hist=(1,), units=4,
                dead_units=0, unit_skewness=math.nan)
    base.update(values)
    return StageStats(name=name, kind=kind, **base)


def evidence(runs, probes=None, factors=(), epochs=None):
    """Evidence over ``runs`` (analysed as ``layerorder compare`` would) and ``probes``:
    run id -> [(epoch, kind, record), ...]; ``epochs``: run id -> its ``EpochRecord``s."""
    analysis = analyze(tuple(runs), factors=list(factors), epochs=epochs)
    results = Results(Path("planted.db"), None, tuple(runs), dict(epochs or {}), analysis, 0)
    return Evidence("planted", results, {k: tuple(v) for k, v in (probes or {}).items()})


def probed(label_values, kind="ReLU", stat="frac_positive", epoch=3):
    """One run per (label, seed, value): a conv, a BN and a ``kind`` stage in one block whose
    ``stat`` at ``epoch`` is the value (the BN's input is the conv)."""
    runs, probes, i = [], {}, 0
    for label, values in label_values.items():
        for seed, v in enumerate(values):
            i += 1
            runs.append(run(i, label, seed, 95.0 + 0.1 * seed))
            rows = [(e, "stage", rec) for e in (0, epoch) for rec in (
                stage("f.0.conv", "Conv1d"),
                stage("f.0.norm", "BatchNorm1d"),
                stage("f.0.act", kind, **({stat: v} if e == epoch else {})),
            )]
            rows.append((epoch, "varshift", VarianceShift("f.0.norm", 1.0, v, v, v > 1.25)))
            probes[i] = rows
    return runs, probes


def warmup_runs(means: dict, diverged=()) -> list:
    """Five seeds of each (order, warmup, lr) in ``means`` at depth 12, near its level;
    (order, warmup, lr, seed) in ``diverged`` diverged."""
    runs, i = [], 0
    for (order, warmup, lr), level in means.items():
        for seed in range(5):
            i += 1
            bad = (order, warmup, lr, seed) in diverged
            runs.append(run(i, order, seed, None if bad else level + 0.1 * seed, lr=lr,
                            status="diverged" if bad else "done",
                            config={"warmup": warmup, "depth": 12}))
    return runs


WARMUP_MEANS = {("post-ln", 0.0, 0.001): 80.0, ("post-ln", 0.0, 0.003): 11.0,
                ("post-ln", 100.0, 0.001): 83.0, ("post-ln", 100.0, 0.003): 75.0,
                ("pre-ln", 0.0, 0.001): 82.0, ("pre-ln", 0.0, 0.003): 70.0,
                ("pre-ln", 100.0, 0.001): 86.0, ("pre-ln", 100.0, 0.003): 83.0}


def warmup_claim(claim_id: str):
    study = load_study("transformer-warmup")
    return next(c for c in study.claims if c.id == claim_id), study.config("warmup", "cpu")
