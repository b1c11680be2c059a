"""``layerorder probe``: what each order does to activations, gradients and BN statistics."""

from __future__ import annotations

import dataclasses
import itertools
import math
from pathlib import Path

import typer
from rich.columns import Columns
from rich.table import Table

from layerorder.cli.commands_compare import build_config
from layerorder.cli.console import err, fmt, out, print_json
from layerorder.cli.options import setting_options
from layerorder.errors import ConfigError
from layerorder.experiment.training.probing import (
    PROBE_DEFAULTS,
    OrderProbe,
    probe_orders,
    probe_settings,
)
from layerorder.probe.grads import flagged
from layerorder.probe.record import bin_edges
from layerorder.report.probe_plots import write_plots


def _short(name: str) -> str:
    return name.removeprefix("features.")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def stage_table(results: list[OrderProbe], phase: str) -> Table:
    """One row per stage position, each order's columns side by side."""
    snaps = [(r.label, (r.init if phase == "init" else r.trained).stages) for r in results]
    title = "at init" if phase == "init" else f"after {results[0].epochs} epochs"
    table = Table(title=f"Stage statistics on the probe batch, {title}")
    for label, _ in snaps:
        table.add_column(f"{label}\nstage", style="bold")
        for col in ("%>0", "skew", "std", "dead"):
            table.add_column(col, justify="right")
    for row in itertools.zip_longest(*(stages for _, stages in snaps)):
        cells = []
        for s in row:
            if s is None:
                cells += ["", "", "", "", ""]
            else:
                cells += [
                    _stage_label(s),
                    _pct(s.frac_positive),
                    fmt(s.skewness),
                    fmt(s.std),
                    f"{s.dead_units}/{s.units}",
                ]
        table.add_row(*cells)
    return table


_KIND_SHORT = {"BatchNorm1d": "bn", "BatchNorm2d": "bn", "BatchNorm3d": "bn", "Dropout": "drop"}


def _stage_label(s) -> str:
    kind = _KIND_SHORT.get(s.kind, s.kind.lower())
    return f"{_short(s.name)} {kind}"


def health_table(res: OrderProbe) -> Table:
    table = Table(title=f"{res.label}: gradient flow and BN variance shift (trained)")
    table.add_column("layer")
    table.add_column("|grad|/|w|", justify="right")
    table.add_column("status")
    for g in res.trained.grads:
        table.add_row(_short(g.name), f"{g.ratio:.2e}", g.status)
    for v in res.trained.varshift:
        status = "SHIFTED" if v.flagged else "ok"
        table.add_row(_short(v.name), f"shift {v.shift:.2f}", status)
    return table


def _summary_lines(results: list[OrderProbe]) -> list[str]:
    lines = []
    for res in results:
        acc = f"test {res.test_acc:.2f}%" if math.isfinite(res.test_acc) else res.status
        if res.recalibrated_acc is not None:
            acc += f", after BN recalibration {res.recalibrated_acc:.2f}%"
        bad = flagged(list(res.trained.grads))
        shifted = [v.name for v in res.trained.varshift if v.flagged]
        note = f"{res.label}: {acc} after {res.epochs} epochs"
        if bad:
            note += f"; gradient trouble: {', '.join(bad)}"
        if shifted:
            note += f"; BN variance shift in {', '.join(map(_short, shifted))}"
        lines.append(note)
    return lines


@setting_options("probe", defaults=PROBE_DEFAULTS)
def probe(
    seed: int = typer.Option(0, min=0, help="Seed for init, data order and dropout."),
    recalibrate: bool = typer.Option(
        False,
        "--recalibrate",
        help="Re-estimate BN statistics with dropout off and report accuracy before and after.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the records as JSON."),
    plot: Path = typer.Option(
        None, "--plot", help="Write one PNG histogram per stage and order into this folder."
    ),
    settings: dict | None = None,
) -> None:
    """Probe orders at init and after training: signed activation statistics per stage, dead
    units, gradient flow and BN variance shift, side by side."""
    config = build_config(None, probe_settings(settings or {}))
    if plot is not None and plot.exists() and not plot.is_dir():
        raise ConfigError(f"--plot '{plot}' is a file; give a folder for the PNG files")
    results = probe_orders(
        config,
        seed=seed,
        recalibrate=recalibrate,
        progress=lambda r: err.print(f"probed {r.label}", markup=False),
    )
    if plot is not None:
        files = write_plots(results, plot)
        err.print(f"wrote {len(files)} charts to {plot}")
    if as_json:
        print_json(
            {
                "dataset": config.dataset,
                "arch": config.arch,
                "bin_edges": bin_edges(),
                "orders": [dataclasses.asdict(r) for r in results],
            }
        )
        return
    for phase in ("init", "trained"):
        out.print(stage_table(results, phase))
    out.print(Columns([health_table(r) for r in results], equal=True))
    for line in _summary_lines(results):
        out.print(line, markup=False)


def register(app: typer.Typer) -> None:
    app.command()(probe)
