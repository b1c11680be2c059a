"""Schema migrations as numbered functions, applied in order (after simonw/llm's migrations.py).

Rules: never edit a released migration; add ``_m00N_what(conn)`` and append it to ``MIGRATIONS``.
``meta`` holds ``schema_version`` (the number of migrations applied) and ``app = 'layerorder'``.
``migrate`` runs inside the caller's ``BEGIN IMMEDIATE`` transaction, so concurrent openers
serialise and each migration is applied exactly once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from layerorder.store.errors import StoreError
from layerorder.store.leases import DEFAULT_LEASE
from layerorder.store.records import config_hash
from layerorder.store.sql import Executes

# A migration is written once, in SQLite's SQL, and runs on an SQLite connection or on a server's
# (``store.postgres.PgConnection``, which translates it).
Connection = Executes

APP_NAME = "layerorder"


_M001_TABLES = (
    """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)""",
    """CREATE TABLE experiments (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        config_hash TEXT NOT NULL,
        config_json TEXT NOT NULL,
        created_at TEXT NOT NULL,
        generation INTEGER NOT NULL DEFAULT 0,
        UNIQUE (name, config_hash, generation)
    )""",
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        experiment_id INTEGER NOT NULL REFERENCES experiments(id),
        run_key TEXT NOT NULL,
        label TEXT NOT NULL,
        seed INTEGER NOT NULL,
        lr REAL,
        config_json TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('pending', 'running', 'done', 'diverged', 'failed')),
        owner TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        diverged_epoch INTEGER,
        error TEXT,
        final_test_acc REAL,
        final_test_loss REAL,
        final_train_loss REAL,
        wall_time REAL,
        provenance_json TEXT,
        started_at TEXT,
        finished_at TEXT,
        UNIQUE (experiment_id, run_key)
    )""",
    "CREATE INDEX runs_experiment_status ON runs (experiment_id, status)",
    """CREATE TABLE epochs (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        train_loss REAL,
        train_acc REAL,
        test_loss REAL,
        test_acc REAL,
        lr REAL,
        wall_time REAL,
        PRIMARY KEY (run_id, epoch)
    )""",
    """CREATE TABLE probes (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        data_json TEXT NOT NULL,
        PRIMARY KEY (run_id, epoch, kind, name)
    )""",
)


def _m001_initial(conn: Connection) -> None:
    """meta, experiments, runs, epochs and probes."""
    for statement in _M001_TABLES:
        conn.execute(statement)
    conn.execute("INSERT INTO meta (key, value) VALUES ('app', ?)", (APP_NAME,))


def _m002_no_dropout_key(conn: Connection) -> None:
    """Run keys leave out the dropout rate where the model has no dropout option (resnet, a
    user's ``--model``): drop ``p_drop`` from those experiments' and runs' configs and rehash.
    A rehashed key that another row already holds is left as it was (no row is merged or lost),
    and so are the runs of an experiment left as it was."""
    import json

    def without_dropout(text: str) -> dict | None:
        cfg = json.loads(text)
        if "p_drop" not in cfg or (cfg.get("arch") != "resnet" and cfg.get("model") is None):
            return None
        del cfg["p_drop"]
        return cfg

    kept: set[int] = set()  # experiments whose new hash another generation already holds
    for exp_id, name, generation, text in conn.execute(
        "SELECT id, name, generation, config_json FROM experiments"
    ).fetchall():
        cfg = without_dropout(text)
        if cfg is None:
            continue
        taken = conn.execute(
            "SELECT 1 FROM experiments WHERE name = ? AND generation = ? AND config_hash = ?",
            (name, generation, config_hash(cfg)),
        ).fetchone()
        if taken is not None:
            kept.add(exp_id)
            continue
        conn.execute(
            "UPDATE experiments SET config_hash = ?, config_json = ? WHERE id = ?",
            (config_hash(cfg), json.dumps(cfg, sort_keys=True), exp_id),
        )
    for run_id, exp_id, text in conn.execute(
        "SELECT id, experiment_id, config_json FROM runs"
    ).fetchall():
        cfg = without_dropout(text)
        if cfg is None or exp_id in kept:
            continue
        taken = conn.execute(
            "SELECT 1 FROM runs WHERE experiment_id = ? AND run_key = ?",
            (exp_id, config_hash(cfg)),
        ).fetchone()
        if taken is None:
            conn.execute(
                "UPDATE runs SET run_key = ?, config_json = ? WHERE id = ?",
                (config_hash(cfg), json.dumps(cfg, sort_keys=True), run_id),
            )


