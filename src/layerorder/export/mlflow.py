"""``export --format mlflow``: every finished run as an MLflow run, read back by any MLflow UI.

Per experiment, one parent run named after it holds the experiment's settings as params and its
HTML report as an artifact (``report/layerorder-report.html``, replaced when an export adds
runs); each training run is a child run
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
from layerorder.export.rows import finite_number
from layerorder.probe.training import probe_row
from layerorder.store.location import is_url, shown

MLFLOW_STATUS = {"done": "FINISHED", "diverged": "FINISHED", "failed": "FAILED"}  # finished runs
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
        for field, raw in record.data.items():
            value = finite_number(raw)
            if value is not None:
                key = f"probe/{record.kind}/{record.name}/{field}"
                metrics.append(Metric(key, value, now, record.epoch))
    for epoch in run["epochs"]:
        for column in epoch:  # the built-in loop's columns and a user's own metrics
            value = finite_number(epoch.get(column))
            if column != "epoch" and value is not None:
                metrics.append(Metric(column, value, now, int(epoch["epoch"])))
    final = finite_number(run.get("final_test_acc"))
    if final is not None:
        metrics.append(Metric("final_test_acc", final, now, 0))
    for name, raw in (run.get("metrics") or {}).items():  # a user's own run's final metrics
        value = finite_number(raw)
        if value is not None:
            metrics.append(Metric(f"final_{name}", value, now, 0))
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
    """(layerorder run ids already exported from ``store``, the parent run's id or None).
    A child run without its run-id tag was left half-written by an interrupted export: it is
    deleted (MLflow keeps deleted runs until garbage collection) and exported again."""
    done, parent = set(), None
    for run in client.search_runs([experiment_id], max_results=50000):
        tags = run.data.tags
        if tags.get(TAG_STORE) != store:
            continue
        if tags.get(TAG_PARENT) == "true":
            parent = run.info.run_id
        elif TAG_RUN in tags:
            done.add(tags[TAG_RUN])
        else:
            client.delete_run(run.info.run_id)
    return done, parent


def _parent(client, experiment_id: str, exp, store: str) -> str:
    run = client.create_run(experiment_id, run_name=exp.name,
                            tags={TAG_STORE: store, TAG_PARENT: "true"})
    params: dict[str, str] = {}
    _flat("", exp.config, params)
    _log(client, run.info.run_id, params)
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


def _attach_report(client, parent: str, exp, store_path: Path) -> None:
    """The experiment's HTML report, of every run the store holds now (replaced when an export
    adds runs)."""
    from layerorder.report import write_report

    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "layerorder-report.html"
        write_report(store_path, report, experiment=str(exp.id))
        client.log_artifact(parent, str(report), artifact_path="report")


def write_mlflow(store_path: Path, experiments, runs: list[dict[str, Any]], target: str | None,
                 probes: dict[int, list] | None = None) -> tuple[int, int, str]:
    """Export finished ``runs`` (``export.runs_with_epochs`` rows) of ``experiments``, with their
    probe records (run id -> ``ProbeRecord`` list). Returns (runs exported now, runs already
    there, the tracking URI)."""
    probes = probes or {}
    uri = tracking_uri(target)
    # a server store is tagged as messages show it: never with its password
    store = shown(store_path) if is_url(store_path) else str(Path(store_path).resolve())
    _check_target(uri, store)
    try:
        with _file_store_allowed(uri):
            return _write(_client(uri), uri, store, store_path, experiments, runs, probes)
    except LayerorderError:
        raise
    except Exception as exc:  # MlflowException, OSError: one line, the store is only read
        from layerorder.modelgraph.errors import short_reason

        raise LayerorderError(f"MLflow export to {uri} failed: {short_reason(exc)}") from exc


def _check_target(uri: str, store: str) -> None:
    local = uri[len("sqlite:///"):] if uri.startswith("sqlite:///") else None
    if uri.startswith("file:"):
        from urllib.parse import unquote, urlparse

        local = unquote(urlparse(uri).path)
        if Path(local).is_file():
            raise LayerorderError(f"--output '{local}' is a file; an MLflow file store is a"
                                  " folder (default ./mlruns), or give a tracking URI")
    if local is not None and Path(local).resolve() == Path(store):
        raise LayerorderError("--output is the store itself; give MLflow its own"
                              " folder or database")


def _write(client, uri, store, store_path, experiments, runs, probes) -> tuple[int, int, str]:
    added = skipped = 0
    for exp in experiments:
        mine = [r for r in runs
                if r["experiment"] == exp.name and r["status"] in MLFLOW_STATUS]
        if not mine:
            continue
        experiment_id = _experiment_id(client, exp.name)
        done, parent = _existing(client, experiment_id, store)
        todo = [r for r in mine if str(r["run_id"]) not in done]
        skipped += len(mine) - len(todo)
        if not todo:
            continue
        if parent is None:
            parent = _parent(client, experiment_id, exp, store)
        _attach_report(client, parent, exp, store_path)
        for r in todo:
            name = f"{r['order']} seed {r['seed']}" + (
                f" {r['condition']}" if r.get("condition") else "")
            tags = {TAG_STORE: store, "mlflow.parentRunId": parent}
            child = client.create_run(experiment_id, run_name=name, tags=tags)
            records = probes.get(r["run_id"], ())
            _log(client, child.info.run_id, run_params(r), _metrics(r, records))
            if records:  # every record, histograms included, as export --what probes
                client.log_dict(child.info.run_id, [probe_row(p) for p in records],
                                "probes.json")
            # tagged last: a run an interrupted export left half-written is exported again
            client.set_tag(child.info.run_id, TAG_RUN, str(r["run_id"]))
            client.set_terminated(child.info.run_id, MLFLOW_STATUS[r["status"]])
            added += 1
    return added, skipped, uri
