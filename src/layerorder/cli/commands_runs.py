"""``layerorder runs`` and ``layerorder export``: what the store holds."""

from __future__ import annotations

import contextlib
import csv
import json
import sys
import time
from enum import Enum
from pathlib import Path

import typer
from rich.table import Table

from layerorder.cli.console import clean_text, err, out, print_json
from layerorder.cli.options import store_option
from layerorder.errors import LayerorderError
from layerorder.experiment.configuration.plan import stored_plan
from layerorder.export.rows import WHAT, run_fields, runs_with_epochs, write_parquet
from layerorder.files import atomic_output, check_output
from layerorder.stats.text import fmt
from layerorder.store import Store, StoreError
from layerorder.store.location import as_file
from layerorder.store.location import exists as store_exists
from layerorder.store.location import shown as shown_store
from layerorder.terminal import shown

STORE_OPTION = store_option()


def _open(store: str, *, read_only: bool = True) -> Store:
    if not store_exists(store):
        raise StoreError(f"no store at '{store}'; run 'layerorder compare' first or pass --store")
    return Store.open(store, create=False, read_only=read_only)


def runs(
    store: str = STORE_OPTION,
    experiment: str = typer.Option(None, "--experiment", "-e", help="Experiment name or id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    release_stale: bool = typer.Option(
        False,
        "--release-stale",
        help="Hand back runs left 'running' by a driver that is gone (lease expired, or its"
        " process on this host has ended) so the next compare trains them.",
    ),
) -> None:
    """List experiments, or the runs of one experiment."""
    if release_stale:
        _release_stale(store, experiment, as_json)
        return
    with _open(store) as db:
        if experiment is None:
            exps = db.experiments()
            rows = [(e, db.counts(e.id)) for e in exps]
            if as_json:
                print_json(
                    [
                        {
                            "id": e.id,
                            "name": e.name,
                            "created_at": e.created_at,
                            "counts": c,
                            "config": e.config,
                        }
                        for e, c in rows
                    ]
                )
                return
            table = Table(title=shown(f"Experiments in {shown_store(store)}"))
            for col in ("id", "name", "created", "runs", "done", "diverged", "failed", "pending"):
                table.add_column(col)
            for e, c in rows:
                table.add_row(
                    str(e.id),
                    shown(e.name),
                    e.created_at,
                    str(sum(c.values())),
                    *(str(c.get(k, 0)) for k in ("done", "diverged", "failed")),
                    str(c.get("pending", 0) + c.get("running", 0)),
                )
            out.print(table)
            return
        exp = db.find_experiment(experiment)
        records = db.runs(exp.id)
    if as_json:
        print_json([run_fields(r, exp.name) for r in records])
        return
    plan = stored_plan(exp)  # the metric the experiment compares, and how it reads
    metric = plan.metric
    table = Table(title=shown(f"Runs of experiment '{exp.name}' (id {exp.id})"))
    for col in ("id", "order", "seed", "lr", "status",
                "test acc %" if metric.is_accuracy else metric.name, "epochs", "wall s"):
        table.add_column(col)
    for r in records:
        table.add_row(
            str(r.id),
            shown(r.label),
            str(r.seed),
            f"{r.lr:g}",
            r.status,
            metric.cell(plan.value_of(r)),
            str(r.config.get("epochs", "")),
            fmt(r.wall_time, 1),
        )
    out.print(table)


def _release_stale(store: str, experiment: str | None, as_json: bool) -> None:
    with _open(store, read_only=False) as db:
        exp = db.find_experiment(experiment) if experiment is not None else None
        released = db.release_stale(exp.id if exp else None)
        held = [
            r for e in ([exp] if exp else db.experiments()) for r in db.held_elsewhere(e.id, "")
        ]
    if as_json:
        print_json(
            {
                "released": [_lease_dict(r) for r in released],
                "held": [_lease_dict(r) for r in held],
            }
        )
        return
    n = len(released)
    out.print(f"released {n} stale run{'s' * (n != 1)}; the next compare trains them", markup=False)
    for r in released:
        out.print(f"  run {r.id} ({r.label}, seed {r.seed}) held by {r.owner}", markup=False)
    for r in held:
        left = max(0.0, (r.lease_until or 0.0) - time.time())
        out.print(
            f"  run {r.id} ({r.label}, seed {r.seed}) is held by {r.owner}, lease renewed"
            f" (expires in {left:.0f} s): left alone",
            markup=False,
        )


def _lease_dict(r) -> dict:
    return {"run_id": r.id, "order": r.label, "seed": r.seed, "owner": r.owner,
            "lease_until": r.lease_until}


class ExportFormat(str, Enum):
    csv = "csv"
    json = "json"
    parquet = "parquet"
    tensorboard = "tensorboard"
    mlflow = "mlflow"


