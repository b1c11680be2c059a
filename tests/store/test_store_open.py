"""Opening, creating, validating and migrating store files."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from layerorder.errors import LayerorderError
from layerorder.store import SCHEMA_VERSION, Store, StoreError, migrations
from layerorder.store import connect as store_connect

TABLES = {"meta", "experiments", "runs", "epochs", "probes"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def side_files(path: Path) -> list[Path]:
    return [p for p in (Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def table_names(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def test_store_error_is_a_layerorder_value_error():
    assert issubclass(StoreError, LayerorderError)
    assert issubclass(StoreError, ValueError)


def test_new_store_has_schema_and_version(tmp_path):
    path = tmp_path / "s.db"
    with Store.open(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.integrity_check() == "ok"
        assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert store._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
    assert TABLES <= table_names(path)
    conn = sqlite3.connect(path)
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    conn.close()
    assert meta == {"app": "layerorder", "schema_version": str(SCHEMA_VERSION)}


def test_reopen_keeps_data(tmp_path):
    path = tmp_path / "s.db"
    with Store.open(path) as store:
        exp = store.experiment("sweep", {"lr": 0.1})
    with Store.open(path, create=False) as store:
        assert store.experiments() == [exp]
        assert store.schema_version() == SCHEMA_VERSION


def test_migrations_are_idempotent(tmp_path):
    path = tmp_path / "s.db"
    Store.open(path).close()
    before = sha256(path)
    with Store.open(path) as store:
        with store._tx() as conn:
            assert migrations.migrate(conn, str(path)) == 0
        assert store.integrity_check() == "ok"
    assert sha256(path) == before


def test_migrations_are_numbered_functions_in_order():
    names = [m.__name__ for m in migrations.MIGRATIONS]
    assert names[0] == "_m001_initial"
    assert [n[:5] for n in names] == [f"_m{i:03d}" for i in range(1, len(names) + 1)]
    assert SCHEMA_VERSION == len(names)


def test_a_new_migration_upgrades_an_existing_store(tmp_path, monkeypatch):
    path = tmp_path / "s.db"
    with Store.open(path) as store:
        exp = store.experiment("sweep", {"a": 1})

    def _m_next_add_note(conn):
        conn.execute("ALTER TABLE experiments ADD COLUMN note TEXT")

    upgraded = [*migrations.MIGRATIONS, _m_next_add_note]
    monkeypatch.setattr(migrations, "MIGRATIONS", upgraded)
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", len(upgraded))
    with Store.open(path) as store:
        assert store.schema_version() == len(upgraded)
        assert store.find_experiment("sweep") == exp
        cols = [r[1] for r in store._conn.execute("PRAGMA table_info(experiments)")]
        assert "note" in cols


def test_text_file_is_rejected_unchanged(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("hello, not a database\n" * 10)
    before = sha256(path)
    with pytest.raises(StoreError, match="not a layerorder store \\(not an SQLite database\\)"):
        Store.open(path)
    assert sha256(path) == before
    assert side_files(path) == []


def test_short_file_is_rejected(tmp_path):
    path = tmp_path / "x.db"
    path.write_bytes(b"SQLite")
    with pytest.raises(StoreError, match="--store"):
        Store.open(path)
    assert path.read_bytes() == b"SQLite"


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_foreign_sqlite_database_is_rejected_unchanged(tmp_path, journal_mode):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA journal_mode={journal_mode}")
    conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('app', 'someone-else')")
    conn.commit()
    conn.close()
    before = sha256(path)
    with pytest.raises(StoreError, match="is an SQLite database but not a layerorder store"):
        Store.open(path)
    assert sha256(path) == before
    assert side_files(path) == []


def test_newer_schema_is_rejected_unchanged(tmp_path):
    path = tmp_path / "s.db"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION + 5,))
    conn.commit()
    conn.close()
    before = sha256(path)
    with pytest.raises(StoreError, match="upgrade layerorder"):
        Store.open(path)
    assert sha256(path) == before
    assert side_files(path) == []


def test_missing_store_without_create(tmp_path):
    path = tmp_path / "absent.db"
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(path, create=False)
    assert not path.exists()


def test_missing_parent_directory(tmp_path):
    path = tmp_path / "no" / "such" / "s.db"
    with pytest.raises(StoreError, match="cannot write store .*does not exist.*--store"):
        Store.open(path)
    assert not (tmp_path / "no").exists()


def test_path_is_a_directory(tmp_path):
    with pytest.raises(StoreError, match="cannot write store .*is a directory"):
        Store.open(tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_unwritable_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(StoreError, match="cannot write store .*not writable"):
            Store.open(locked / "s.db")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_unwritable_directory_is_checked_up_front(tmp_path, monkeypatch):
    """Runs as root too: pretend the directory is not writable."""
    monkeypatch.setattr(store_connect.os, "access", lambda *args: False)
    with pytest.raises(StoreError, match="cannot write store .*not writable.*--store"):
        Store.open(tmp_path / "s.db")
    assert list(tmp_path.iterdir()) == []


def test_sqlite_errors_while_creating_become_store_errors(tmp_path, monkeypatch):
    def broken(conn):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(migrations, "MIGRATIONS", [broken])
    with pytest.raises(StoreError, match="cannot write store .*disk I/O error"):
        Store.open(tmp_path / "s.db")


def test_empty_file_becomes_a_store(tmp_path):
    path = tmp_path / "s.db"
    path.touch()
    with Store.open(path) as store:
        assert store.schema_version() == SCHEMA_VERSION


def test_closed_store_raises(tmp_path):
    store = Store.open(tmp_path / "s.db")
    store.close()
    store.close()  # twice is fine
    with pytest.raises(StoreError, match="closed"):
        store.experiments()
