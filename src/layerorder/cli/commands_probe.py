"""``layerorder probe``: what each order does to activations, gradients and BN statistics."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from layerorder.cli.commands_compare import build_config
from layerorder.cli.console import err, out, print_json
from layerorder.cli.options import setting_options
from layerorder.errors import ConfigError
from layerorder.experiment.configuration.probing import PROBE_DEFAULTS, probe_settings

# what trains, probes and draws (torch, matplotlib) is imported by the command that uses it


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
    from layerorder.experiment.training.probing import probe_orders
    from layerorder.probe.recording import bin_edges
    from layerorder.report.probe_plots import write_plots
    from layerorder.report.terminal import probe_view

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
        err.print(f"wrote {len(files)} charts to {plot}", markup=False)
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
    for item in probe_view(results):
        out.print(item)


def register(app: typer.Typer) -> None:
    app.command()(probe)
