"""``Store``: the store of experiments, runs, epochs and probes, in an SQLite file or on a
PostgreSQL server (``store.postgres``).

Rules: every write is one transaction, so several processes (a killed sweep and its restart,
parallel drivers, pull workers on many hosts) can share one store; runs are claimed atomically by
``claim_next``; a finished run is written only by the owner that claimed it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from layerorder.store import queries
from layerorder.store.connect import SqliteConnection, open_connection, release
from layerorder.store.errors import StoreError, StoreUnavailable
from layerorder.store.leases import DEFAULT_LEASE, lease_expired
from layerorder.store.location import check_scheme, is_url, shown
from layerorder.store.owner import is_local_owner, is_stale_owner
from layerorder.store.records import (
    FINISHED_STATUSES,
    SEARCH_STEP_FIELDS,
    EpochRecord,
    ExperimentRecord,
    RunRecord,
    RunSpec,
    SearchStep,
    config_hash,
    dumps,
    experiment_from_row,
    is_finite_epoch,
    run_from_row,
    to_real,
    utc_now,
)
from layerorder.store.sql import StoreConnection
from layerorder.store.vanished import copy_out, file_identity, restore_at

DEFAULT_STORE = "layerorder.db"  # where the commands and the Python API store runs unless told


class Store(queries.StoreQueries):
    """An open store. Use ``Store.open(path_or_url)``, preferably as a context manager."""

    def __init__(
        self, conn: StoreConnection, path: str, held: tuple[int, int] | None = None
    ) -> None:
        self._connection: StoreConnection | None = conn
        self.path = path  # the file path, or the server URL as given (``location``)
        self._held = held  # the file ``conn`` holds, released on close (``store.connect``)
        file = isinstance(conn, SqliteConnection)
        self._checked = not file  # quick_check passed (an SQLite file, before the first write)
        self._identity = file_identity(path) if file else None  # see ``store.vanished``
        self.notices: list[str] = []  # what the store did on its own (a restored file)

    @property
    def shown(self) -> str:
        """The store as messages name it (a URL without its password)."""
        return shown(self.path)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        read_only: bool = False,
        restore: bool = True,
    ) -> Store:
        """Open (and with ``create``, create) the store at ``path``: an SQLite file, or a
        PostgreSQL URL (``postgresql://user@host:port/database``); raises ``StoreError``.
        ``read_only`` (for commands that only read): a store on a read-only mount or without
        write permission is opened for reading instead of refused. ``restore``: put the file
        back if it is deleted while open (``store.vanished``); a helper connection beside the
        main one (the lease heartbeat) leaves that to the main one."""
        display = os.fspath(path)
        if is_url(display):
            check_scheme(display)
            postgres = _postgres()
            return cls(postgres.open_connection(display, create=create, read_only=read_only),
                       display)
        raw, held = open_connection(Path(display), display, create=create, read_only=read_only)
        store = cls(SqliteConnection(raw), display, held)
        if not restore:
            store._identity = None
        return store

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
            release(self._held)
            self._held = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "open" if self._connection is not None else "closed"
        return f"Store({self.shown!r}, {state})"

    @property
    def _conn(self) -> StoreConnection:
        if self._connection is None:
            raise StoreError(f"store '{self.shown}' is closed")
        return self._connection

    @contextmanager
    def _tx(self) -> Iterator[StoreConnection]:
        """One write transaction; database errors become ``StoreError`` (``StoreUnavailable``
        where the machine or the network is the cause). The first write of an SQLite handle
        checks the file first: a damaged store is never written to."""
        self._follow_file()
        if not self._checked:
            self._check_before_writing()
        connection = self._conn
        try:
            with connection.transaction() as conn:
                yield conn
        except connection.errors as exc:  # locked, disk full, damaged pages, server gone, ...
            raise connection.failure(f"cannot write store '{self.shown}'", exc) from exc

    def _follow_file(self) -> None:
        """Before a write: restore a store deleted from under this handle; refuse to go on with
        one replaced by another file (``layerorder.store.vanished``)."""
        if self._identity is None or self._connection is None:
            return
        now = file_identity(self.path)
        if now == self._identity:
            return
        path = Path(self.path)
        try:
            assert isinstance(self._connection, SqliteConnection)
            saved = copy_out(self._connection.raw, path)
            self.close()
            restored = now is None and restore_at(saved, path)
        except (OSError, sqlite3.Error) as exc:  # the folder is gone too, or the disk is full
            self.close()
            raise StoreUnavailable(
                f"store '{self.path}' was deleted or replaced while this command ran and cannot"
                f" be written back ({exc}); finished runs stored before that are lost with it"
            ) from exc
        if restored:
            raw, self._held = open_connection(path, self.path, create=False)
            self._connection = SqliteConnection(raw)
            self._identity = file_identity(path)
            self.notices.append(
                f"store '{self.path}' was deleted while this command ran; it was restored from the"
                " open connection with everything stored so far"
            )
            return
        raise StoreUnavailable(
            f"store '{self.path}' was replaced by another file while this command ran; nothing"
            f" more was written, and what was stored so far is in '{saved}'"
        )

    def _check_before_writing(self) -> None:
        try:
            rows = self._conn.execute("PRAGMA quick_check").fetchall()  # an SQLite file only
        except sqlite3.DatabaseError as exc:
            rows = [(str(exc),)]
        problems = [line for r in rows for line in str(r[0]).splitlines()]
        problems = [p for p in problems if p != "ok" and not p.startswith("***")]
        if problems:
            raise StoreUnavailable(
                f"store '{self.path}' is damaged ({problems[0][:120]}); nothing was written to it:"
                " restore a copy, or start a new store with --store"
            )
        self._checked = True

    def experiment(
        self, name: str, config: dict[str, Any], *, fresh: bool = False
    ) -> ExperimentRecord:
        """The latest generation of (name, config), created if missing or when ``fresh``."""
        digest = config_hash(config)
        with self._tx() as conn:
            conn.serialize(f"experiment:{name}")  # two drivers starting it at once get one
            row = conn.execute(
                "SELECT * FROM experiments WHERE name = ? AND config_hash = ? "
                "ORDER BY generation DESC LIMIT 1",
                (name, digest),
            ).fetchone()
            if row is not None and not fresh:
                return experiment_from_row(row)
            generation = 0 if row is None else row["generation"] + 1
            conn.execute(
                "INSERT INTO experiments (name, config_hash, config_json, created_at, generation) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, digest, dumps(config), utc_now(), generation),
            )
            row = conn.execute(
                "SELECT * FROM experiments WHERE name = ? AND config_hash = ? AND generation = ?",
                (name, digest, generation),
            )
            return experiment_from_row(row.fetchone())

    def save_plan(self, experiment_id: int, plan: dict[str, Any]) -> None:
        """Store the analysis plan ``experiment_id`` was analysed with (its JSON form)."""
        with self._tx() as conn:
            self._require_experiment(conn, experiment_id)
            conn.execute("UPDATE experiments SET plan_json = ? WHERE id = ?",
                         (dumps(plan), experiment_id))

    def add_runs(self, experiment_id: int, specs: Iterable[RunSpec]) -> int:
        """Add pending runs; runs whose ``run_key`` exists already are skipped. Returns # added."""
        rows = [
            (experiment_id, s.run_key, s.label, int(s.seed), to_real(s.lr), dumps(s.config))
            for s in specs
        ]
        with self._tx() as conn:
            self._require_experiment(conn, experiment_id)
            cursor = conn.executemany(
                "INSERT OR IGNORE INTO runs "
                "(experiment_id, run_key, label, seed, lr, config_json, status) "
                "VALUES (?, ?, ?, ?, ?, ?, 'pending')",
                rows,
            )
            return max(cursor.rowcount, 0)

    def claim_next(
        self,
        experiment_id: int,
        owner: str,
        *,
        keys: Collection[str] | None = None,
        lease: float = DEFAULT_LEASE,
    ) -> RunRecord | None:
        """Atomically take the first pending run, or a running one that is stale: its lease
        expired, or its owner is a process on this host that is gone. The claim holds for
        ``lease`` seconds unless renewed (``renew_leases``; see ``layerorder.store.leases``).

        With ``keys``, only runs whose ``run_key`` is in ``keys`` are considered.
        """
        with self._tx() as conn:
            now = conn.now()
            chosen = _first_claimable(conn, experiment_id, keys, now)
            if chosen is None:
                return None
            conn.execute(
                "UPDATE runs SET status = 'running', owner = ?, started_at = ?, lease_until = ?, "
                "attempts = attempts + 1, finished_at = NULL, error = NULL, "
                "diverged_epoch = NULL WHERE id = ?",
                (owner, utc_now(), now + lease, chosen),
            )
            return self._run_row(conn, chosen)

    def renew_leases(self, owner: str, lease: float = DEFAULT_LEASE) -> int:
        """Extend the lease of every run ``owner`` holds to ``lease`` seconds from now."""
        with self._tx() as conn:
            _lock_in_id_order(conn, "owner = ? AND status = 'running'", (owner,))
            cursor = conn.execute(
                "UPDATE runs SET lease_until = ? WHERE owner = ? AND status = 'running'",
                (conn.now() + lease, owner),
            )
            return cursor.rowcount

    def release_stale(self, experiment_id: int | None = None) -> list[RunRecord]:
        """Put every stale running run back to pending, in one experiment or in all: lease
        expired, owner gone on this host, or no lease and an owner on another host (claimed
        before leases existed). Returns the runs as they were."""
        with self._tx() as conn:
            where, args = ("AND experiment_id = ?", (experiment_id,)) if experiment_id else ("", ())
            rows = conn.execute(
                f"SELECT * FROM runs WHERE status = 'running' {where} ORDER BY id{conn.lock_rows}",
                args,
            ).fetchall()
            now = conn.now()
            stale = [run_from_row(r) for r in rows
                     if _claimable(r, None, now) or _unleased(r)]
            conn.executemany(
                "UPDATE runs SET status = 'pending', owner = NULL, started_at = NULL, "
                "lease_until = NULL WHERE id = ? AND status = 'running' AND owner = ?",
                [(r.id, r.owner) for r in stale],
            )
            return stale

    def held_elsewhere(
        self, experiment_id: int, owner: str, keys: Collection[str] | None = None
    ) -> list[RunRecord]:
        """Runs that another live owner holds now (running, lease not expired)."""
        now = self._conn.now()
        return [
            r
            for r in self.runs(experiment_id, "running")
            if r.owner != owner
            and (keys is None or r.run_key in keys)
            and not _stale(r.owner, r.lease_until, now)
        ]

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        epochs: Sequence[EpochRecord],
        owner: str,
        diverged_epoch: int | None = None,
        error: str | None = None,
        wall_time: float | None = None,
        provenance: dict[str, Any] | None = None,
        probes: Iterable[tuple[int, str, str, dict]] = (),
        metrics: dict[str, float] | None = None,
    ) -> bool:
        """Record a finished run, its epochs and its probes ``(epoch, kind, name, data)``;
        False (nothing written) unless ``owner`` holds it. ``metrics``: the final metrics a
        user's own run reported (None for the built-in loop's).

        ``final_*`` come from the last epoch, or for diverged/failed runs the last finite one.
        """
        if error is not None:  # a NUL byte (a command's output) fits no PostgreSQL text
            error = str(error).replace("\x00", "\\x00")
        if status not in FINISHED_STATUSES:
            raise StoreError(
                f"cannot finish a run with status '{status}'; "
                f"use one of: {', '.join(FINISHED_STATUSES)}"
            )
        ordered = sorted(epochs, key=lambda e: e.epoch)
        with self._tx() as conn:
            cursor = conn.execute(
                "UPDATE runs SET status = ?, diverged_epoch = ?, error = ?, wall_time = ?, "
                "provenance_json = ?, finished_at = ?, lease_until = NULL, final_test_acc = ?, "
                "final_test_loss = ?, final_train_loss = ?, metrics_json = ? "
                "WHERE id = ? AND owner = ? AND status = 'running'",
                (
                    status,
                    None if diverged_epoch is None else int(diverged_epoch),
                    None if error is None else str(error),
                    to_real(wall_time),
                    None if provenance is None else dumps(provenance),
                    utc_now(),
                    *_final_values(ordered, status),
                    None if metrics is None else dumps(metrics),
                    run_id,
                    owner,
                ),
            )
            if cursor.rowcount != 1:
                return False
            conn.execute("DELETE FROM epochs WHERE run_id = ?", (run_id,))
            conn.executemany(
                "INSERT INTO epochs (run_id, epoch, train_loss, train_acc, test_loss, test_acc, "
                "lr, wall_time, metrics_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_epoch_row(run_id, e) for e in ordered],
            )
            _insert_probes(conn, run_id, probes)
            return True

    def release_owned(self, experiment_id: int | None, owner: str) -> int:
        """Put every run of ``experiment_id`` (of every experiment: None) held by ``owner``
        back to pending; returns how many.

        Used on Ctrl-C: it also covers a run whose claim committed just before the interrupt,
        which the caller may not have learned of yet (or a claim whose answer a lost
        connection took).
        """
        where, args = ("experiment_id = ? AND ", (experiment_id,)) if experiment_id else ("", ())
        with self._tx() as conn:
            _lock_in_id_order(conn, f"{where}owner = ? AND status = 'running'", (*args, owner))
            cursor = conn.execute(
                "UPDATE runs SET status = 'pending', owner = NULL, started_at = NULL, "
                f"lease_until = NULL WHERE {where}owner = ? AND status = 'running'",
                (*args, owner),
            )
            return cursor.rowcount

    def record_search(self, steps: Iterable[SearchStep], *, start: bool = False) -> int:
        """Store search steps (one stage's, as the search goes); ``start``: the search begins
        again, so its earlier history (under the same name) is replaced. Returns # stored."""
        steps = list(steps)
        names = ", ".join(SEARCH_STEP_FIELDS)
        marks = ", ".join("?" for _ in SEARCH_STEP_FIELDS)
        with self._tx() as conn:
            if start:
                for search in {s.search for s in steps}:
                    conn.execute("DELETE FROM search_steps WHERE search = ?", (search,))
            rows = [[getattr(s, k) for k in SEARCH_STEP_FIELDS] for s in steps]
            mean = SEARCH_STEP_FIELDS.index("mean_acc")
            for row in rows:
                row[mean] = to_real(row[mean])
            conn.executemany(
                f"INSERT OR REPLACE INTO search_steps ({names}) VALUES ({marks})", rows
            )
        return len(steps)

    def add_probes(self, run_id: int, records: Iterable[tuple[int, str, str, dict]]) -> int:
        """Insert or replace probe results ``(epoch, kind, name, data)``; returns how many."""
        with self._tx() as conn:
            return _insert_probes(conn, run_id, records)

    def _require_experiment(self, conn: StoreConnection, experiment_id: int) -> None:
        found = conn.execute("SELECT 1 FROM experiments WHERE id = ?", (experiment_id,))
        if found.fetchone() is None:
            raise StoreError(f"no experiment with id {experiment_id} in store '{self.shown}'")


