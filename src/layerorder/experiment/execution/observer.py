"""What a sweep tells whoever watches it (the terminal's bars, a notebook's display): every
method is optional. Declared apart from the driver so that a view can subclass it without
importing the training stack."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from layerorder.experiment.execution.executors import Plan
    from layerorder.experiment.execution.worker import Progress, RunOutcome, RunTask
    from layerorder.store import ExperimentRecord


class SweepObserver:
    """Receives progress; the CLI draws it. Every method is optional."""

    def start(self, experiment: ExperimentRecord, total: int, todo: int, plan: Plan) -> None: ...

    def run_started(self, task: RunTask) -> None: ...

    def epoch(self, progress: Progress) -> None: ...

    def run_finished(self, task: RunTask, outcome: RunOutcome) -> None: ...

    def note(self, text: str) -> None: ...
