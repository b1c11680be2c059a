"""The sweep's progress display, beside the observer protocol it implements
(``observer.SweepObserver``): overall progress with ETA, and one line per run in flight, on a
terminal (the CLI, on stderr); one output updated in place in a notebook. Used by
``layerorder.compare()`` (``progress=True``) and by the CLI.
"""

from __future__ import annotations

import html
import os
import sys
import time
from dataclasses import dataclass

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

from layerorder.experiment.execution.observer import SweepObserver
from layerorder.stats.metric import ACCURACY
from layerorder.terminal import TEXT_WIDTH, printable


def terminal_console(stderr: bool = False) -> Console:
    """A rich console; 120 columns where the output is a log or a pipe (no COLUMNS set)."""
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=stderr, highlight=False, width=TEXT_WIDTH)  # logs and pipes
    return console


def _run_name(task) -> str:
    cfg = task.config
    return printable(f"{task.label} seed {cfg['seed']} lr {cfg['lr']:g}")


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
        counted = (epochs or 0) - self.epochs_left.get(task.run_id, epochs or 0)
        if counted:  # a run handed to the pool starts again: its epochs are counted again
            self.progress.advance(self.overall, -counted)
        self.epochs_left[task.run_id] = epochs or 0
        self.names[task.run_id] = escape(_run_name(task))  # a bar's description is markup

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
        console = self.progress.console if self.live else self.err
        console.print(f"note: {printable(text)}", markup=False)

    def run_finished(self, task, outcome):
        self.done += 1
        self.progress.advance(self.overall, max(0, self.epochs_left.pop(task.run_id, 0)))
        bar = self.bars.pop(task.run_id, None)
        if bar is not None:
            self.progress.remove_task(bar)
        result = _outcome(task, outcome)
        line = (f"[{self.done}/{self.todo}] {_run_name(task)}: {printable(result)}"
                f" ({outcome.wall_time:.1f} s)")
        console = self.progress.console if self.live else self.err
        console.print(line, markup=False)


def _value(metric: str, value: float | None) -> str:
    """'test 91.2%' for the built-in loop's accuracy, else 'val_loss 0.3127'."""
    if value is None:
        return ""
    if metric == ACCURACY:
        return f"test {value:.1f}%"
    return f"{metric} {value:.4g}"


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython is never imported here to find out:
    a kernel has imported it already)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and hasattr(shell, "kernel")


def progress_observer() -> SweepObserver:
    """The progress display for where this runs: one output updated in place in a notebook,
    live bars on a terminal, a line per run in a log."""
    return NotebookObserver() if in_notebook() else RichObserver()


@dataclass(frozen=True)
class ProgressView:
    """What the notebook display shows, as HTML and as text (its ``text/plain``)."""

    lines: tuple[str, ...]
    done: int
    total: int

    def _repr_html_(self) -> str:
        bar = f'<progress value="{self.done}" max="{max(self.total, 1)}" style="width:24em">'
        body = "<br>".join(html.escape(line) for line in self.lines)
        return f'<div class="layerorder-progress">{bar}</progress><br>{body}</div>'

    def __repr__(self) -> str:
        return "\n".join(self.lines)