ExportWhat = Enum("ExportWhat", {name: name for name in WHAT}, type=str)


def export(
    store: str = STORE_OPTION,
    experiment: str = typer.Option(
        None, "--experiment", "-e",
        help="Experiment name or id (default: all); with --what search, a search's name.",
    ),
    fmt_: ExportFormat = typer.Option(
        ExportFormat.csv, "--format", "-f",
        help="csv (one row per epoch or probe record), json, parquet (needs -o and pyarrow),"
        " tensorboard (-o DIR: event files, one directory per run, epochs and probes) or mlflow"
        " (-o TRACKING_URI or folder, default ./mlruns: one MLflow run per run, the report as an"
        " artifact).",
    ),
    what: ExportWhat = typer.Option(
        ExportWhat.epochs, "--what",
        help="epochs: every run with its per-epoch metrics; probes: every probe record of every"
        " probed run (stage statistics with histograms, gradient flow, variance shift, BN"
        " recalibration); search: every layerorder search's history (each order at each stage:"
        " candidate, merged, refused, kept, dropped, best, equivalent, worse, undecided, and"
        " why). tensorboard and mlflow always write epochs and probes.",
    ),
    output: str = typer.Option(
        None, "--output", "-o",
        help="File to write (default: stdout); a folder for tensorboard; a tracking URI or folder"
        " for mlflow.",
    ),
) -> None:
    """Write runs with every per-epoch metric, or every probe record, as CSV, JSON or Parquet;
    or both into TensorBoard event files or MLflow runs."""
    if fmt_ is ExportFormat.tensorboard or fmt_ is ExportFormat.mlflow:
        _export_to_tool(store, experiment, fmt_, output)
        return
    output = Path(output) if output is not None else None
    if fmt_ is ExportFormat.parquet and output is None:
        raise LayerorderError("--format parquet writes a binary file: give -o FILE.parquet")
    if output is not None:  # before reading anything: never the store, never a foreign file
        check_output(output, "--output", store=as_file(store), ours=_is_export)
    with _open(store) as db:
        table = WHAT[what.value](db, experiment)
    if what is ExportWhat.search:
        finished = {r["search"] for r in table.records if r["kind"] == "final"}
        for name in sorted({r["search"] for r in table.records} - finished):
            err.print(f"note: search '{name}' has no final stage: it was interrupted or is still"
                      " running; its command, run again, finishes it", markup=False)
    binary = fmt_ is ExportFormat.parquet
    sink = atomic_output(output, "wb" if binary else "w") if output else (
        contextlib.nullcontext(sys.stdout))
    with sink as fh:
        if binary:
            write_parquet(table.header, table.rows, fh)
        elif fmt_ is ExportFormat.json:
            json.dump(clean_text(table.records), fh, indent=2)
            fh.write("\n")
        else:
            writer = csv.writer(fh)
            writer.writerow(table.header)
            writer.writerows([_csv_cell(v) for v in row] for row in table.rows)


def _export_to_tool(store: str, experiment: str | None, fmt_: ExportFormat, output) -> None:
    """TensorBoard event files or MLflow runs: epochs and probe records together."""
    if fmt_ is ExportFormat.tensorboard:
        if output is None:
            raise LayerorderError("--format tensorboard writes a folder of event files: give"
                                  " -o DIR (then: tensorboard --logdir DIR)")
        root = Path(output)
        if root.exists() and not root.is_dir():
            raise LayerorderError(f"--output '{root}' is a file; tensorboard writes a folder")
    with _open(store) as db:
        exps = [db.find_experiment(experiment)] if experiment else db.experiments()
        runs = runs_with_epochs(db, exps)
        probes = {r["run_id"]: db.probes(r["run_id"]) for r in runs}
    if fmt_ is ExportFormat.tensorboard:
        from layerorder.export.tensorboard import write_tensorboard

        written, kept = write_tensorboard(root, runs, probes)
        again = f", {kept} already there" if kept else ""
        err.print(f"wrote {written} run folders under {root}{again} (view: tensorboard --logdir"
                  f" {root})", markup=False)
        return
    from layerorder.export.mlflow import write_mlflow

    added, skipped, uri = write_mlflow(store, exps, runs, output, probes)
    again = f", {skipped} already there" if skipped else ""
    err.print(f"exported {added} runs to MLflow at {uri}{again} (view: mlflow ui"
              f" --backend-store-uri {uri})", markup=False)


def _csv_cell(value):
    return ";".join(str(v) for v in value) if isinstance(value, (list, tuple)) else value


def _is_export(head: bytes) -> bool:
    """An earlier export (CSV header, JSON list or Parquet file), which may be replaced."""
    return head.startswith((b"run_id,", b"search,", b"PAR1")) or head.lstrip().startswith(b"[")


def register(app: typer.Typer) -> None:
    app.command()(runs)
    app.command()(export)
