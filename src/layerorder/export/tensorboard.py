"""``export --format tensorboard``: TensorBoard event files, one run directory per run.

Layout: ``DIR/<experiment>/<order>[/<condition>]/seed<seed>-run<id>``, so TensorBoard's run
selector groups runs by experiment and order; exporting again writes only runs not there yet.
Per run:

- scalars ``epoch/<metric>`` at step = epoch (train/test loss and accuracy, learning rate, time);
- each probe record's numbers as scalars ``probe/<kind>/<module>/<field>`` at step = the probe's
  epoch (0: at initialisation);
- each stage's signed activation histogram as a TensorBoard histogram ``stage/<module>`` (its
  stored counts over equal bins, with count, sum and sum of squares from the stored moments);
- the run's settings as a text summary ``config``.

Written with ``torch.utils.tensorboard`` (it needs the ``tensorboard`` package).
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

from layerorder.errors import ConfigError, LayerorderError
from layerorder.export.rows import finite_number


def _writer_class():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise LayerorderError(
            "--format tensorboard needs the tensorboard package: pip install tensorboard"
            " (or 'layerorder[tensorboard]')"
        ) from None
    return SummaryWriter


def _safe(text: str) -> str:
    """A name as one folder name: a safe alphabet, never '.' or '..' (which would leave the
    output folder)."""
    name = re.sub(r"[^\w.=+-]+", "_", str(text)).strip("_")
    return "_" if name.strip(".") == "" else name


PARTIAL = ".partial"  # the suffix of a run folder being written


def run_dir(root: Path, experiment: str, run: dict[str, Any]) -> Path:
    parts = [_safe(experiment), _safe(run["order"])]
    if run.get("condition"):
        parts.append(_safe(run["condition"]))
    parts.append(f"seed{run['seed']}-run{run['run_id']}")
    return root.joinpath(*parts)


def _histogram(writer, tag: str, data: dict[str, Any], step: int) -> None:
    counts = data.get("hist") or ()
    count = int(data.get("count") or 0)
    if not counts or not count:
        return
    low, high = data.get("hist_range") or (-6.0, 6.0)
    width = (high - low) / len(counts)
    mean, std = float(data["mean"]), float(data["std"])
    writer.add_histogram_raw(
        tag,
        min=float(data["min"]),
        max=float(data["max"]),
        num=count,
        sum=mean * count,
        sum_squares=(std * std + mean * mean) * count,
        bucket_limits=[low + (i + 1) * width for i in range(len(counts))],
        bucket_counts=[int(c) for c in counts],
        global_step=step,
    )


def write_tensorboard(root: Path, runs: list[dict[str, Any]], probes: dict[int, list]
                      ) -> tuple[int, int]:
    """Write event files under ``root`` for ``runs`` (``export.runs_with_epochs`` rows) and their
    probe records (run id -> ``ProbeRecord`` list). A run whose folder already holds event files
    is left alone (exporting again would show every point twice). Each run is written into
    ``FOLDER.partial`` and renamed once whole, so an export killed midway leaves no run folder
    half-written: the next export clears the partial one and writes that run again. Returns
    (run folders written, run folders already there)."""
    writer_class = _writer_class()
    written = kept = 0
    for run in runs:
        folder = run_dir(root, run["experiment"], run)
        if any(folder.glob("events.out.tfevents.*")):
            kept += 1
            continue
        written += 1
        partial = folder.with_name(folder.name + PARTIAL)
        shutil.rmtree(partial, ignore_errors=True)  # what a killed export left of this run
        _write_run(writer_class, partial, run, probes)
        _replace_folder(partial, folder)
    return written, kept


def _replace_folder(whole: Path, folder: Path) -> None:
    """Rename the whole run's folder into place; an empty folder there gives way, one holding
    files that are not a run's events is left alone and named."""
    if folder.is_dir() and any(folder.iterdir()):  # someone else's files
        shutil.rmtree(whole, ignore_errors=True)
        raise ConfigError(f"'{folder}' holds files but no event files; move them away or"
                          " export to another folder (-o)")
    with contextlib.suppress(FileNotFoundError):
        folder.rmdir()
    whole.rename(folder)


def _write_run(writer_class, folder: Path, run: dict[str, Any], probes: dict[int, list]) -> None:
    """One run's event file: its epochs' columns and metrics, its probes, its settings."""
    with writer_class(log_dir=str(folder)) as writer:
        for epoch in run["epochs"]:
            for column in epoch:  # the loop's columns and a user's own metrics
                value = finite_number(epoch.get(column))
                if column != "epoch" and value is not None:
                    writer.add_scalar(f"epoch/{column}", value, int(epoch["epoch"]))
        for record in probes.get(run["run_id"], ()):
            for field, raw in record.data.items():
                value = finite_number(raw)
                if value is not None:
                    writer.add_scalar(f"probe/{record.kind}/{record.name}/{field}", value,
                                      record.epoch)
            if record.kind == "stage":
                _histogram(writer, f"stage/{record.name}", record.data, record.epoch)
        config = json.dumps(run.get("config") or {}, indent=2, sort_keys=True, default=str)
        writer.add_text("config", f"```\n{config}\n```", 0)
