"""Signed histograms per stage and order (the charts usually drawn by hand), as PNG files."""

from __future__ import annotations

import re
from pathlib import Path

from layerorder.files import atomic_output
from layerorder.probe.records import StageStats


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "stage"


def plot_stage(init: StageStats, trained: StageStats | None, title: str, path: Path):
    from matplotlib.figure import Figure  # no pyplot: the user's backend is left alone

    from layerorder.report.figures import signed_bars

    fig = Figure(figsize=(5, 3), dpi=100)
    ax = fig.subplots()
    for stats, label, color in ((init, "init", "#999999"), (trained, "trained", "#1f77b4")):
        if stats is None:
            continue
        signed_bars(
            ax,
            stats.hist,
            stats.hist_range,
            alpha=0.55,
            color=color,
            label=f"{label}: {100 * stats.frac_positive:.0f}% > 0, skew {stats.skewness:.2f}",
        )
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("value (tails clamped to the end bins)", fontsize=8)
    ax.set_ylabel("fraction", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_output(path, "wb") as fh:
        fig.savefig(fh, format="png")


def write_plots(results, directory: str | Path) -> list[Path]:
    """One PNG per stage and order (``<order>__<stage>.png``), and ``stage-chains.png``: one
    block stage by stage in every order, on shared axes. Returns the files written."""
    from layerorder.probe.chain import chain_from_stats
    from layerorder.report import figures

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    chains = [c for c in (chain_from_stats(r.label, r.trained.stages) for r in results) if c]
    if chains:
        path = out / "stage-chains.png"
        figures.png(figures.stage_chains(chains), path)
        written.append(path)
    for res in results:
        trained = {s.name: s for s in res.trained.stages}
        for i, stage in enumerate(res.init.stages):
            path = out / f"{_safe(res.label)}__{i:02d}_{_safe(stage.name)}.png"
            title = f"{res.label}: {stage.name} ({stage.kind})"
            plot_stage(stage, trained.get(stage.name), title, path)
            written.append(path)
    return written
