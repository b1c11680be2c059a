"""Draw report info records with matplotlib; ``svg`` inlines a figure, ``png`` writes a file."""

from __future__ import annotations

import base64
import functools
import io
import math
import re
import warnings

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from layerorder.files import atomic_output
from layerorder.probe.recording import bin_edges
from layerorder.stats.metric import ACCURACY_METRIC, Metric

# Applied around each drawing and saving only: the user's rcParams and backend stay as they are
# (figures are plain ``Figure`` objects, never pyplot's, so no backend is chosen or switched).
STYLE = {
    "svg.fonttype": "none",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "layerorder",
}


def styled(draw):
    """Run a drawing function with the report's style in force."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        # matplotlib's notes on empty panels (every run diverged: no legend entries, no positive
        # values for a log axis) are not the user's concern: the page says what happened
        with matplotlib.rc_context(STYLE), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return draw(*args, **kwargs)

    return wrapper


class ShownFigure(Figure):
    """A matplotlib ``Figure`` that Jupyter shows as an image with no magic and no backend:
    its ``_repr_png_`` draws it with the PNG canvas at save time, in the report's style, as
    ``png`` does (no pyplot; no global state of matplotlib is touched)."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        with matplotlib.rc_context(STYLE):
            self.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        return buf.getvalue()


class Figures(list):
    """Several figures (one per order, say): a list, which Jupyter shows as the images one after
    another (a plain list would show as text)."""

    def _repr_html_(self) -> str:
        return "".join(
            f'<img alt="figure {i + 1}" src="data:image/png;base64,'
            f'{base64.b64encode(fig._repr_png_()).decode()}"/>' for i, fig in enumerate(self))


