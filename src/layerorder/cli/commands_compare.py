"""``layerorder compare``: train orders side by side over many seeds and give a verdict."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from layerorder.cli.console import err, out, print_json
from layerorder.cli.options import OUTPUT, setting_options, store_option
from layerorder.cli.render import print_analysis
from layerorder.experiment.configuration.config import ExperimentConfig
from layerorder.experiment.execution.progress import RichObserver
from layerorder.store.location import shown as shown_store
from layerorder.terminal import shown

if TYPE_CHECKING:
    from layerorder.experiment.execution.comparison import StoredGrid
    from layerorder.experiment.execution.runner import GridPlan

# what trains and reports (torch, the statistics, matplotlib) is imported by the command that
# uses it, so that --help and a mistyped option answer at once


def build_config(config_file: Path | None, flags: dict) -> ExperimentConfig:
    """Defaults <- the TOML file <- the flags given; then the checks that need the registries."""
    from layerorder.api import make_experiment

    return make_experiment(
        flags, config=config_file, notes=lambda line: err.print(f"note: {line}", markup=False)
    )


@setting_options("compare")
def compare(
    config_file: Path = typer.Option(
        None, "--config", help="TOML file with settings (flags override it)."
    ),
    store: str = store_option(note=" Created if missing.", rich_help_panel=OUTPUT),
    fresh: bool = typer.Option(
        False, "--fresh", help="Start a new experiment instead of resuming.",
        rich_help_panel=OUTPUT,
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the grid of runs and exit.", rich_help_panel=OUTPUT
    ),
    plan_only: bool = typer.Option(
        False, "--plan-only",
        help="Store the grid (the first round of --until-decided) and exit, training nothing:"
        " 'layerorder worker' processes train it.", rich_help_panel=OUTPUT,
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the results as JSON.", rich_help_panel=OUTPUT
    ),
    report: bool = typer.Option(
        True, "--report/--no-report", help="Write the HTML report at the end.",
        rich_help_panel=OUTPUT,
    ),
    report_path: Path = typer.Option(
        Path("layerorder-report.html"), "--report-path", help="Where --report writes the page.",
        rich_help_panel=OUTPUT,
    ),
    settings: dict | None = None,
) -> None:
    """Train several orders over many seeds, store every run, and give a verdict.

    With no arguments: MNIST-1D, cnn1d, the five presets, 5 seeds, 20 epochs. Running the same
    command again trains only what is missing (a killed sweep resumes).
    """
    from layerorder.api import run_comparison
    from layerorder.experiment.execution.comparison import store_grid
    from layerorder.experiment.execution.runner import plan_grid
    from layerorder.report import check_report_path

    config = build_config(config_file, settings or {})
    if report:  # refused before any training: the store itself, a folder, a foreign file
        check_report_path(report_path, store, what="--report-path")
    if dry_run:
        _print_grid(plan_grid(config))
        return
    if plan_only:
        _print_stored(store_grid(config, store, fresh=fresh), as_json)
        return
    observer = RichObserver(err)
    with observer:
        results = run_comparison(config, store, fresh=fresh, observer=observer)
    written = results.report(report_path) if report else None
    if as_json:
        print_json({**results.to_dict(), "report": str(written) if written else None})
        return
    print_analysis(results.analysis, results.table)
    experiment = results.experiment
    where = f"stored in {shown_store(store)} (experiment '{experiment.name}', id {experiment.id})"
    err.print(where, markup=False)
    if written is not None:
        err.print(f"report: {written}", markup=False)


def _print_stored(grid: StoredGrid, as_json: bool) -> None:
    if as_json:
        print_json({"store": shown_store(grid.store), "experiment": grid.experiment.name,
                    "experiment_id": grid.experiment.id, "runs": grid.runs, "added": grid.added,
                    "rounds": grid.rounds, "worker": grid.worker_command()})
        return
    later = (f"; the {grid.rounds - 1} later rounds of --until-decided are stored by a"
             " coordinator (the same compare with --executor workers)") if grid.rounds > 1 else ""
    out.print(f"stored {grid.runs} runs ({grid.added} new) of experiment"
              f" '{grid.experiment.name}' (id {grid.experiment.id}) in {shown_store(grid.store)};"
              f" nothing was trained{later}", markup=False, soft_wrap=True)
    out.print(f"train them with: {grid.worker_command()}", markup=False, soft_wrap=True)


def _print_grid(grid: GridPlan) -> None:
    from layerorder.experiment.execution.comparison import model_title

    head = model_title(grid.config.to_dict())
    table = Table(title=f"{len(grid.specs)} runs: {head}, {grid.config.epochs} epochs")
    for col in ("#", "order", "seed", "lr", "run key"):
        table.add_column(col)
    for i, spec in enumerate(grid.specs, 1):
        table.add_row(str(i), shown(spec.label), str(spec.seed), f"{spec.lr:g}", spec.run_key)
    out.print(table)
    out.print(f"device {grid.device}; {grid.execution.describe()}")


def register(app: typer.Typer) -> None:
    app.command()(compare)
