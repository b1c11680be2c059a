"""``layerorder report``: one self-contained HTML page (or Markdown) per experiment."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from layerorder.cli.console import err
from layerorder.cli.options import setting_options, store_option


class ReportFormat(str, Enum):
    html = "html"
    md = "md"


@setting_options("report")
def report(
    store: str = store_option(),
    experiment: str = typer.Option(
        None, "--experiment", "-e", help="Experiment name or id (default: the latest)."
    ),
    output: Path = typer.Option(
        None, "--output", "-o", help="File to write (default: layerorder-report.html or .md)."
    ),
    fmt: ReportFormat = typer.Option(
        ReportFormat.html,
        "--format",
        "-f",
        help="html (one self-contained file) or md (Markdown with PNG figures beside it).",
    ),
    settings: dict | None = None,
) -> None:
    """Write the report of an experiment: verdict, tables, learning curves, accuracy
    distributions, pairwise tests, LR robustness, probes, configuration, provenance, all runs."""
    from layerorder.report import write_report

    target = output or Path(f"layerorder-report.{fmt.value}")
    files = write_report(store, target, experiment=experiment, fmt=fmt.value, options=settings)
    size = sum(f.stat().st_size for f in files)
    beside = ", with figures beside it" if len(files) > 1 else ""
    err.print(f"wrote {files[0]} ({size / 1024:.0f} KiB{beside})", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(report)
