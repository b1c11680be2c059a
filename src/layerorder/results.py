"""``Results``: what ``layerorder.compare`` returns, with the views a notebook user wants.

Every view renders records computed once (the runs, their epochs, one ``Analysis``): pandas
frames, a matplotlib ``Figure`` (made without pyplot, so no global matplotlib state changes),
the HTML report, and ``_repr_html_`` for Jupyter.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from layerorder.experiment.execution.comparison import (
    RUN_COLUMNS,
    Comparison,
    describe_order,
    model_title,
    reported_names,
)
from layerorder.stats.decisions import PairDecision
from layerorder.store.records import EPOCH_COLUMNS, epoch_column_names

__all__ = ["EPOCH_COLUMNS", "RUN_COLUMNS", "Results", "describe_order", "epoch_column_names",
           "model_title"]


@dataclass(frozen=True)
class Results(Comparison):
    """A finished comparison (``Comparison``: every run of its grid, their epochs and the
    analysis) with its views."""

    @classmethod
    def of(cls, comparison: Comparison) -> Results:
        return cls(**{f.name: getattr(comparison, f.name)
                      for f in dataclasses.fields(comparison)})

    def to_pandas(self):
        """One row per run: order label, canonical spec and preset name, seed, lr, status and
        final metrics, then one column per varied factor (its level) and one per metric a user's
        own run reported (its final value)."""
        import pandas as pd

        factors = self.analysis.factors
        reported = reported_names(self.runs)
        rows = []
        for r in self.runs:
            spec, preset = describe_order(r.label)
            own = r.metrics or {}
            rows.append(
                (r.id, r.label, spec, preset, r.seed, r.lr, r.status, r.final_test_acc,
                 r.final_test_loss, r.final_train_loss, r.diverged_epoch, r.wall_time,
                 *(self.analysis.plan.level_of(r, f) for f in factors),
                 *(own.get(name) for name in reported))
            )
        return pd.DataFrame(rows, columns=[*RUN_COLUMNS, *factors, *reported])

    def curves(self):
        """One row per run and epoch: run_id, order, seed, lr, then the epoch's metrics (the
        scheduled learning rate of that epoch is ``epoch_lr``), and one column per metric a user's
        own run reported."""
        import pandas as pd

        names = list(epoch_column_names())
        epochs = [(r, e) for r in self.runs for e in self.epochs.get(r.id, ())]
        reported = reported_names(e for _, e in epochs)
        rows = [
            (r.id, r.label, r.seed, r.lr, *(getattr(e, c) for c in EPOCH_COLUMNS),
             *(e.metrics.get(name) for name in reported))
            for r, e in epochs
        ]
        return pd.DataFrame(rows, columns=["run_id", "order", "seed", "lr", *names, *reported])

    @property
    def summary(self):
        """One row per order, the columns of the results table, as numbers."""
        import pandas as pd

        rows = [
            {
                "order": row.label,
                "lr": row.lr,
                "n": row.summary.n,
                "mean": row.summary.mean,
                "ci_low": row.summary.ci_low,
                "ci_high": row.summary.ci_high,
                "sd": row.summary.sd,
                "median": row.summary.median,
                "delta_vs_best": row.delta,
                "p_holm": row.p_holm,
                "diverged": row.summary.n_diverged,
                "failed": row.summary.n_failed,
            }
            for row in self.analysis.rows
        ]
        return pd.DataFrame(rows).set_index("order")

    @property
    def decisions(self):
        """One row per pair of the family (and condition): difference, CI, Holm p, TOST Holm p,
        'different' / 'equivalent' / 'undecided', and the seeds that would decide it."""
        import pandas as pd

        rows = [dataclasses.asdict(d) for d in self.analysis.decisions]
        return pd.DataFrame(rows, columns=[f.name for f in dataclasses.fields(PairDecision)])

    def plot(self):
        """Test accuracy per epoch (mean over seeds with a 95% band) and the final accuracy of
        every seed, per order: a matplotlib ``Figure``."""
        from layerorder.report import figures
        from layerorder.report.info import curves

        best_lr = {row.label: row.lr for row in self.analysis.rows}
        epochs = {k: list(v) for k, v in self.epochs.items()}
        metric = self.analysis.plan.metric
        acc = curves(self.runs, epochs, best_lr, metric.name)
        loss = curves(self.runs, epochs, best_lr, "train_loss")
        return figures.learning_curves(acc, loss, metric)

    def report(self, path: str | Path = "layerorder-report.html", fmt: str = "html") -> Path:
        """Write the report of exactly these runs; returns the page's path."""
        from layerorder.report import write_report

        return write_report(
            self.store,
            path,
            experiment=str(self.experiment.id),
            fmt=fmt,
            run_ids=[r.id for r in self.runs],
            analysis=self.analysis,
        )[0]

    def _repr_html_(self) -> str:
        from html import escape

        from layerorder.report.html import table_html

        return (
            f"<div><strong>{escape(self.table.title)}</strong>{table_html(self.table)}"
            f"<p><strong>Verdict</strong>: {escape(self.verdict.text)}</p>"
            + "".join(f"<p><strong>Speed</strong> (not reliability): {escape(s.text())}</p>"
                      for s in self.analysis.speed)
            + "</div>"
        )

    def __str__(self) -> str:
        """What ``layerorder compare`` prints, without colour."""
        from layerorder.report.terminal import analysis_view
        from layerorder.terminal import as_text

        return as_text(analysis_view(self.analysis, self.table))

    def __repr__(self) -> str:
        return (
            f"Results({self.experiment.name!r}, {len(self.runs)} runs, best"
            f" {self.verdict.best!r}; see .summary, .verdict.text, .to_pandas(), .plot())"
        )
