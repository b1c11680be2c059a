"""The notebook's progress display (``NotebookObserver``): one output, updated in place, whose
counts, elapsed time and estimate of the time left follow the sweep; here with a stand-in for
IPython's display handle (the real kernel runs in tests/report/test_notebook.py)."""

from __future__ import annotations

import sys
import types
from types import SimpleNamespace

import pytest

from layerorder.experiment.execution import progress as progress_module
from layerorder.experiment.execution.progress import NotebookObserver, in_notebook


class Handle:
    def __init__(self, shown):
        self.shown = shown

    def update(self, obj):
        self.shown.append(obj)


@pytest.fixture
def shown(monkeypatch):
    """IPython's ``display`` replaced: every display or update lands in one list."""
    outputs: list = []
    handles: list = []

    def display(obj, display_id=False):
        outputs.append(obj)
        handles.append(Handle(outputs))
        return handles[-1]

    fake = types.ModuleType("IPython.display")
    fake.display = display
    monkeypatch.setitem(sys.modules, "IPython.display", fake)
    monkeypatch.setattr(NotebookObserver, "MIN_INTERVAL", 0.0)
    return SimpleNamespace(outputs=outputs, handles=handles)


def _task(run_id: int, order: str = "standard", epochs: int = 2):
    return SimpleNamespace(run_id=run_id, label=order, metric="test_acc",
                           config={"seed": run_id, "lr": 0.01, "epochs": epochs})


def _outcome(acc: float):
    return SimpleNamespace(status="done", metrics=None, wall_time=1.0, diverged_epoch=None,
                           error=None, epochs=[SimpleNamespace(test_acc=acc)])


def test_one_display_is_updated_and_ends_with_every_run(shown, monkeypatch):
    clock = iter(float(t) for t in range(100))
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    observer = NotebookObserver()
    experiment = SimpleNamespace(name="default", id=1)
    plan = SimpleNamespace(describe=lambda: "sequential, 1 thread")
    with observer:
        observer.start(experiment, total=3, todo=2, plan=plan)
        for run_id in (1, 2):
            task = _task(run_id)
            observer.run_started(task)
            if run_id == 1:  # trained an epoch here, then handed to the pool: started again
                observer.epoch(SimpleNamespace(run_id=1, epoch=1, epochs=2, value=50.0,
                                               metric="test_acc"))
                observer.run_started(task)
            for epoch in (1, 2):
                observer.epoch(SimpleNamespace(run_id=run_id, epoch=epoch, epochs=2,
                                               value=50.0, metric="test_acc"))
            observer.run_finished(task, _outcome(90.0 + run_id))
        observer.note("a setting has no effect")
    assert len(shown.handles) == 1  # one output; every later view is an update of it
    middle = [repr(v) for v in shown.outputs if "1 / 2 runs" in repr(v)]
    assert middle and "about" in middle[0] and "left" in middle[0]
    final = repr(shown.outputs[-1])
    assert "2 / 2 runs, 4 / 4 epochs" in final and "left" not in final
    assert "standard seed 2 lr 0.01: test 92.00%" in final
    assert "note: a setting has no effect" in final
    assert "1 already stored" in final
    html = shown.outputs[-1]._repr_html_()
    assert '<progress value="4" max="4"' in html


def test_the_terminals_bars_count_a_handed_over_run_once():
    import io

    from rich.console import Console

    from layerorder.experiment.execution.progress import RichObserver

    observer = RichObserver(Console(file=io.StringIO(), force_terminal=True, width=100))
    experiment = SimpleNamespace(name="default", id=1)
    plan = SimpleNamespace(describe=lambda: "auto")
    with observer:
        observer.start(experiment, total=1, todo=1, plan=plan)
        task = _task(1)
        observer.run_started(task)
        observer.epoch(SimpleNamespace(run_id=1, epoch=1, epochs=2, value=50.0, metric="test_acc"))
        observer.run_started(task)  # handed to the pool
        for epoch in (1, 2):
            observer.epoch(SimpleNamespace(run_id=1, epoch=epoch, epochs=2, value=60.0,
                                           metric="test_acc"))
        (overall,) = [t for t in observer.progress.tasks if t.id == observer.overall]
        assert overall.completed == overall.total == 2


def test_a_script_is_not_a_notebook():
    assert in_notebook() is False  # pytest's process: no kernel
