"""Opening a store file: validate without side effects, then connect and migrate.

An existing file is checked before sqlite ever opens it for writing: first its 16-byte header is
read as plain bytes, then it is opened read-only to look for the ``meta`` table, the app marker
and the schema version. A rejected file is left byte-for-byte unchanged and no ``-wal``/``-shm``
files are created next to it. A zero-byte file, or an SQLite database without any tables (what a
store looks like for a moment while another process creates it), is treated as a new store.

A file this process already holds open through SQLite is never opened outside SQLite again (see
``_HELD``): the check above then goes through SQLite alone.
"""

from __future__ import annotations

import os
import random
import sqlite3
import stat
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from layerorder.store import migrations
from layerorder.store.errors import StoreError, StoreMissing, StoreUnavailable, sqlite_failure
from layerorder.store.migrations import (
    APP_NAME,
    has_meta,
    migrate,
    read_meta,
    schema_version,
    too_new_message,
)
from layerorder.store.vanished import Identity, file_identity

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 30_000
_FIX = "pass --store with a new or existing store file"

# The store files this process holds open through SQLite, by (device, inode). SQLite's locks are
# POSIX advisory locks, which belong to the process: closing *any* descriptor of the file drops
# every lock the process holds on it ("How To Corrupt An SQLite Database File", section 2.2).
# A connection that has lost its locks looks closed to other processes; the last of those to
# close then checkpoints and deletes the -wal file under it, and what it commits afterwards is
# lost. So the plain read of the header happens only while no connection to the file is open
# here (a second opener, such as the lease heartbeat, checks the file through SQLite and reuses
# the header read by the first), and ``_HELD_LOCK`` keeps another thread from connecting while
# that read is under way. Connections opened with ``sqlite3`` directly are not counted.
_HELD: Counter[Identity] = Counter()
_HEADERS: dict[Identity, bytes] = {}
_HELD_LOCK = threading.RLock()


def _forget_held() -> None:
    """In a forked child: it holds none of its parent's locks (they are not inherited), and a
    lock another thread held at the fork would never be released there."""
    global _HELD_LOCK
    _HELD_LOCK = threading.RLock()
    _HELD.clear()
    _HEADERS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_held)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")  # inside the try: a Ctrl-C just before it rolls back
    except BaseException:
        if conn.in_transaction:  # SQLite may have rolled back already (e.g. disk full)
            conn.execute("ROLLBACK")
        raise


