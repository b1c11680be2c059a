"""A run that is the user's own training: a function ``train(trial)`` called in this process, or a
command run as a process under a guard (``layerorder.trials.guard``). Either way the run reports
metrics (``layerorder.trials``), and its outcome is judged the same way:

- an exception, or a non-zero exit, fails it (with the traceback or the last lines of stderr);
- a run past ``--run-timeout`` is killed with its whole process group and fails;
- a metrics file that breaks the protocol fails it, naming the line;
- a run that never reports the primary metric fails, naming the metrics it did report;
- a primary metric that is NaN or infinite marks it diverged (at the first epoch it was);
- otherwise it is done, and its final metrics are stored by name.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from layerorder.errors import ConfigError
from layerorder.experiment.configuration.config import RunConfig
from layerorder.experiment.training.threads import capped, thread_environment
from layerorder.store import EpochRecord
from layerorder.trials import protocol
from layerorder.trials.guard import GRACE
from layerorder.trials.trial import Trial

GUARD = Path(__file__).resolve().parents[2] / "trials" / "guard.py"
STDERR_LINES = 20  # the last lines of a failed command's stderr kept with the run
POLL = 0.1  # seconds between looks at a running command (its exit, metrics, the timeout)

OnEpoch = Callable[[int, float | None], None]  # (epoch, value of the primary metric)


@dataclass(frozen=True)
class UserRunResult:
    status: str  # done, diverged or failed
    epochs: tuple[EpochRecord, ...] = ()
    metrics: dict[str, float] = field(default_factory=dict)
    diverged_epoch: int | None = None
    error: str | None = None


def judge(reported: protocol.Reported, metric: str) -> UserRunResult:
    """The outcome of a run that ended normally, from what it reported."""
    epochs = _epoch_records(reported)
    final = reported.final_metrics()
    if metric not in final:
        said = ", ".join(sorted(final)) or "no metric at all"
        return UserRunResult("failed", epochs, final,
                             error=f"the run never reported '{metric}'; it reported: {said}")
    if not math.isfinite(final[metric]):
        bad = [e.epoch for e in epochs if not math.isfinite(e.metrics.get(metric, 0.0))]
        return UserRunResult("diverged", epochs, final, diverged_epoch=bad[0] if bad else None)
    return UserRunResult("done", epochs, final)


def _failed(reported: protocol.Reported, error: str) -> UserRunResult:
    return UserRunResult("failed", _epoch_records(reported), reported.final_metrics(),
                         error=error)


def _epoch_records(reported: protocol.Reported) -> tuple[EpochRecord, ...]:
    """The run's epochs as the store holds them: its metrics by name, the loop's fields empty."""
    return tuple(EpochRecord(e, None, None, None, None, None, None, metrics=dict(values))
                 for e, values in sorted(reported.epochs.items()))


# ---- a training function ----------------------------------------------------------------------


def load_train(target: str) -> Callable[[Trial], Any]:
    """The training function a ``train`` setting names: a callable registered in this process
    (``python:...``) or a ``file.py:function`` / ``package.module:function`` target."""
    from layerorder.experiment.configuration.callables import registered
    from layerorder.modelgraph import LintError
    from layerorder.modelgraph.target import load_callable

    fn = registered(target, "train")
    if fn is not None:
        return fn
    try:
        return load_callable(target, "training function")
    except LintError as exc:
        raise ConfigError(f"train '{target}': {exc}") from None


@contextlib.contextmanager
def _own_random_state() -> Iterator[None]:
    """Python's and numpy's global random state as they were before the run (torch's is kept by
    the executor's run scope): a function seeding them must not change the caller's."""
    state = random.getstate()
    try:
        import numpy as np
    except ImportError:
        np = None
    np_state = np.random.get_state() if np is not None else None
    try:
        yield
    finally:
        random.setstate(state)
        if np is not None:
            np.random.set_state(np_state)


def run_function(cfg: RunConfig, device: str, metric: str,
                 on_epoch: OnEpoch | None = None) -> UserRunResult:
    """Call the run's training function with its trial; judge what it reported and returned."""
    fn = load_train(cfg.train)

    def reported(epoch: int, values: dict[str, float]) -> None:
        if on_epoch is not None:
            on_epoch(epoch, values.get(metric))

    trial = Trial(cfg.order, cfg.seed, lr=cfg.lr, epochs=cfg.epochs, params=dict(cfg.params),
                  device=device, metric=metric, on_report=reported)
    with _own_random_state():
        # Python's, numpy's and torch's generators from the run's seed, as the built-in loop
        # seeds its own: without it every run of a function that does not seed them itself
        # started from the same state (the caller's, put back after each run), so its seeds
        # drew the same initial weights and batch orders; each is put back after the run
        # (``_own_random_state``, and torch's by the executor's run scope)
        try:
            trial.seed_everything()
            out = fn(trial)
        except Exception as exc:  # the user's code: a failed run, the sweep goes on
            text = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"
            return _failed(trial.reported, text)
    # what it returned, read as ``trial.report`` reads a value (numpy's numbers and one-element
    # tensors too); an ``epoch`` it returns beside its metrics (a history's last row) is none
    if isinstance(out, Mapping):
        out = {k: v for k, v in out.items() if k not in protocol.HEAD_KEYS}
        bad = [k for k, v in out.items() if v is not None and not protocol.is_number(v)]
        if bad:
            return _failed(trial.reported, f"the train function returned non-numbers for {bad}")
        trial.final(out)
    elif out is not None and protocol.is_number(out):
        trial.final({metric: out})
    elif out is not None:
        return _failed(trial.reported, "the train function must return its metrics (a dict, or"
                       f" one number for '{metric}'), or None; it returned {type(out).__name__}")
    return judge(trial.reported, metric)


# ---- a command ---------------------------------------------------------------------------------


def placeholders(cfg: RunConfig, device: str = "cpu", run_dir: str = "") -> dict[str, Any]:
    """What ``{name}`` in a command may name: the order, seed, lr, epochs, device and run
    directory, each param by name and as ``{params.NAME}``."""
    params = {str(k): v for k, v in dict(cfg.params).items()}
    return {**params, "order": cfg.order, "seed": cfg.seed, "lr": cfg.lr, "epochs": cfg.epochs,
            "device": device, "run_dir": run_dir, "params": SimpleNamespace(**params)}


def command_argv(template: str, values: dict[str, Any]) -> list[str]:
    """The command's argument list: split like a shell would (no shell runs it), then each
    argument's placeholders filled in. Raises ``ConfigError`` naming an unknown placeholder."""
    try:
        parts = shlex.split(template)
    except ValueError as exc:
        raise ConfigError(f"command cannot be split into arguments ({exc}); check its quotes"
                          ) from None
    if not parts:
        raise ConfigError("command is empty")
    known = sorted(k for k in values if k != "params")
    try:
        return [part.format_map(values) for part in parts]
    except (KeyError, AttributeError) as exc:
        name = str(exc).strip("'\"")
        raise ConfigError(
            f"command has the placeholder {{{name}}}, which names nothing; known: "
            + ", ".join(f"{{{k}}}" for k in known) + " (give a param with --param NAME=VALUE;"
            " write a literal brace as {{ or }})"
        ) from None
    except (ValueError, IndexError) as exc:
        raise ConfigError(f"command has a malformed placeholder ({exc}); write a literal brace"
                          " as {{ or }}") from None


def command_environment(cfg: RunConfig, device: str, metric: str, run_dir: Path,
                        metrics_file: Path, threads: int | None = None) -> dict[str, str]:
    env = dict(os.environ)
    threads = capped(threads)
    if threads:  # runs side by side share the cores as the executor planned
        env.update(thread_environment(threads))
    env.update({
        protocol.ORDER: cfg.order,
        protocol.SEED: str(cfg.seed),
        protocol.LR: repr(float(cfg.lr)) if cfg.lr is not None else "",
        protocol.EPOCHS: str(cfg.epochs),
        protocol.PARAMS: json.dumps(dict(cfg.params)),
        protocol.DEVICE: device,
        protocol.RUN_DIR: str(run_dir),
        protocol.METRICS: str(metrics_file),
        protocol.METRIC: metric,
    })
    if device.startswith("cuda:"):  # one GPU of several: the run sees only its own
        env["CUDA_VISIBLE_DEVICES"] = physical_gpu(int(device.split(":", 1)[1]))
        env[protocol.DEVICE] = "cuda"
    return env


def physical_gpu(index: int) -> str:
    """The GPU that this process calls ``cuda:index``, as ``CUDA_VISIBLE_DEVICES`` names it for a
    child: through this process's own mask where it has one."""
    mask = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    return mask[index] if index < len(mask) else str(index)


def seen_device(device: str) -> str:
    """The device a command sees: its one GPU is ``cuda`` (``cuda:N`` is masked to it)."""
    return "cuda" if device.startswith("cuda:") else device


def _tail(path: Path, lines: int = STDERR_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _stop(proc: subprocess.Popen) -> None:
    """End the guard, which ends the command's whole process group first."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=GRACE + 5.0)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_command(cfg: RunConfig, device: str, metric: str, timeout: float | None = None,
                on_epoch: OnEpoch | None = None, cwd: str | None = None,
                threads: int | None = None) -> UserRunResult:
    """Run the command from ``cwd`` (where the driver was started; default: here), with a fresh
    run directory (removed afterwards) in its environment; read its metrics as it goes, and judge
    it. The command never outlives this call."""
    run_dir = Path(tempfile.mkdtemp(prefix="layerorder-run-"))
    metrics_file = run_dir / "metrics.jsonl"
    stderr_file = run_dir / "stderr.txt"
    try:
        argv = command_argv(cfg.command, placeholders(cfg, seen_device(device), str(run_dir)))
        env = command_environment(cfg, device, metric, run_dir, metrics_file, threads)
        reported, offset, seen = protocol.Reported(), 0, 0
        with stderr_file.open("wb") as err:
            proc = subprocess.Popen([sys.executable, str(GUARD), "--", *argv], env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err, cwd=cwd if cwd and os.path.isdir(cwd) else None)
            start = time.monotonic()
            try:
                while proc.poll() is None:
                    if timeout is not None and time.monotonic() - start > timeout:
                        _stop(proc)
                        reported, _ = _read(metrics_file, reported, offset)
                        return _failed(reported, f"the command ran past --run-timeout"
                                       f" {timeout:g} s and was killed")
                    try:
                        reported, offset = protocol.read_metrics(metrics_file, reported, offset)
                    except protocol.MetricsError as exc:
                        _stop(proc)
                        return _failed(reported, str(exc))
                    seen = _progress(reported, seen, metric, on_epoch)
                    time.sleep(POLL)
            finally:
                _stop(proc)  # an exception here (Ctrl-C, SIGTERM): the command ends too
        try:
            reported, offset = protocol.read_metrics(metrics_file, reported, offset, ended=True)
        except protocol.MetricsError as exc:
            return _failed(reported, str(exc))
        _progress(reported, seen, metric, on_epoch)
        if proc.returncode != 0:
            return _failed(reported, f"the command exited with status {proc.returncode};"
                           f" the end of its stderr:\n{_tail(stderr_file)}")
        return judge(reported, metric)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _read(path: Path, reported: protocol.Reported, offset: int) -> tuple[protocol.Reported, int]:
    try:
        return protocol.read_metrics(path, reported, offset)
    except protocol.MetricsError:
        return reported, offset


def _progress(reported: protocol.Reported, seen: int, metric: str,
              on_epoch: OnEpoch | None) -> int:
    """Tell ``on_epoch`` of the epochs reported since the last call; returns how many there are."""
    epochs = sorted(reported.epochs)
    if on_epoch is not None:
        for e in epochs[seen:]:
            on_epoch(e, reported.epochs[e].get(metric))
    return len(epochs)
