"""``export --format mlflow``: every finished run as an MLflow run, read back by any MLflow UI.

Per experiment, one parent run named after it holds the experiment's settings as params and its
HTML report as an artifact (``report/layerorder-report.html``); each training run is a child run
(tag ``mlflow.parentRunId``) with its settings as params (order, seed, lr, condition and every
config value), its per-epoch metrics at step = epoch, ``final_test_acc``, and for a probed run
each probe record's numbers as metrics ``probe/<kind>/<module>/<field>`` at step = the probe's
epoch plus every record (histograms included) as the artifact ``probes.json``.

Exporting again adds only runs not exported before: each MLflow run is tagged with the store's
path and the layerorder run id. The tracking URI defaults to a local file store (``./mlruns``);
``sqlite:///mlflow.db`` or a server URL work too. MLflow 3 keeps its file store in maintenance
mode behind ``MLFLOW_ALLOW_FILE_STORE``; that variable is set only while the export runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from layerorder.errors import LayerorderError
from layerorder.results import EPOCH_COLUMNS

FINISHED = ("done", "diverged", "failed")
MLFLOW_STATUS = {"done": "FINISHED", "diverged": "FINISHED", "failed": "FAILED"}
PARAM_LIMIT = 500  # characters of a param value (MLflow servers accept 6000; keep them readable)
TAG_STORE, TAG_RUN, TAG_PARENT = "layerorder.store", "layerorder.run_id", "layerorder.parent"


def tracking_uri(target: str | None) -> str:
    """``None`` -> a local file store in ./mlruns; a plain path -> a file store there; a URI
    (``file:``, ``sqlite:``, ``http(s):``, ...) as given."""
    if target is None:
        target = "mlruns"
    if "://" in target or target.startswith("file:"):
        return target
    return Path(target).resolve().as_uri()


@contextlib.contextmanager
def _file_store_allowed(uri: str) -> Iterator[None]:
    if not uri.startswith("file:"):
        yield
        return
    before = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = before


def _client(uri: str):
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise LayerorderError(
            "--format mlflow needs MLflow: pip install mlflow-skinny (or 'layerorder[mlflow]')"
        ) from None
    return MlflowClient(tracking_uri=uri)


def _flat(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flat(f"{prefix}.{key}" if prefix else str(key), inner, out)
        return
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    out[prefix] = text[:PARAM_LIMIT]


def run_params(run: dict[str, Any]) -> dict[str, str]:
    params: dict[str, str] = {}
    _flat("config", run.get("config") or {}, params)
    for key in ("order", "seed", "lr", "condition", "status"):
        if run.get(key) is not None and run.get(key) != "":
            params[key] = str(run[key])
    return params


def _metrics(run: dict[str, Any], probes=()):
    """Per-epoch metrics at step = epoch, ``final_test_acc``, and each probe record's numbers as
    ``probe/<kind>/<module>/<field>`` at step = the probe's epoch (0: at initialisation)."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = []
    for record in probes:
        for field, value in record.data.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
                key = f"probe/{record.kind}/{record.name}/{field}"
                metrics.append(Metric(key, float(value), now, record.epoch))
    for epoch in run["epochs"]:
        for column in EPOCH_COLUMNS:
            value = epoch.get(column)
            if column != "epoch" and isinstance(value, (int, float)) and value == value:
                metrics.append(Metric(column, float(value), now, int(epoch["epoch"])))
    if run.get("final_test_acc") is not None:
        metrics.append(Metric("final_test_acc", float(run["final_test_acc"]), now, 0))
    return metrics


def _log(client, run_id: str, params: dict[str, str], metrics=()) -> None:
    from mlflow.entities import Param

    items = [Param(k, v) for k, v in params.items()]
    for start in range(0, max(len(items), len(metrics)), 100):  # MLflow's batch limits
        client.log_batch(run_id, metrics=list(metrics[start:start + 100]),
                         params=items[start:start + 100])


def _experiment_id(client, name: str) -> str:
    found = client.get_experiment_by_name(name)
    return found.experiment_id if found is not None else client.create_experiment(name)


def _existing(client, experiment_id: str, store: str) -> tuple[set[str], str | None]:
    """(layerorder run ids already exported from ``store``, the parent run's id or None)."""
    done, parent = set(), None
    for run in client.search_runs([experiment_id], max_results=50000):
        tags = run.data.tags
        if tags.get(TAG_STORE) != store:
            continue
        if tags.get(TAG_PARENT) == "true":
            parent = run.info.run_id
        elif TAG_RUN in tags:
            done.add(tags[TAG_RUN])
    return done, parent


def _parent(client, experiment_id: str, exp, store: str, store_path: Path) -> str:
    from layerorder.report import write_report

    run = client.create_run(experiment_id, run_name=exp.name,
                            tags={TAG_STORE: store, TAG_PARENT: "true"})
    params: dict[str, str] = {}
    _flat("", exp.config, params)
    _log(client, run.info.run_id, params)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "layerorder-report.html"
        write_report(store_path, report, experiment=str(exp.id))
        client.log_artifact(run.info.run_id, str(report), artifact_path="report")
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


def write_mlflow(store_path: Path, experiments, runs: list[dict[str, Any]], target: str | None,
                 probes: dict[int, list] | None = None) -> tuple[int, int, str]:
    """Export finished ``runs`` (``export.runs_with_epochs`` rows) of ``experiments``, with their
    probe records (run id -> ``ProbeRecord`` list). Returns (runs exported now, runs already
    there, the tracking URI)."""
    probes = probes or {}
    uri = tracking_uri(target)
    store = str(Path(store_path).resolve())
    added = skipped = 0
    with _file_store_allowed(uri):
        client = _client(uri)
        for exp in experiments:
            mine = [r for r in runs if r["experiment"] == exp.name and r["status"] in FINISHED]
            if not mine:
                continue
            experiment_id = _experiment_id(client, exp.name)
            done, parent = _existing(client, experiment_id, store)
            todo = [r for r in mine if str(r["run_id"]) not in done]
            skipped += len(mine) - len(todo)
            if todo and parent is None:
                parent = _parent(client, experiment_id, exp, store, store_path)
            for r in todo:
                name = f"{r['order']} seed {r['seed']}" + (
                    f" {r['condition']}" if r.get("condition") else "")
                tags = {TAG_STORE: store, TAG_RUN: str(r["run_id"]),
                        "mlflow.parentRunId": parent}
                child = client.create_run(experiment_id, run_name=name, tags=tags)
                records = probes.get(r["run_id"], ())
                _log(client, child.info.run_id, run_params(r), _metrics(r, records))
                if records:  # every record, histograms included, as export --what probes
                    client.log_dict(child.info.run_id, [
                        {"probe_epoch": p.epoch, "probe": p.kind, "name": p.name, **p.data}
                        for p in records], "probes.json")
                client.set_terminated(child.info.run_id, MLFLOW_STATUS[r["status"]])
                added += 1
    return added, skipped, uri
