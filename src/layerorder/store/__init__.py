"""The SQLite store of experiments and runs; the only code in layerorder that writes SQL.

Open with ``Store.open(path)`` (a context manager). Several processes may share one store file:
writes are ``BEGIN IMMEDIATE`` transactions in WAL mode with a 30 s busy timeout, and runs are
handed out by ``Store.claim_next``. See ``records`` for how NaN and infinities are stored.
"""

from layerorder.store.db import DEFAULT_STORE, Store
from layerorder.store.errors import StoreError
from layerorder.store.heartbeat import Heartbeat
from layerorder.store.leases import DEFAULT_LEASE
from layerorder.store.migrations import SCHEMA_VERSION
from layerorder.store.owner import is_stale_owner, make_owner
from layerorder.store.records import (
    STATUSES,
    EpochRecord,
    ExperimentRecord,
    ProbeRecord,
    RunRecord,
    RunSpec,
    SearchStep,
    config_hash,
)

__all__ = [
    "DEFAULT_STORE",
    "DEFAULT_LEASE",
    "SCHEMA_VERSION",
    "STATUSES",
    "EpochRecord",
    "ExperimentRecord",
    "Heartbeat",
    "ProbeRecord",
    "RunRecord",
    "RunSpec",
    "SearchStep",
    "Store",
    "StoreError",
    "config_hash",
    "is_stale_owner",
    "make_owner",
]
