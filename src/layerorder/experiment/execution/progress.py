"""The sweep's progress display, beside the observer protocol it implements
(``runner.SweepObserver``): overall progress with ETA, and one line per run in flight. Used by
``layerorder.compare()`` (``progress=True``) and by the CLI, on stderr.
"""

from __future__ import annotations

import os

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from layerorder.experiment.execution.runner import SweepObserver
from layerorder.stats.metric import ACCURACY


def terminal_console(stderr: bool = False) -> Console:
    """A rich console; 120 columns where the output is a log or a pipe (no COLUMNS set)."""
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=stderr, highlight=False, width=120)  # logs and pipes
    return console


def _run_name(task) -> str:
    cfg = task.config
    return escape(f"{task.label} seed {cfg['seed']} lr {cfg['lr']:g}")


class RichObserver(SweepObserver):
    """Live bars on a terminal; one log line per finished run otherwise."""

    def __init__(self, console: Console | None = None):
        self.err = err = console if console is not None else terminal_console(stderr=True)
        self.live = err.is_terminal
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not self.live,
        )
        self.overall = None
        self.bars: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self.epochs_left: dict[int, int] = {}
        self.done = 0
        self.todo = 0

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def start(self, experiment, total, todo, plan):
        """Called once per sweep; ``--until-decided`` runs one sweep per round."""
        if self.overall is not None:
            self.progress.remove_task(self.overall)
        self.todo = todo
        self.done = 0
        skipped = total - todo
        self.err.print(
            f"experiment '{escape(experiment.name)}' (id {experiment.id}): {total} runs,"
            f" {skipped} already stored, {todo} to train; {plan.describe()}"
        )
        self.overall = self.progress.add_task("all runs (epochs)", total=None, note="")

    def run_started(self, task):
        epochs = task.config.get("epochs")  # None: a user's own run, of a length of its own
        overall = next(t for t in self.progress.tasks if t.id == self.overall)
        if overall.total is None and epochs is not None:
            self.progress.update(self.overall, total=self.todo * epochs)
        self.epochs_left[task.run_id] = epochs or 0
        self.names[task.run_id] = _run_name(task)

    def epoch(self, p):
        if p.run_id not in self.names:
            return
        if p.run_id not in self.bars:  # a bar once the run is really training
            self.bars[p.run_id] = self.progress.add_task(
                self.names[p.run_id], total=p.epochs, note=""
            )
        bar = self.bars[p.run_id]
        self.progress.update(bar, completed=p.epoch, note=_value(p.metric, p.value))
        self.progress.advance(self.overall)
        self.epochs_left[p.run_id] -= 1

    def note(self, text):
        (self.progress.console if self.live else self.err).print(f"note: {text}", markup=False)

    def run_finished(self, task, outcome):
        self.done += 1
        self.progress.advance(self.overall, max(0, self.epochs_left.pop(task.run_id, 0)))
        bar = self.bars.pop(task.run_id, None)
        if bar is not None:
            self.progress.remove_task(bar)
        if outcome.metrics is not None:  # a user's own run: its compared metric
            value = outcome.metrics.get(task.metric)
            done = _value(task.metric, value) if value is not None else "done"
        else:
            last = outcome.epochs[-1].test_acc if outcome.epochs else None
            done = f"test {last:.2f}%" if last is not None else "done"
        result = {
            "done": done,
            "diverged": f"diverged at epoch {outcome.diverged_epoch}",
            "failed": f"failed: {(outcome.error or '').splitlines()[0] if outcome.error else ''}",
        }[outcome.status]
        line = f"[{self.done}/{self.todo}] {_run_name(task)}: {result} ({outcome.wall_time:.1f} s)"
        console = self.progress.console if self.live else self.err
        console.print(line, markup=False)


def _value(metric: str, value: float | None) -> str:
    """'test 91.2%' for the built-in loop's accuracy, else 'val_loss 0.3127'."""
    if value is None:
        return ""
    if metric == ACCURACY:
        return f"test {value:.1f}%"
    return f"{metric} {value:.4g}"
