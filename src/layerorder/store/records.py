"""Plain records read from and written to the store, and the value conversions they need.

Floats: SQLite ``REAL`` holds ``inf`` and ``-inf`` but not NaN (binding NaN stores NULL). Epoch
metrics therefore store NaN (and ``None``) as NULL and read NULL back as ``float('nan')``;
infinities round-trip unchanged. Run-level columns (``lr``, ``final_*``, ``wall_time``) read
NULL back as ``None``, meaning "not known".
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any, NamedTuple

from layerorder.store.errors import StoreError

STATUSES = ("pending", "running", "done", "diverged", "failed")
FINISHED_STATUSES = ("done", "diverged", "failed")


@dataclass(frozen=True)
class ExperimentRecord:
    id: int
    name: str
    config_hash: str
    config: dict[str, Any] = field(hash=False)
    created_at: str
    generation: int
    plan: dict[str, Any] | None = field(default=None, hash=False)  # its analysis plan, stored


@dataclass(frozen=True)
class RunSpec:
    """A run to be done: ``run_key`` is unique within its experiment."""

    run_key: str
    label: str
    seed: int
    lr: float | None
    config: dict[str, Any] = field(hash=False)


@dataclass(frozen=True)
class RunRecord:
    id: int
    experiment_id: int
    run_key: str
    label: str
    seed: int
    lr: float | None
    config: dict[str, Any] = field(hash=False)
    status: str
    owner: str | None
    attempts: int
    diverged_epoch: int | None
    error: str | None
    final_test_acc: float | None
    final_test_loss: float | None
    final_train_loss: float | None
    wall_time: float | None
    provenance: dict[str, Any] | None = field(hash=False)
    started_at: str | None
    finished_at: str | None
    lease_until: float | None = None  # Unix time at which a running run's lease expires
    # the final metrics a user's own run reported, by name (None: a run of the built-in loop)
    metrics: dict[str, float] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class EpochRecord:
    """Metrics after one epoch; produced by the training loop and read back from the store."""

    epoch: int
    train_loss: float | None
    train_acc: float | None
    test_loss: float | None
    test_acc: float | None
    lr: float | None
    wall_time: float | None
    # metrics a user's own run reported at this epoch, by name (the built-in loop's have fields)
    metrics: dict[str, float] = field(default_factory=dict, hash=False)


class ProbeRecord(NamedTuple):
    """One probe result; a tuple, so it is also what ``Store.add_probes`` accepts."""

    epoch: int
    kind: str
    name: str
    data: dict[str, Any]


SEARCH_OUTCOMES = {  # stage kind -> the outcomes an order can have there
    "space": ("candidate", "merged", "refused"),
    "round": ("kept", "dropped"),
    "final": ("best", "equivalent", "worse", "undecided"),
}


@dataclass(frozen=True)
class SearchStep:
    """One order at one stage of a ``layerorder search``: in the space (stage 0: a candidate, a
    spelling merged into one, or refused by the model), in a selection round (kept or dropped),
    or in the final comparison on fresh seeds (the best, equivalent to it, worse, undecided).
    ``evidence`` says why; ``experiment_id`` is the stage's stored comparison."""

    search: str
    stage: int
    kind: str  # a key of SEARCH_OUTCOMES
    spec: str
    outcome: str
    evidence: str
    experiment_id: int | None = None
    rank: int | None = None
    mean_acc: float | None = None
    runs: int = 0

    def __post_init__(self) -> None:
        if self.outcome not in SEARCH_OUTCOMES.get(self.kind, ()):
            raise StoreError(f"search step outcome '{self.outcome}' is not one of a"
                             f" {self.kind} stage's {SEARCH_OUTCOMES.get(self.kind)}")


SEARCH_STEP_FIELDS = tuple(f.name for f in fields(SearchStep))


_RUN_JSON = ("config", "provenance", "metrics")
EPOCH_METRICS = ("train_loss", "train_acc", "test_loss", "test_acc", "lr", "wall_time")


def utc_now() -> str:
    """The current time as UTC ISO-8601 with seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def dumps(obj: Any) -> str:
    """JSON with sorted keys, as stored in ``*_json`` columns."""
    try:
        return json.dumps(obj, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"cannot store value as JSON: {exc}") from exc


def config_hash(config: dict[str, Any]) -> str:
    """First 16 hex digits of the sha256 of the config's canonical JSON."""
    try:
        text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise StoreError(f"config is not plain JSON data: {exc}") from exc
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def to_real(value: float | None) -> float | None:
    """A float for a REAL column: NaN and None become NULL, infinities stay."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def from_real(value: float | None) -> float:
    """An epoch metric read back: NULL becomes NaN."""
    return math.nan if value is None else float(value)


def is_finite_epoch(epoch: EpochRecord) -> bool:
    """True when every measured loss/accuracy is finite (None counts as not measured)."""
    values = (epoch.train_loss, epoch.train_acc, epoch.test_loss, epoch.test_acc)
    return all(v is None or math.isfinite(v) for v in values)


def experiment_from_row(row: sqlite3.Row) -> ExperimentRecord:
    return ExperimentRecord(
        id=row["id"],
        name=row["name"],
        config_hash=row["config_hash"],
        config=json.loads(row["config_json"]),
        created_at=row["created_at"],
        generation=row["generation"],
        # a read-only store of an older schema lacks the column
        plan=json.loads(row["plan_json"]) if "plan_json" in row.keys() and row["plan_json"]
        else None,
    )


def run_from_row(row: sqlite3.Row) -> RunRecord:
    present = set(row.keys())  # a read-only store of an older schema lacks later columns
    values = {
        f.name: row[f.name] if f.name in present else None
        for f in fields(RunRecord)
        if f.name not in _RUN_JSON
    }
    provenance = row["provenance_json"]
    metrics = row["metrics_json"] if "metrics_json" in present else None
    return RunRecord(
        **values,
        config=json.loads(row["config_json"]),
        provenance=None if provenance is None else json.loads(provenance),
        metrics=None if metrics is None else json.loads(metrics),
    )


def epoch_from_row(row: sqlite3.Row) -> EpochRecord:
    metrics = row["metrics_json"] if "metrics_json" in row.keys() else None
    return EpochRecord(epoch=row["epoch"], **{k: from_real(row[k]) for k in EPOCH_METRICS},
                       metrics={} if metrics is None else json.loads(metrics))


def probe_from_row(row: sqlite3.Row) -> ProbeRecord:
    return ProbeRecord(row["epoch"], row["kind"], row["name"], json.loads(row["data_json"]))


def search_step_from_row(row: sqlite3.Row) -> SearchStep:
    return SearchStep(**{k: row[k] for k in SEARCH_STEP_FIELDS})


# the columns of an epoch as stored and exported (its reported metrics are their own)
EPOCH_COLUMNS = tuple(f.name for f in fields(EpochRecord) if f.name != "metrics")


def epoch_column_names() -> tuple[str, ...]:
    """Epoch columns beside a run's: the epoch's scheduled learning rate is ``epoch_lr``, so
    that it does not clash with the run's ``lr``."""
    return tuple("epoch_lr" if c == "lr" else c for c in EPOCH_COLUMNS)