class SqliteConnection:
    """A connection to an SQLite store, with the interface ``Store`` uses on both backends
    (``store.postgres.PgConnection`` is the other). Writers take turns (``BEGIN IMMEDIATE``),
    so no statement needs a row lock and the clock is this machine's."""

    lock_rows = ""
    claim_lock = ""
    errors = (sqlite3.DatabaseError,)

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    def execute(self, statement: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.raw.execute(statement, params)

    def executemany(self, statement: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        return self.raw.executemany(statement, rows)

    @contextmanager
    def transaction(self) -> Iterator[SqliteConnection]:
        with transaction(self.raw):
            yield self

    @property
    def in_transaction(self) -> bool:
        return self.raw.in_transaction

    def now(self) -> float:
        return time.time()

    def has_table(self, name: str) -> bool:
        return migrations.has_table(self.raw, name)

    def columns(self, table: str) -> list[str]:
        return [row[1] for row in self.raw.execute(f"PRAGMA table_info({table})")]

    def serialize(self, key: str) -> None:
        """Nothing to do: a write transaction already excludes every other writer."""

    def reset_identities(self) -> None:
        """Nothing to do: SQLite's next id follows the largest one stored."""

    def integrity_check(self) -> str:
        rows = self.raw.execute("PRAGMA integrity_check").fetchall()
        return "\n".join(str(row[0]) for row in rows)

    def failure(self, message: str, exc: BaseException) -> StoreError:
        assert isinstance(exc, sqlite3.Error)
        return sqlite_failure(message, exc)

    def close(self) -> None:
        self.raw.close()


def _uri(path: Path, **params: str) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{path.absolute().as_uri()}?{query}"


# what a path that is neither a file nor a directory is, by its file type
_ODD_TYPES = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
              (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"))


def _not_a_file(path: Path) -> str | None:
    """What ``path`` (or the file a symbolic link there points to) is when it exists and is
    neither a regular file nor a directory: a device (``/dev/null``), a FIFO, a socket."""
    try:
        mode = path.stat().st_mode
    except OSError:  # missing, or a dangling link: created or refused later, for its reason
        return None
    what = next((name for test, name in _ODD_TYPES if test(mode)), None)
    if what is not None and path.is_symlink():
        what = f"a symbolic link to {what} ({os.path.realpath(path)})"
    return what


def _cannot_write(display: str, reason: object) -> StoreError:
    """A store that cannot be opened for writing: the input's fault (a folder, a missing
    directory), or, for an SQLite failure such as a full disk or a lock, the environment's."""
    if isinstance(reason, sqlite3.Error):
        failure = sqlite_failure(f"cannot write store '{display}'", reason)
        if isinstance(failure, StoreUnavailable):
            return failure
    return StoreError(f"cannot write store '{display}': {reason}; choose another path with --store")


def _read_header(path: Path, display: str) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(100)
    except OSError as exc:
        raise StoreError(f"cannot read store '{display}': {exc.strerror or exc}") from exc


def _is_empty_database(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def _readonly_uri(path: Path, header: bytes | None) -> str:
    """``header`` None: the file is open here already, read-only without ``immutable``."""
    params = {"mode": "ro"}
    wal_format = header is not None and len(header) > 18 and header[18] == 2
    if wal_format and not Path(f"{path}-wal").exists():
        params["immutable"] = "1"  # all content is in the main file; opening creates no -shm
    return _uri(path, **params)


def writable(path: Path) -> bool:
    """Whether this process may write ``path`` and create files beside it (-wal, -shm)."""
    parent = path.absolute().parent
    return os.access(path, os.W_OK) and os.access(parent, os.W_OK | os.X_OK)


def connect_readonly(path: Path, display: str, header: bytes | None = None) -> sqlite3.Connection:
    """Open an existing store for reading only (a read-only mount, a file without write
    permission): no journal change, no migration; a store that needs one says so.
    ``header``: the file's first bytes, when already read (see ``_HELD``)."""
    if header is None:
        header = _read_header(path, display)
    conn = sqlite3.connect(_readonly_uri(path, header), uri=True)
    conn.row_factory = sqlite3.Row
    version = schema_version(conn)
    if version < migrations.READABLE_FROM:
        conn.close()
        raise StoreError(
            f"store '{display}' (schema {version}) must be upgraded to schema"
            f" {migrations.SCHEMA_VERSION} before it can be read, and it cannot be written here;"
            " open it once where it is writable"
        )
    return conn


def inspect_existing(path: Path, display: str, header: bytes | None = None) -> bool:
    """Raise unless ``path`` is a usable store; returns True when it is an empty database.
    ``header``: the file's first bytes, when already read (see ``_HELD``)."""
    if header is None:
        header = _read_header(path, display)
    if header[:16] != SQLITE_HEADER:
        raise StoreError(f"'{display}' is not a layerorder store (not an SQLite database); {_FIX}")
    try:
        conn = sqlite3.connect(_readonly_uri(path, header), uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read store '{display}': {exc}") from exc
    try:
        return _check_marker(conn, display)
    except sqlite3.OperationalError as exc:
        raise StoreError(f"cannot read store '{display}': {exc}") from exc
    except sqlite3.DatabaseError as exc:
        if "malformed" in str(exc):  # an SQLite file whose pages are damaged: the environment
            raise StoreUnavailable(
                f"store '{display}' is damaged ({exc}); it was left as it was: restore a copy,"
                " or start a new store with --store"
            ) from exc
        raise StoreError(f"'{display}' is not a layerorder store ({exc}); {_FIX}") from exc
    finally:
        conn.close()


def _check_marker(conn: sqlite3.Connection, display: str) -> bool:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if _is_empty_database(conn):
        return True
    if not has_meta(conn) or read_meta(conn, "app") != APP_NAME:
        raise StoreError(f"'{display}' is an SQLite database but not a layerorder store; {_FIX}")
    try:
        version = schema_version(conn)
    except ValueError as exc:
        raise StoreError(f"store '{display}' has a damaged schema version: {exc}") from exc
    if version > migrations.SCHEMA_VERSION:
        raise StoreError(too_new_message(display, version))
    return False


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL, retrying: two openers escalating their locks at once get SQLITE_BUSY at
    once (SQLite skips the busy handler where waiting could deadlock)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.005, 0.05))


def check_can_create(path: Path, display: str) -> None:
    """Raise unless a new store file can be created at ``path``."""
    parent = path.absolute().parent
    if not parent.is_dir():
        raise _cannot_write(display, f"directory '{parent}' does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _cannot_write(display, f"directory '{parent}' is not writable")


def connect(path: Path, display: str, *, create: bool) -> sqlite3.Connection:
    """Open ``path`` for reading and writing, set the pragmas and bring the schema up to date."""
    try:
        conn = sqlite3.connect(
            _uri(path, mode="rwc" if create else "rw"),
            uri=True,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
    except sqlite3.Error as exc:
        raise _cannot_write(display, exc) from exc
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _enable_wal(conn)
        conn.execute("PRAGMA foreign_keys = ON")
        with transaction(conn):
            migrate(conn, display)
    except sqlite3.Error as exc:
        conn.close()
        raise _cannot_write(display, exc) from exc
    except BaseException:
        conn.close()
        raise
    return conn


def open_connection(
    path: Path, display: str, *, create: bool, read_only: bool = False
) -> tuple[sqlite3.Connection, Identity | None]:
    """Validate, then connect: the whole of ``Store.open`` apart from building the object.
    ``read_only``: an existing store that cannot be written here is opened for reading.
    Returns the connection and the file it holds, to hand to ``release`` when it is closed."""
    if path.is_dir():
        raise _cannot_write(display, "it is a directory")
    odd = _not_a_file(path)
    if odd is not None:
        raise StoreError(f"store '{display}' is {odd}, not a file; a store is an SQLite file:"
                         " choose another path with --store")
    with _HELD_LOCK:
        identity = file_identity(path)
        existing = path.exists() and path.stat().st_size > 0
        header = None
        if existing:  # read once, and never again while a connection to the file is open here
            held = identity is not None and _HELD[identity] > 0
            header = _HEADERS[identity] if held else _read_header(path, display)
        empty_database = inspect_existing(path, display, header) if existing else True
        if empty_database and not create:
            raise StoreMissing(
                f"store '{display}' does not exist (or is empty); run an experiment to create it,"
                " or pass --store with an existing store file"
            )
        if not existing:
            check_can_create(path, display)
        if read_only and not writable(path):
            conn = connect_readonly(path, display, header)
        else:
            conn = connect(path, display, create=create)
        now = file_identity(path)
        if now is not None:
            _HELD[now] += 1
            if now == identity and header is not None:
                _HEADERS.setdefault(now, header)
            else:  # a new file: its header as SQLite wrote it, read through SQLite's own view
                _HEADERS.setdefault(now, SQLITE_HEADER)
        return conn, now


def release(identity: Identity | None) -> None:
    """The connection opened on ``identity`` (by ``open_connection``) was closed."""
    if identity is None:
        return
    with _HELD_LOCK:
        _HELD[identity] -= 1
        if _HELD[identity] <= 0:
            del _HELD[identity]
            _HEADERS.pop(identity, None)