def _m003_run_leases(conn: Connection) -> None:
    """``runs.lease_until``: when a running run's lease expires (Unix time, seconds). Runs
    running at the upgrade get one default lease from now: their driver (an older layerorder)
    does not renew it, so they become reclaimable once it expires."""
    import time

    conn.execute("ALTER TABLE runs ADD COLUMN lease_until REAL")
    conn.execute(
        "UPDATE runs SET lease_until = ? WHERE status = 'running'", (time.time() + DEFAULT_LEASE,)
    )


def _m004_search_steps(conn: Connection) -> None:
    """``search_steps``: a ``layerorder search``'s history, one row per order and stage (stage 0:
    the space, 1..n: the selection rounds, n+1: the final comparison), with its outcome and the
    evidence for it. Its runs stay in ``runs``, under the stage's experiment."""
    conn.execute("""CREATE TABLE search_steps (
        search TEXT NOT NULL,
        stage INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('space', 'round', 'final')),
        spec TEXT NOT NULL,
        outcome TEXT NOT NULL,
        evidence TEXT NOT NULL,
        experiment_id INTEGER REFERENCES experiments(id),
        rank INTEGER,
        mean_acc REAL,
        runs INTEGER NOT NULL,
        PRIMARY KEY (search, stage, spec)
    )""")


def _m005_analysis_plans(conn: Connection) -> None:
    """``experiments.plan_json``: the analysis plan (``layerorder.stats.plan.AnalysisPlan``)
    the experiment was last analysed with, so that a report reads the comparison's margin,
    baseline, design and chance level back; NULL until then."""
    conn.execute("ALTER TABLE experiments ADD COLUMN plan_json TEXT")


def _m006_user_metrics(conn: Connection) -> None:
    """``runs.metrics_json`` and ``epochs.metrics_json``: the metrics a user's own run (a training
    function or a script) reported, at the end and per epoch, by name; NULL for runs of the
    built-in loop, whose metrics have their own columns."""
    conn.execute("ALTER TABLE runs ADD COLUMN metrics_json TEXT")
    conn.execute("ALTER TABLE epochs ADD COLUMN metrics_json TEXT")


def _m007_claim_index(conn: Connection) -> None:
    """``runs_claim``: runs by experiment, status and id, the order a claim reads them in. On
    SQLite the index before it already ends in the rowid; a server had to sort every pending
    run of the experiment at each claim."""
    conn.execute("CREATE INDEX runs_claim ON runs (experiment_id, status, id)")


MIGRATIONS: list[Callable[[Connection], None]] = [
    _m001_initial,
    _m002_no_dropout_key,
    _m003_run_leases,
    _m004_search_steps,
    _m005_analysis_plans,
    _m006_user_metrics,
    _m007_claim_index,
]
SCHEMA_VERSION = len(MIGRATIONS)
# the oldest schema read without upgrading (a read-only store): later migrations only added
# columns, which read as None where they are missing, and tables, which read as empty
READABLE_FROM = 2


def has_table(conn: Connection, name: str) -> bool:
    """Whether the store has table ``name``: SQLite's catalogue is read here, a server's by its
    connection (``PgConnection.has_table``)."""
    if not isinstance(conn, sqlite3.Connection):
        return conn.has_table(name)  # type: ignore[attr-defined]
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return row is not None


def has_meta(conn: Connection) -> bool:
    return has_table(conn, "meta")


def read_meta(conn: Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def schema_version(conn: Connection) -> int:
    """The number of migrations applied; 0 for a database without ``meta``."""
    if not has_meta(conn):
        return 0
    value = read_meta(conn, "schema_version")
    version = int(value) if value is not None else 0
    if version < 0:
        raise ValueError(f"schema_version is {version}")
    return version


def too_new_message(path: str, version: int) -> str:
    return (
        f"store '{path}' has schema version {version} but this layerorder knows only up to "
        f"version {SCHEMA_VERSION}; upgrade layerorder (pip install -U layerorder) to use it"
    )


def migrate(conn: Connection, path: str) -> int:
    """Apply the missing migrations inside the open transaction; returns how many ran."""
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise StoreError(too_new_message(path, version))
    for migration in MIGRATIONS[version:]:
        migration(conn)
    if version < SCHEMA_VERSION:
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
    return SCHEMA_VERSION - version
