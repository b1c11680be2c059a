"""What ``layerorder export`` writes, as rows: every run with its epochs, every probe record of
every probed run, or every search's history; then CSV, JSON or Parquet (pyarrow, through pandas).

Epoch rows are the run's fields (``RUN_FIELDS``) and the epoch's metrics (``epoch_lr`` is the
epoch's scheduled learning rate). Probe rows are the run's fields, the probe's epoch, its kind
(``probe``: stage, grad, varshift, recal, fit) and module path, and the record's fields (``kind``
is then the module class) (``StageStats``, ``GradFlow``, ``VarianceShift``, ``Recalibration``,
``Fit``): columns a kind does not have are empty. Histograms are lists (JSON, Parquet)
or ``;``-joined counts (CSV). Search rows are ``SearchStep`` records, one per order and stage.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from layerorder.experiment.configuration.plan import stored_plan
from layerorder.stats.plan import AnalysisPlan
from layerorder.store.records import EPOCH_COLUMNS, epoch_column_names

RUN_FIELDS = (
    "run_id", "experiment", "order", "seed", "lr", "status", "diverged_epoch", "condition"
)
PROBE_FIELDS = ("probe_epoch", "probe", "name")  # probe: stage, grad, varshift, recal or fit


def run_fields(r, exp_name: str, plan: AnalysisPlan = AnalysisPlan()) -> dict[str, Any]:
    """``plan``: the experiment's analysis plan, whose factors name the run's condition."""
    from layerorder.stats.analysis import condition_name

    return {
        "run_id": r.id,
        "experiment": exp_name,
        "order": r.label,
        "seed": r.seed,
        "lr": r.lr,
        "condition": condition_name([(f, plan.level_of(r, f)) for f in plan.factors]),
        "status": r.status,
        "diverged_epoch": r.diverged_epoch,
        "error": r.error,
        "final_test_acc": r.final_test_acc,
        "metrics": r.metrics,  # the final metrics a user's own run reported
        "wall_time": r.wall_time,
        "config": r.config,
        "provenance": r.provenance,
        "owner": r.owner,
        "lease_until": r.lease_until,
    }


def runs_with_epochs(db, experiments) -> list[dict[str, Any]]:
    """One dict per run: its fields and ``epochs`` (a list of metric dicts)."""
    data = []
    for exp in experiments:
        epochs, plan = db.epochs_for_experiment(exp.id), stored_plan(exp)
        for r in db.runs(exp.id):
            d = run_fields(r, exp.name, plan)
            d["epochs"] = [{**{k: getattr(e, k) for k in EPOCH_COLUMNS}, **e.metrics}
                           for e in epochs.get(r.id, [])]
            data.append(d)
    return data


def epoch_rows(runs: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Flat (header, rows): one row per run and epoch; a column per metric a user's own run
    reported, after the built-in loop's."""
    reported = sorted({k for d in runs for e in d["epochs"] for k in e} - set(EPOCH_COLUMNS))
    header = list(RUN_FIELDS + epoch_column_names()) + reported
    rows = [[d[k] for k in RUN_FIELDS] + [e[k] for k in EPOCH_COLUMNS]
            + [e.get(k) for k in reported]
            for d in runs for e in d["epochs"]]
    return header, rows


def finite_number(value: Any) -> float | None:
    """A finite int or float as a float (bools, strings, NaN and infinities: None), for the
    formats that hold numbers only (TensorBoard scalars, MLflow metrics)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def probe_rows(db, experiments) -> list[dict[str, Any]]:
    """One dict per stored probe record: the run's fields, the probe's and the record's."""
    from layerorder.probe.training import probe_row

    out = []
    for exp in experiments:
        plan = stored_plan(exp)
        for r in db.runs(exp.id):
            base = {k: v for k, v in run_fields(r, exp.name, plan).items()
                    if k in RUN_FIELDS}
            for p in db.probes(r.id):
                out.append({**base, **probe_row(p)})
    return out


def probe_header(rows: list[dict[str, Any]]) -> list[str]:
    header = list(RUN_FIELDS + PROBE_FIELDS)
    for row in rows:
        header += [k for k in row if k not in header]
    return header


def write_parquet(header: list[str], rows: list[list[Any]] | list[dict[str, Any]], fh) -> None:
    """A Parquet file (pyarrow through pandas) with the given columns."""
    import pandas as pd

    from layerorder.errors import LayerorderError

    try:
        import pyarrow  # noqa: F401
    except ModuleNotFoundError:
        raise LayerorderError(
            "--format parquet needs pyarrow: pip install pyarrow (or 'layerorder[export]')"
        ) from None
    if rows and isinstance(rows[0], dict):
        frame = pd.DataFrame([{k: row.get(k) for k in header} for row in rows], columns=header)
    else:
        frame = pd.DataFrame(rows, columns=header)
    frame.to_parquet(fh, index=False)


@dataclass(frozen=True)
class ExportTable:
    header: list[str]
    rows: list[list[Any]]  # flat, for CSV and Parquet
    records: list[dict[str, Any]]  # for JSON (runs keep their epochs as a list)


def _experiments(db, experiment: str | None):
    return [db.find_experiment(experiment)] if experiment else db.experiments()


def _epoch_table(db, experiment: str | None) -> ExportTable:
    records = runs_with_epochs(db, _experiments(db, experiment))
    header, rows = epoch_rows(records)
    return ExportTable(header, rows, records)


def _probe_table(db, experiment: str | None) -> ExportTable:
    records = probe_rows(db, _experiments(db, experiment))
    header = probe_header(records)
    return ExportTable(header, [[r.get(k) for k in header] for r in records], records)


def _search_table(db, search: str | None) -> ExportTable:
    from layerorder.errors import LayerorderError
    from layerorder.store.records import SEARCH_STEP_FIELDS

    steps = db.search_steps(search)
    if not steps:
        names = sorted({s.search for s in db.search_steps()})
        known = f"; searches here: {', '.join(names)}" if names else ""
        what = f"no search named '{search}'" if search else "no search"
        raise LayerorderError(f"{what} in {db.shown}{known} (layerorder search stores one)")
    records = [asdict(s) for s in steps]
    header = list(SEARCH_STEP_FIELDS)
    return ExportTable(header, [[r[k] for k in header] for r in records], records)


# --what: what each choice exports (``-e`` names an experiment, or for search a search)
WHAT: dict[str, Callable[[Any, str | None], ExportTable]] = {
    "epochs": _epoch_table,
    "probes": _probe_table,
    "search": _search_table,
}
