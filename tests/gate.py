"""A deterministic slow run for the kill, signal, lease and resume tests.

``gated_compare(gate, ...)`` is a ``compare`` command whose model (``tests/gate.py:model``, order
``as-is``) waits on a gate directory at its first training step: the run takes a ticket (files
``ticket-0`` .. ``ticket-{N-1}``, N read from ``tickets``, each created once, exclusively; a run
trained again keeps its ticket) and trains on; a run without a ticket writes ``waiting-<pid>-<n>``
and waits until ``open`` exists. A test therefore knows exactly how many runs finish before it
kills, signals or freezes the driver, and that the others are running at that moment, instead of
training long enough and sleeping. The driver's own checks of the model run it in eval mode without
gradients, which the gate lets through.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path

import torch
from torch import nn

ENV = "LAYERORDER_TEST_GATE"
HERE = Path(__file__).resolve()


class Gate(nn.Module):
    """Identity; in training, the first forward pass of each model waits on the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.passed = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and torch.is_grad_enabled() and not self.passed:
            wait_at_gate(Path(os.environ[ENV]))
            self.passed = True
        return x


def model() -> nn.Module:
    """A small MLP for the synthetic data set (1 x 8 x 8 inputs, 4 classes) behind a gate."""
    return nn.Sequential(Gate(), nn.Flatten(), nn.Linear(64, 16), nn.BatchNorm1d(16), nn.ReLU(),
                         nn.Linear(16, 4))


def wait_at_gate(gate: Path) -> None:
    # a ticket is the run's, not the attempt's: a run trained again from its start (``auto``
    # handing it to a pool at its second epoch, a retry) passes with the ticket it took. The run
    # seeds torch with its seed just before training, so ``initial_seed`` names it.
    held = gate / f"held-{torch.initial_seed()}"
    if held.exists():
        return
    tickets = int((gate / "tickets").read_text()) if (gate / "tickets").exists() else 0
    for k in range(tickets):
        try:
            os.close(os.open(gate / f"ticket-{k}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            held.touch()
            return
        except FileExistsError:
            continue
    for n in itertools.count():
        marker = gate / f"waiting-{os.getpid()}-{n}"
        if not marker.exists():
            marker.touch()
            break
    while not (gate / "open").exists():
        time.sleep(0.02)


def make_gate(directory: Path, tickets: int = 0) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tickets").write_text(str(tickets))
    return directory


def add_tickets(gate: Path, more: int) -> None:
    (gate / "tickets").write_text(str(int((gate / "tickets").read_text()) + more))


def open_gate(gate: Path) -> None:
    (gate / "open").touch()


def waiting(gate: Path) -> int:
    """Runs waiting at the gate now or before (one marker each)."""
    return len(list(gate.glob("waiting-*")))


def gated_compare(store: Path, *extra: str, seeds: int = 8, epochs: int = 3) -> list[str]:
    """The command line of a gated sweep: ``seeds`` runs of the gated model, ``epochs`` each."""
    return [sys.executable, "-m", "layerorder", "compare", "--dataset", "synthetic",
            "--data-opt", "num_samples=200", "--model", f"{HERE}:model", "--order", "as-is",
            "--seeds", str(seeds), "--epochs", str(epochs), "--batch-size", "40",
            "--store", str(store), "--no-report", *extra]


def gated_env(gate: Path) -> dict[str, str]:
    return {**os.environ, ENV: str(gate)}


def wait_until(gate: Path, store: Path, *, done: int, blocked: int = 1,
               timeout: float = 120.0, proc=None) -> None:
    """Until ``done`` runs are stored as done and ``blocked`` runs wait at the gate."""
    from tests.helpers import count_runs  # test side only: workers load this file by its path

    deadline = time.time() + timeout
    while time.time() < deadline:
        if count_runs(store, "done") >= done and waiting(gate) >= blocked:
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the sweep ended (exit {proc.returncode}) before the gate")
        time.sleep(0.02)
    raise AssertionError(f"no {done} done runs and {blocked} waiting within {timeout:g} s")
