"""``layerorder store copy SRC DST``: a whole store copied into a new one, between SQLite and
PostgreSQL in either direction, with every id, run key, result, epoch, probe and search step as
it was (so exports of the two are equal)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from layerorder.store.db import Store
from layerorder.store.errors import StoreError
from layerorder.store.location import shown

# every table but ``meta`` (the target has its own), parents before children
TABLES = ("experiments", "runs", "epochs", "probes", "search_steps")


@dataclass(frozen=True)
class CopySummary:
    source: str
    target: str
    rows: dict[str, int]  # rows copied, by table


def copy_store(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> CopySummary:
    """Copy the store at ``source`` into ``target``, which must be new or hold no experiment;
    all in one transaction of the target, so a failed copy leaves it as it was."""
    source, target = os.fspath(source), os.fspath(target)
    if source == target:
        raise StoreError(f"store copy: the source and the target are both '{shown(source)}';"
                         " give another target")
    with Store.open(source, create=False, read_only=True) as src, Store.open(target) as dst:
        if dst.experiments():
            raise StoreError(f"store copy: '{dst.shown}' already holds experiments; copy into a"
                             " new store (a new file, or an empty database or schema)")
        try:
            rows = _copy_rows(src, dst)
        except src._conn.errors as exc:  # reading the source failed (writes are dst's _tx's)
            raise src._conn.failure(f"cannot read store '{src.shown}'", exc) from exc
        return CopySummary(src.shown, dst.shown, rows)


def _copy_rows(src: Store, dst: Store) -> dict[str, int]:
    """Every table's rows from ``src`` into ``dst``, in one transaction of ``dst``."""
    rows: dict[str, int] = {}
    with dst._tx() as conn:
        for table in TABLES:
            if not src._has_table(table):  # an older source: nothing of it to copy
                rows[table] = 0
                continue
            theirs = set(src._conn.columns(table))
            columns = [c for c in conn.columns(table) if c in theirs]
            key = "id" if "id" in columns else "rowid"  # in the order they were stored
            found = src._conn.execute(
                f"SELECT {', '.join(columns)} FROM {table} ORDER BY {key}").fetchall()
            marks = ", ".join("?" for _ in columns)
            conn.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                [tuple(row) for row in found])
            rows[table] = len(found)
        conn.reset_identities()
    return rows
