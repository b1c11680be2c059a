"""The store's error type."""

from __future__ import annotations

import sqlite3

from layerorder.errors import EnvironmentFault, LayerorderError

# SQLite errors that come from the machine (another writer, the disk, damage), not from the input
_ENVIRONMENT = ("locked", "busy", "full", "disk i/o", "malformed", "not a database", "readonly")


class StoreError(LayerorderError, ValueError):
    """The store file cannot be used: wrong kind of file, unwritable, too new, or a bad request."""


class StoreUnavailable(StoreError, EnvironmentFault):
    """The store is locked, on a full disk or damaged: the environment, not the input."""


def sqlite_failure(message: str, exc: sqlite3.Error) -> StoreError:
    """The error for an SQLite failure: ``StoreUnavailable`` where the machine is the cause."""
    text = str(exc).lower()
    cls = StoreUnavailable if any(word in text for word in _ENVIRONMENT) else StoreError
    return cls(f"{message}: {exc}")
