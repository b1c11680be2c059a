"""Run leases: claims expire unless renewed, any driver takes over an expired one, and the first
holder's late result is discarded."""

from __future__ import annotations

import os
import sqlite3
import time

import pytest

from layerorder.store import Heartbeat, RunSpec, Store, migrations
from layerorder.store import connect as store_connect
from layerorder.store.leases import DEFAULT_LEASE, lease_expired

ELSEWHERE = "another-host:4242:st1"  # an owner on another host: its process cannot be checked


def _grid(store: Store, n: int = 2) -> int:
    exp = store.experiment("sweep", {"a": 1})
    store.add_runs(exp.id, [RunSpec(f"k{i}", "standard", i, 0.1, {"seed": i}) for i in range(n)])
    return exp.id


def test_lease_expired():
    assert lease_expired(99.0, now=100.0) and not lease_expired(101.0, now=100.0)
    assert not lease_expired(None, now=100.0)  # no lease: judged by its owner


def test_a_run_on_another_host_is_taken_over_when_its_lease_expires(store):
    exp = _grid(store, 1)
    first = store.claim_next(exp, ELSEWHERE, lease=0.2)
    assert first is not None and first.lease_until == pytest.approx(time.time() + 0.2, abs=0.1)
    assert store.claim_next(exp, "me:1:st1") is None  # leased: not claimable
    assert [r.id for r in store.held_elsewhere(exp, "me:1:st1")] == [first.id]
    time.sleep(0.3)
    assert store.held_elsewhere(exp, "me:1:st1") == []
    second = store.claim_next(exp, "me:1:st1")
    assert second.id == first.id and second.owner == "me:1:st1" and second.attempts == 2
    # the first holder comes back with its result: discarded, the new holder's is kept
    assert not store.finish_run(first.id, status="done", epochs=[], owner=ELSEWHERE)
    assert store.finish_run(first.id, status="done", epochs=[], owner="me:1:st1")
    done = store.run(first.id)
    assert done.status == "done" and done.lease_until is None


def test_renewal_keeps_a_run(store):
    exp = _grid(store, 1)
    store.claim_next(exp, ELSEWHERE, lease=0.2)
    for _ in range(4):
        time.sleep(0.1)
        assert store.renew_leases(ELSEWHERE, 0.2) == 1
    assert store.claim_next(exp, "me:1:st1") is None


def test_a_heartbeat_renews_until_it_stops(location):
    path = location
    with Store.open(path) as store:
        exp = _grid(store, 1)
        store.claim_next(exp, ELSEWHERE, lease=0.4)
        with Heartbeat(str(path), ELSEWHERE, lease=0.4) as beat:
            time.sleep(1.2)  # three leases long
            assert store.claim_next(exp, "me:1:st1") is None
        assert beat.renewals >= 3
        time.sleep(0.5)
        assert store.claim_next(exp, "me:1:st1") is not None


def test_release_stale_hands_back_expired_runs_only(store):
    exp = _grid(store, 3)
    gone = store.claim_next(exp, ELSEWHERE, lease=0.05)
    live = store.claim_next(exp, "third-host:7:st1", lease=60)
    time.sleep(0.1)
    released = store.release_stale()
    assert [r.id for r in released] == [gone.id] and released[0].owner == ELSEWHERE
    statuses = {r.id: (r.status, r.owner, r.lease_until) for r in store.runs(exp)}
    assert statuses[gone.id] == ("pending", None, None)
    assert statuses[live.id][:2] == ("running", "third-host:7:st1")
    assert store.release_stale(exp) == []


def test_interrupt_release_clears_the_lease(store):
    exp = _grid(store, 1)
    run = store.claim_next(exp, ELSEWHERE)
    assert store.release_owned(exp, ELSEWHERE) == 1
    assert store.run(run.id).lease_until is None


def _schema_2_store(path, monkeypatch) -> None:
    """A store as the previous version left it: schema 2, one run running on another host."""
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:2])
        m.setattr(migrations, "SCHEMA_VERSION", 2)
        with Store.open(path) as store:
            exp = store.experiment("sweep", {"a": 1})
            store.add_runs(exp.id, [RunSpec("k0", "standard", 0, 0.1, {"seed": 0})])
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE runs SET status = 'running', owner = ?", (ELSEWHERE,))
    conn.close()


def test_the_upgrade_gives_running_runs_a_lease(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    _schema_2_store(path, monkeypatch)
    before = time.time()
    with Store.open(path) as store:
        assert store.schema_version() == migrations.SCHEMA_VERSION
        (run,) = store.runs(store.experiments()[0].id)
    assert run.status == "running"
    assert before + DEFAULT_LEASE - 1 < run.lease_until < time.time() + DEFAULT_LEASE + 1


def test_an_older_schema_is_read_without_upgrading(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    _schema_2_store(path, monkeypatch)
    # as a read-only mount would be (the tests may run as root, whom permissions do not stop)
    monkeypatch.setattr(store_connect, "writable", lambda path: False)
    with Store.open(path, create=False, read_only=True) as store:
        (run,) = store.runs(store.experiments()[0].id)
        assert store.schema_version() == 2
    assert run.owner == ELSEWHERE and run.lease_until is None


def test_release_stale_hands_back_unleased_runs_of_other_hosts(store):
    exp = _grid(store, 2)
    run = store.claim_next(exp, ELSEWHERE)
    store._conn.execute("UPDATE runs SET lease_until = NULL WHERE id = ?", (run.id,))
    assert [r.id for r in store.release_stale(exp)] == [run.id]


def test_a_taken_over_run_keeps_its_new_owners_probes(store):
    exp = _grid(store, 1)
    first = store.claim_next(exp, ELSEWHERE, lease=0.05)
    time.sleep(0.1)
    store.claim_next(exp, "me:1:st1")
    late = [(1, "stage", "features.0", {"mean": 1.0})]
    assert not store.finish_run(first.id, status="done", epochs=[], owner=ELSEWHERE, probes=late)
    assert store.probes(first.id) == []
    mine = [(1, "stage", "features.0", {"mean": 2.0})]
    assert store.finish_run(first.id, status="done", epochs=[], owner="me:1:st1", probes=mine)
    assert [p.data for p in store.probes(first.id)] == [{"mean": 2.0}]


def test_the_heartbeat_follows_a_restored_store(tmp_path):
    path = tmp_path / "s.db"
    with Store.open(path) as store:
        exp = _grid(store, 2)
        run = store.claim_next(exp, ELSEWHERE, lease=0.4)
        with Heartbeat(str(path), ELSEWHERE, lease=0.4):
            time.sleep(0.3)
            os.unlink(path)
            store.add_runs(exp, [RunSpec("late", "standard", 9, 0.1, {"seed": 9})])  # restores
            assert store.notices
            time.sleep(1.0)  # more than a lease: only renewals in the restored file keep it
            assert store.claim_next(exp, "me:1:st1", keys={"k0"}) is None
        assert store.run(run.id).owner == ELSEWHERE
