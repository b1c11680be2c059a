"""Probe records to and from the store: one record type per kind, typed both ways.

A probe row is (epoch, kind, name, data); ``data`` holds the record's fields (and its forward
``index``). ``typed`` reads a row back as the frozen record it was made from.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from layerorder.probe.records import (
    DEFAULT_RANGE,
    Fit,
    GradFlow,
    Recalibration,
    StageStats,
    VarianceShift,
)

PROBE_KINDS: dict[str, type] = {
    "stage": StageStats,
    "grad": GradFlow,
    "varshift": VarianceShift,
    "recal": Recalibration,  # once per run, at its last epoch
    "fit": Fit,  # once per run, at its last epoch
}
_TUPLES = ("hist", "hist_range")


def to_data(item: Any, index: int) -> dict[str, Any]:
    """The row data of a record: its fields but the name (a column of its own), and ``index``."""
    d = {f.name: getattr(item, f.name) for f in dataclasses.fields(item) if f.name != "name"}
    for key in _TUPLES:
        if key in d:
            d[key] = list(d[key])
    return {"index": index, **d}


def typed(kind: str, name: str, data: dict[str, Any]):
    """The record of a stored row (None for a kind this version does not know). Stage rows
    stored before their range was kept were all taken over the default range."""
    if kind not in PROBE_KINDS:
        return None
    cls = PROBE_KINDS[kind]
    fields = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in data.items() if k in fields}
    if cls is StageStats:
        values.setdefault("hist_range", DEFAULT_RANGE)
    for key in _TUPLES:
        if key in values:
            values[key] = tuple(values[key])
    return cls(name=name, **values)
