"""The report's figures and tables as a reader sees them: legends clear of the data, and text
columns left-aligned while numbers are right-aligned."""

from __future__ import annotations

from types import SimpleNamespace

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.transforms import Bbox

from layerorder.report import figures
from layerorder.report.html import escaped_table
from layerorder.report.info import LrSeries


def _decision(a: str, diff: float, decision: str):
    return SimpleNamespace(a=a, b="standard", mean_diff=diff, ci_low=diff - 0.4,
                           ci_high=diff + 0.4, decision=decision, condition="")


def _clear_of_every_panel(fig) -> None:
    canvas = FigureCanvasAgg(fig)  # the figures draw without pyplot: give this one a canvas
    canvas.draw()
    renderer = canvas.get_renderer()
    (legend,) = fig.legends
    box = legend.get_window_extent(renderer)
    for ax in fig.axes:
        assert not Bbox.intersection(box, ax.get_window_extent(renderer)), ax.get_title()


def test_the_forest_plots_band_legend_covers_no_interval():
    """The equivalence band's legend used to sit in the lower right, over the last pair's CI."""
    decisions = [_decision("preact", 0.2, "equivalent"), _decision("no-norm", 1.8, "different")]
    _clear_of_every_panel(figures.differences(decisions, margin=0.5))


def test_lr_legends_sit_above_the_panels():
    _clear_of_every_panel(figures.lr_robustness(
        [LrSeries("a", (0.01, 0.1), (97.0, 96.0), (0, 0)),
         LrSeries("b", (0.01, 0.1), (95.0, 93.0), (0, 1))]))


def test_text_columns_are_left_aligned_and_numbers_right_aligned():
    html = escaped_table(
        ["setting", "value", "meaning"],
        [["orders", "standard, preact", "Order spec or preset."],
         ["seeds", "0, 1", "Number of seeds."]])
    assert html.count('class="l"') == 9  # every cell of this table is text
    html = escaped_table(["order", "mean %", "Holm p", "decision"],
                         [["standard", "91.20", "best", "-"], ["preact", "-0.35", "<0.001",
                                                                  "different"]])
    cells = html.split("<tr>")[1]
    assert cells.count('class="l"') == 2 and cells.count('class=""') == 2
