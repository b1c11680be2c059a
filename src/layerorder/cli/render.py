"""Terminal rendering of analysis records: the views of ``layerorder.report.terminal``, printed
in colour (a result's ``__str__`` prints the same views as plain text)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from layerorder.cli.console import out

if TYPE_CHECKING:
    from layerorder.stats.analysis import Analysis
    from layerorder.stats.table import ResultsTable


def print_analysis(analysis: Analysis, table: ResultsTable) -> None:
    from layerorder.report.terminal import analysis_view  # the statistics, when there are some

    for item in analysis_view(analysis, table):
        out.print(item)