def legend_above(fig, ax) -> None:
    """``ax``'s legend above the whole figure, clear of every panel's data, titles and axis
    labels (the saved figure's tight box keeps it); the panels of one figure share entries."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                   ncol=min(4, len(labels)), fontsize=8, frameon=False)


def subplots(*args, figsize, **kwargs):
    """A new figure and its axes, as ``pyplot.subplots`` gives them, without pyplot."""
    fig = ShownFigure(figsize=figsize)
    return fig, fig.subplots(*args, **kwargs)


COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]


def color(i: int) -> str:
    return COLORS[i % len(COLORS)]


def svg(fig) -> str:
    """The figure as an inline <svg> element (no XML prolog), then closed."""
    buf = io.StringIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return re.sub(r"^.*?(<svg)", r"\1", text, count=1, flags=re.S)


def png(fig, path) -> None:
    with matplotlib.rc_context(STYLE), atomic_output(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110, bbox_inches="tight")


@styled
def learning_curves(acc, loss, metric: Metric = ACCURACY_METRIC):
    """The compared metric per epoch and, where there are curves of it, the training loss."""
    panels = [(acc, metric.label)] + ([(loss, "train loss")] if loss else [])
    fig, axes = subplots(1, len(panels), figsize=(5 * len(panels), 3.4), squeeze=False)
    axes = axes[0]
    for ax, (curves, ylabel) in zip(axes, panels):
        for i, c in enumerate(curves):
            ax.plot(c.epochs, c.mean, color=color(i), label=f"{c.label} (n={c.n})", linewidth=1.6)
            lo = [v if math.isfinite(v) else m for v, m in zip(c.low, c.mean)]
            hi = [v if math.isfinite(v) else m for v, m in zip(c.high, c.mean)]
            ax.fill_between(c.epochs, lo, hi, color=color(i), alpha=0.18, linewidth=0)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
        ax.set_ylabel(ylabel)
    if loss:
        axes[1].set_yscale("log")
    legend_above(fig, axes[0])
    axes[0].set_title("mean over seeds, 95% CI band", fontsize=9)
    return fig


@styled
def final_distribution(finals, metric: Metric = ACCURACY_METRIC):
    fig, ax = subplots(figsize=(max(4, 1.3 * len(finals) + 1.5), 3.4))
    data = [list(f.values) for f in finals]
    positions = list(range(1, len(finals) + 1))
    if any(data):
        ax.boxplot(
            [d if d else [math.nan] for d in data],
            positions=positions,
            widths=0.5,
            showfliers=False,
            medianprops={"color": "black"},
        )
    for i, f in enumerate(finals):
        n = len(f.values)
        xs = [positions[i] + (0.0 if n < 2 else -0.15 + 0.3 * k / (n - 1)) for k in range(n)]
        ax.scatter(xs, f.values, color=color(i), s=18, zorder=3)
    ax.set_xticks(positions, [f.label for f in finals], rotation=15)
    ax.set_ylabel(f"final {metric.label}")
    ax.set_title("one point per seed", fontsize=9)
    return fig


def _better_blue(metric: Metric) -> str:
    """A diverging colour map where blue is the better side of a difference (the row's order,
    or the compared one, is better), whichever way the metric goes."""
    return "RdBu" if metric.higher_is_better else "RdBu_r"


@styled
def pairwise_matrix(labels, pairs, metric: Metric = ACCURACY_METRIC):
    n = len(labels)
    idx = {label: i for i, label in enumerate(labels)}
    delta = [[math.nan] * n for _ in range(n)]
    pval = [[math.nan] * n for _ in range(n)]
    for p in pairs:
        i, j = idx[p.a], idx[p.b]
        delta[i][j], delta[j][i] = p.mean_diff, -p.mean_diff
        pval[i][j] = pval[j][i] = p.p_holm
    fig, ax = subplots(figsize=(1.3 * n + 2.5, 1.0 * n + 1.5))
    finite = [abs(v) for row in delta for v in row if math.isfinite(v)]
    lim = max(finite) if finite else 1.0
    im = ax.imshow(delta, cmap=_better_blue(metric), vmin=-lim, vmax=lim)
    for i in range(n):
        for j in range(n):
            if i != j and math.isfinite(delta[i][j]):
                star = "*" if pval[i][j] < 0.05 else ""
                ax.text(
                    j,
                    i,
                    f"{metric.signed(delta[i][j])}\np={pval[i][j]:.3f}{star}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if abs(delta[i][j]) > 0.6 * lim else "black",
                )
    ax.set_xticks(range(n), labels, rotation=30, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set_title(f"row minus column {metric.diff_unit}; Holm p, * < 0.05", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046)
    return fig


@styled
def lr_robustness(series, metric: Metric = ACCURACY_METRIC):
    fig, ax = subplots(figsize=(6, 3.4))
    for i, s in enumerate(series):
        ax.plot(s.lrs, s.means, marker="o", color=color(i), label=s.label)
        for lr, m, d in zip(s.lrs, s.means, s.diverged):
            if d:
                y = m if math.isfinite(m) else 0.0
                ax.scatter([lr], [y], marker="x", s=60, color=color(i), zorder=3)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel(f"mean final {metric.label}")
    ax.set_title("x: at least one run diverged", fontsize=9)
    legend_above(fig, ax)
    return fig


def signed_bars(ax, hist, hist_range, **style) -> None:
    """A probe histogram as bars over its equal bins, as fractions of all values: one filled
    step outline (``stairs``), not a patch per bin (``bar``), which took twice as long to draw a
    chart of 20 stages as SVG, and 2.5 times the bytes (624 against 247 KiB)."""
    edges = bin_edges(len(hist), hist_range)
    total = max(sum(hist), 1)
    ax.stairs([h / total for h in hist], edges, fill=True, **style)


@styled
def stage_histograms(order_probes, max_cols: int = 5):
    """Each stage's histogram over its own recorded range (grey at init, blue trained)."""
    stages = order_probes.stages
    cols = min(max_cols, max(len(stages), 1))
    rows = max(1, math.ceil(len(stages) / cols))
    fig, axes = subplots(rows, cols, figsize=(2.1 * cols, 1.6 * rows), squeeze=False)
    for ax, st in zip(axes.flat, stages):
        for hist, c, a in ((st.init_hist, "#999999", 0.6), (st.trained_hist, "#1f77b4", 0.55)):
            signed_bars(ax, hist, st.hist_range, color=c, alpha=a)
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_title(f"{st.name.removeprefix('features.')} ({st.kind})", fontsize=8)
        ax.tick_params(labelsize=6)
        ax.locator_params(nbins=3)  # a small panel: its shape, not its scale, is the point
    for ax in list(axes.flat)[len(stages) :]:
        ax.axis("off")
    fig.suptitle(
        f"{order_probes.label}: grey at init, blue after epoch {order_probes.final_epoch}",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


@styled
def stage_chains(chains):
    """One row per order: the signed histogram after each stage of the same block, in the
    block's order (weight, norm, activation, pool, ...), every panel on the same axes."""
    cols = max(len(c.steps) for c in chains)
    fig, axes = subplots(
        len(chains), cols, figsize=(2.2 * cols, 1.7 * len(chains)), squeeze=False,
        sharex=True, sharey=True,
    )
    for row, (chain, line) in enumerate(zip(chains, axes)):
        for k, (ax, step) in enumerate(zip(line, chain.steps)):
            signed_bars(ax, step.hist, step.hist_range, color=color(row), alpha=0.7)
            ax.axvline(0, color="black", linewidth=0.6)
            stage = step.name.rpartition(".")[2]
            ax.set_title(
                f"{k + 1}. after {stage} ({step.kind}): {100 * step.frac_positive:.0f}% > 0",
                fontsize=7,
            )
            ax.tick_params(labelsize=6)
        for ax in list(line)[len(chain.steps):]:
            ax.axis("off")
        line[0].set_ylabel(f"{chain.label}\n({chain.block})", fontsize=8)
    fig.suptitle(
        "One block, stage by stage in each order (trained; tails clamped to the end bins)",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


@styled
def probe_summary(orders):
    fig, axes = subplots(1, 4, figsize=(15, 3.2))
    for i, o in enumerate(orders):
        c = color(i)
        axes[0].plot(
            [100 * s.trained_positive for s in o.stages], marker=".", color=c, label=o.label
        )
        axes[1].plot([s.trained_dead for s in o.stages], marker=".", color=c, label=o.label)
        axes[2].plot([g[2] for g in o.grads], marker="o", color=c, label=o.label)
        axes[3].plot([v[1] for v in o.varshift], marker="s", color=c, label=o.label)
    titles = (
        "% positive per stage (trained)",
        "dead units per stage (trained)",
        "|grad| / |weight| per weight layer",
        "BN variance shift per BN layer",
    )
    for ax, title in zip(axes, titles):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("position in the network")
    axes[2].set_yscale("log")
    axes[3].axhline(1.0, color="black", linewidth=0.6)
    fig.tight_layout()
    legend_above(fig, axes[0])
    return fig


DECISION_COLORS = {"different": "#d62728", "equivalent": "#2ca02c", "undecided": "#7f7f7f"}


def oriented(d, ref: str):
    """(other order, difference other - ref, CI low, CI high) of a ``PairDecision``."""
    if d.b == ref:
        return d.a, d.mean_diff, d.ci_low, d.ci_high
    return d.b, -d.mean_diff, -d.ci_high, -d.ci_low


@styled
def differences(decisions, margin: float, metric: Metric = ACCURACY_METRIC):
    """Each pair's mean paired difference with its 95% CI, coloured by decision, over the
    equivalence band +-margin (grey)."""
    n = max(1, len(decisions))
    fig, ax = subplots(figsize=(7, 0.38 * n + 1.3))
    if margin > 0:
        ax.axvspan(-margin, margin, color="#dddddd", alpha=0.7, linewidth=0,
                   label=f"equivalence band ±{margin:g}")
    ax.axvline(0.0, color="black", linewidth=0.8)
    names = []
    for i, d in enumerate(decisions):
        y = n - 1 - i
        c = DECISION_COLORS.get(d.decision, "black")
        if math.isfinite(d.ci_low):
            ax.plot([d.ci_low, d.ci_high], [y, y], color=c, linewidth=2)
        ax.scatter([d.mean_diff], [y], color=c, s=22, zorder=3)
        cond = f" [{d.condition}]" if d.condition else ""
        names.append((y, f"{d.a} − {d.b}{cond}: {d.decision}"))
    ax.set_yticks([y for y, _ in names], [t for _, t in names], fontsize=8)
    ax.set_xlabel(f"mean paired difference {metric.diff_unit}, 95% CI")
    legend_above(fig, ax)
    return fig


@styled
def effect_by_condition(analysis, ref: str):
    """The effect of each order against ``ref`` at every level of the varied factors: one panel
    per factor (one factor), or a heatmap of the difference per compared order (two factors)."""
    points = [(c, d) for c in analysis.conditions for d in c.decisions if ref in (d.a, d.b)]
    others = list(dict.fromkeys(oriented(d, ref)[0] for _, d in points))
    factors = analysis.factors
    margin = analysis.margin
    metric = analysis.plan.metric
    unit = metric.diff_unit
    if len(factors) == 2:
        f1, f2 = factors
        lv1 = list(dict.fromkeys(dict(c.levels)[f1] for c in analysis.conditions))
        lv2 = list(dict.fromkeys(dict(c.levels)[f2] for c in analysis.conditions))
        fig, axes = subplots(1, max(1, len(others)), figsize=(3.6 * max(1, len(others)) + 1, 3.2),
                             squeeze=False)
        for ax, other in zip(axes[0], others):
            grid = [[math.nan] * len(lv1) for _ in lv2]
            for c, d in points:
                if oriented(d, ref)[0] == other:
                    lev = dict(c.levels)
                    grid[lv2.index(lev[f2])][lv1.index(lev[f1])] = oriented(d, ref)[1]
            finite = [abs(v) for row in grid for v in row if math.isfinite(v)]
            lim = max([*finite, margin])
            im = ax.imshow(grid, cmap=_better_blue(metric), vmin=-lim, vmax=lim, aspect="auto")
            for i, row in enumerate(grid):
                for j, v in enumerate(row):
                    if math.isfinite(v):
                        ax.text(j, i, metric.signed(v), ha="center", va="center", fontsize=7)
            ax.set_xticks(range(len(lv1)), [str(v) for v in lv1])
            ax.set_yticks(range(len(lv2)), [str(v) for v in lv2])
            ax.set_xlabel(f1)
            ax.set_ylabel(f2)
            ax.set_title(f"{other} − {ref} {unit}", fontsize=9)
            fig.colorbar(im, ax=ax, fraction=0.046)
        return fig
    fig, axes = subplots(1, max(1, len(factors)), figsize=(5 * max(1, len(factors)), 3.4),
                         squeeze=False)
    for ax, factor in zip(axes[0], factors):
        levels = list(dict.fromkeys(dict(c.levels)[factor] for c in analysis.conditions))
        if margin > 0:
            ax.axhspan(-margin, margin, color="#dddddd", alpha=0.7, linewidth=0,
                       label=f"±{margin:g} (equivalent)")
        ax.axhline(0.0, color="black", linewidth=0.8)
        for k, other in enumerate(others):
            xs, ys, lo, hi = [], [], [], []
            for c, d in points:
                name, diff, low, high = oriented(d, ref)
                if name == other:
                    xs.append(levels.index(dict(c.levels)[factor]) + 0.06 * (k - len(others) / 2))
                    ys.append(diff)
                    lo.append(diff - low if math.isfinite(low) else 0.0)
                    hi.append(high - diff if math.isfinite(high) else 0.0)
            ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", color=color(k), capsize=3,
                        label=f"{other} − {ref}")
        ax.set_xticks(range(len(levels)), [str(v) for v in levels])
        ax.set_xlabel(factor)
        ax.set_ylabel(f"paired difference {unit}, 95% CI")
    legend_above(fig, axes[0][0])
    return fig


@styled
def claim_estimates(estimates, reference, axis: str):
    """A claim's evidence: one row per estimate, its per-seed values as dots, its mean and 90 %
    interval as a bar; the claim's band (or threshold) shaded. None when there is nothing."""
    rows = [e for e in estimates if math.isfinite(e.mean)]
    if not rows:
        return None
    fig, ax = subplots(figsize=(6.4, 0.45 * len(rows) + 0.9))
    for i, e in enumerate(reversed(rows)):
        if e.values:
            ax.plot(e.values, [i] * len(e.values), "o", ms=3.5, alpha=0.45, color=color(0))
        if math.isfinite(e.low):
            ax.plot([e.low, e.high], [i, i], "-", lw=2.2, color=color(1))
        ax.plot([e.mean], [i], "D", ms=5, color=color(1))
    if reference is not None:
        lo, hi = reference
        if lo == hi:
            ax.axvline(lo, color="#888", ls="--", lw=1)
        else:
            left, right = ax.get_xlim()
            ax.axvspan(lo if math.isfinite(lo) else left, hi if math.isfinite(hi) else right,
                       color="#2ca02c", alpha=0.12, lw=0)
            ax.set_xlim(left, right)
    ax.set_yticks(range(len(rows)), [e.label for e in reversed(rows)])
    ax.set_xlabel(axis + " (dots: seeds; bar: mean and CI; green: the claim's band)")
    return fig
