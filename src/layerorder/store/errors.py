"""The store's error type."""

from __future__ import annotations

import sqlite3

from layerorder.errors import EnvironmentFault, LayerorderError

# SQLite errors that come from the machine (another writer, the disk, damage), not from the
# input, and what to do about each
_ENVIRONMENT = {
    "locked": "another process is writing the store; try again when it is done",
    "busy": "another process is writing the store; try again when it is done",
    "full": "free some disk space and run the command again (finished runs are kept)",
    "disk i/o": "check the disk (full, removed or failing) and run the command again",
    "malformed": "the store is damaged; restore a copy, or start a new one with --store",
    "not a database": "the store is damaged; restore a copy, or start a new one with --store",
    "readonly": "the store cannot be written here; check its permissions and its mount",
}


class StoreError(LayerorderError, ValueError):
    """The store file cannot be used: wrong kind of file, unwritable, too new, or a bad request."""


class StoreMissing(StoreError):
    """There is no store there yet (a file not created, a database without the tables)."""


class StoreUnavailable(StoreError, EnvironmentFault):
    """The store is locked, on a full disk or damaged: the environment, not the input."""


def sqlite_failure(message: str, exc: sqlite3.Error) -> StoreError:
    """The error for an SQLite failure: ``StoreUnavailable`` where the machine is the cause."""
    text = str(exc).lower()
    hint = next((fix for word, fix in _ENVIRONMENT.items() if word in text), None)
    if hint is None:
        return StoreError(f"{message}: {exc}")
    return StoreUnavailable(f"{message}: {exc}; {hint}")
