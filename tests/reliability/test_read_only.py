"""Commands that only read work on a store they cannot write, and leave it as it was."""

import sqlite3

import pytest

from layerorder.store import connect as store_connect
from tests.helpers import run_cli, sha, tiny_store


@pytest.fixture
def store(tmp_path, capsys):
    return tiny_store(capsys, tmp_path / "s.db")


def test_read_commands_on_a_store_that_cannot_be_written(store, tmp_path, capsys, monkeypatch):
    # os.access answers for the machine (root passes permission checks; a read-only mount does
    # not), so the test says "not writable" the way a read-only mount would
    monkeypatch.setattr(store_connect, "writable", lambda path: False)
    for extra in (store.with_name("s.db-wal"), store.with_name("s.db-shm")):
        extra.unlink(missing_ok=True)
    before = sha(store)
    code, out, err = run_cli(capsys, "runs", "--store", store)
    assert code == 0 and "default" in out, err
    code, out, err = run_cli(capsys, "export", "--store", store, "-f", "json")
    assert code == 0 and '"standard"' in out, err
    code, _, err = run_cli(capsys, "report", "--store", store, "-o", tmp_path / "r.html")
    assert code == 0, err
    assert sha(store) == before
    assert not store.with_name("s.db-wal").exists() and not store.with_name("s.db-shm").exists()


def test_a_negative_schema_version_is_a_damaged_store(store, capsys):
    conn = sqlite3.connect(store)
    conn.execute("UPDATE meta SET value = '-5' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    code, _, err = run_cli(capsys, "runs", "--store", store)
    assert code == 2 and "damaged schema version" in err