def _lock_in_id_order(conn: StoreConnection, where: str, args: tuple) -> None:
    """On a server, lock the rows an UPDATE of several rows will write, in id order first, as
    every other statement that locks several runs does: two transactions then never wait for
    each other in a cycle (a deadlock). SQLite has one writer at a time: nothing to do."""
    if conn.lock_rows:
        conn.execute(f"SELECT id FROM runs WHERE {where} ORDER BY id{conn.lock_rows}", args)


def _postgres():
    """``store.postgres``, imported when a URL is opened: psycopg is an optional dependency
    (``pip install 'layerorder[postgres]'``), and an SQLite user never loads it."""
    try:
        from layerorder.store import postgres
    except ImportError as exc:
        raise StoreError(
            f"a PostgreSQL store needs psycopg ({exc}); install it with"
            " pip install 'layerorder[postgres]', or pass an SQLite file path to --store"
        ) from exc
    return postgres


def _insert_probes(conn: StoreConnection, run_id: int, records) -> int:
    rows = [(run_id, int(ep), kind, name, dumps(data)) for ep, kind, name, data in records]
    conn.executemany(
        "INSERT OR REPLACE INTO probes (run_id, epoch, kind, name, data_json) "
        "VALUES (?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)


_CANDIDATES = ("SELECT id, run_key, status, owner, lease_until FROM runs WHERE experiment_id = ?"
               " AND status = ?")


def _first_claimable(conn: StoreConnection, experiment_id: int,
                     keys: Collection[str] | None, now: float) -> int | None:
    """The lowest id of a claimable run: a stale running one, or the first pending one. The
    running runs (a few per driver) are read whole; the pending ones (up to the whole grid) are
    read in id order only as far as the first claimable one, so that a sweep's claims cost about
    as much per run whether the grid has 100 runs or 100,000 (reading every pending run at every
    claim made a sweep's claims grow with the square of its runs).

    On a server, the rows read are locked, and rows another claim has locked are skipped
    (``claim_lock``): the pending run is then chosen by the server, one row, not read lazily."""
    lock = conn.claim_lock
    running = conn.execute(f"{_CANDIDATES} ORDER BY id{lock}", (experiment_id, "running"))
    stale = next((row["id"] for row in running.fetchall() if _claimable(row, keys, now)), None)
    if lock:
        chosen = _first_pending_on_server(conn, experiment_id, keys)
        return chosen if stale is None or (chosen is not None and chosen < stale) else stale
    for row in conn.execute(f"{_CANDIDATES} ORDER BY id", (experiment_id, "pending")):  # lazily
        if stale is not None and row["id"] > stale:
            break
        if _claimable(row, keys, now):
            return row["id"]
    return stale


def _first_pending_on_server(conn: StoreConnection, experiment_id: int,
                             keys: Collection[str] | None) -> int | None:
    among = "" if keys is None else " AND run_key = ANY(?)"
    args: tuple = (experiment_id, "pending") + (() if keys is None else (list(keys),))
    row = conn.execute(f"{_CANDIDATES}{among} ORDER BY id LIMIT 1{conn.claim_lock}",
                       args).fetchone()
    return None if row is None else row["id"]


def _claimable(row: Any, keys: Collection[str] | None, now: float) -> bool:
    if keys is not None and row["run_key"] not in keys:
        return False
    return row["status"] == "pending" or _stale(row["owner"], row["lease_until"], now)


def _stale(owner: str | None, lease_until: float | None, now: float) -> bool:
    """A running run nobody holds any more: its lease expired, or its owner is a process on
    this host that is gone."""
    return lease_expired(lease_until, now) or is_stale_owner(owner)


def _unleased(row: Any) -> bool:
    """Running without a lease (claimed by a version before leases) and owned on another host:
    nothing will ever show it is alive, so an explicit ``release_stale`` hands it back."""
    return row["lease_until"] is None and not is_local_owner(row["owner"])


def _final_values(ordered: Sequence[EpochRecord], status: str) -> tuple[float | None, ...]:
    """(test_acc, test_loss, train_loss) of the last epoch; for diverged/failed runs, of the
    last finite epoch; all None when there is none."""
    if status != "done":
        ordered = [e for e in ordered if is_finite_epoch(e)]
    if not ordered:
        return (None, None, None)
    last = ordered[-1]
    return (to_real(last.test_acc), to_real(last.test_loss), to_real(last.train_loss))


def _epoch_row(run_id: int, e: EpochRecord) -> tuple[Any, ...]:
    metrics = (e.train_loss, e.train_acc, e.test_loss, e.test_acc, e.lr, e.wall_time)
    own = dumps(e.metrics) if e.metrics else None
    return (run_id, int(e.epoch), *(to_real(v) for v in metrics), own)