class NotebookObserver(SweepObserver):
    """Progress in a notebook as one output, updated in place (IPython's ``display_id``): the
    runs and epochs done, the elapsed time and an estimate of the time left, the runs in
    flight, the last runs finished, and the sweep's notes. A sweep of any size leaves one
    output, where a line per run would leave hundreds."""

    SHOWN_FINISHED = 3  # the last runs finished, shown under the bar
    MIN_INTERVAL = 0.25  # seconds between updates of the display (every run's end is shown)

    def __init__(self):
        self.handle = None
        self.header = ""
        self.notes: list[str] = []
        self.finished: list[str] = []
        self.running: dict[int, str] = {}
        self.epochs_of: dict[int, int] = {}
        self.epochs_done = 0
        self.epochs_total: int | None = None
        self.done = self.todo = 0
        self.started = time.monotonic()
        self.shown_at = 0.0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._show(force=True)
        return False

    def start(self, experiment, total, todo, plan):
        self.header = (f"experiment '{experiment.name}' (id {experiment.id}): {total} runs,"
                       f" {total - todo} already stored, {todo} to train; {plan.describe()}")
        self.done, self.todo, self.epochs_done, self.epochs_total = 0, todo, 0, None
        self.started = time.monotonic()
        self._show(force=True)

    def run_started(self, task):
        epochs = task.config.get("epochs")
        if self.epochs_total is None and epochs is not None:
            self.epochs_total = self.todo * epochs
        # a run handed to the pool starts again: its epochs are counted again
        self.epochs_done -= self.epochs_of.get(task.run_id, 0)
        self.epochs_of[task.run_id] = 0
        self.running[task.run_id] = _run_name(task)
        self._show()

    def epoch(self, p):
        if p.run_id in self.epochs_of:
            self.epochs_of[p.run_id] += 1
            self.epochs_done += 1
        self._show()

    def note(self, text):
        self.notes.append(f"note: {text}")
        self._show(force=True)

    def run_finished(self, task, outcome):
        self.done += 1
        epochs = task.config.get("epochs")
        if epochs is not None:  # the epochs a diverged or failed run will not train
            self.epochs_done += max(0, epochs - self.epochs_of.get(task.run_id, 0))
        self.epochs_of.pop(task.run_id, None)
        self.running.pop(task.run_id, None)
        self.finished = [*self.finished, f"{_run_name(task)}: {_outcome(task, outcome)}"
                         f" ({outcome.wall_time:.1f} s)"][-self.SHOWN_FINISHED:]
        self._show(force=True)

    def view(self) -> ProgressView:
        elapsed = time.monotonic() - self.started
        if self.epochs_total:
            done, total = self.epochs_done, self.epochs_total
        else:  # a user's own runs: their lengths are their own
            done, total = self.done, self.todo
        left = elapsed / done * (total - done) if done else None
        status = (f"{self.done} / {self.todo} runs, {self.epochs_done} / {self.epochs_total}"
                  f" epochs" if self.epochs_total else f"{self.done} / {self.todo} runs")
        status += f"; {_clock(elapsed)} elapsed"
        status += f", about {_clock(left)} left" if left is not None and done < total else ""
        lines = [self.header, status]
        if self.running:
            lines.append("training: " + ", ".join(self.running.values()))
        lines += [f"finished {line}" for line in self.finished] + self.notes
        return ProgressView(tuple(line for line in lines if line), done, total)

    def _show(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.shown_at < self.MIN_INTERVAL:
            return
        self.shown_at = now
        from IPython.display import display

        if self.handle is None:
            self.handle = display(self.view(), display_id=True)
        else:
            self.handle.update(self.view())


def _outcome(task, outcome) -> str:
    """A finished run's result as a line says it: its metric, or how it diverged or failed."""
    if outcome.status == "diverged":
        return f"diverged at epoch {outcome.diverged_epoch}"
    if outcome.status == "failed":
        return f"failed: {(outcome.error or '').splitlines()[0] if outcome.error else ''}"
    if outcome.metrics is not None:  # a user's own run: its compared metric
        value = outcome.metrics.get(task.metric)
        return _value(task.metric, value) if value is not None else "done"
    last = outcome.epochs[-1].test_acc if outcome.epochs else None
    return f"test {last:.2f}%" if last is not None else "done"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class LineObserver(SweepObserver):
    """One line per finished run and per note, no bars: a pull worker's log (a SLURM job's
    output file, or a terminal), where runs of several experiments come one at a time."""

    def __init__(self, console: Console | None = None):
        self.err = console if console is not None else terminal_console(stderr=True)
        self.done = 0

    def note(self, text):
        self.err.print(f"note: {printable(text)}", markup=False)

    def run_finished(self, task, outcome):
        self.done += 1
        self.err.print(f"[{self.done}] run {task.run_id} {_run_name(task)}:"
                       f" {printable(_outcome(task, outcome))} ({outcome.wall_time:.1f} s)",
                       markup=False)
