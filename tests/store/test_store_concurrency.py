"""Several processes sharing one store: an SQLite file, or a PostgreSQL server (where they
also stand for hosts: each process gets its own host id)."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import time
from pathlib import Path

import pytest

from layerorder.store import EpochRecord, Heartbeat, RunSpec, Store, make_owner

N_RUNS = 40


def claim_all(barrier, path: str, experiment_id: int, host: str | None = None) -> list[str]:
    """Claim and finish runs until none is left; returns the claimed run keys. ``host``: the
    host id this process claims as (``LAYERORDER_HOST_ID``)."""
    if host is not None:
        os.environ["LAYERORDER_HOST_ID"] = host
    owner = make_owner()
    claimed = []
    with Store.open(path, create=False) as store:
        barrier.wait(timeout=60)
        while (run := store.claim_next(experiment_id, owner)) is not None:
            claimed.append(run.run_key)
            time.sleep(0.002)
            epochs = [EpochRecord(0, 1.0, 0.5, 1.0, 0.5, 0.1, 0.0)]
            if not store.finish_run(run.id, status="done", epochs=epochs, owner=owner):
                raise AssertionError(f"finish_run refused run {run.run_key}")
    return claimed


def open_new(barrier, path: str) -> tuple[int, str]:
    """Create (or join) the same new store at the same moment as the other processes."""
    barrier.wait(timeout=60)
    with Store.open(path) as store:
        exp = store.experiment("race", {"a": 1})
        return exp.id, store.integrity_check()


def worker(work, args, barrier, results) -> None:
    """Put ``work``'s result, or its error as text, on the queue (so failures are fast)."""
    try:
        results.put(work(barrier, *args))
    except BaseException as exc:
        results.put(f"worker error: {type(exc).__name__}: {exc}")


def run_workers(work, args, n=2, hosts: bool = False) -> list:
    """``hosts``: each process claims as a host of its own (its last argument)."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=worker,
                         args=(work, (*args, f"host-{i}") if hosts else args, barrier, results))
             for i in range(n)]
    for proc in procs:
        proc.start()
    outputs = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    errors = [out for out in outputs if isinstance(out, str)]
    assert not errors
    return outputs


@pytest.mark.parametrize("n", [2, 8])
def test_processes_claim_disjoint_runs(location, n):
    path = location
    with Store.open(path) as store:
        exp = store.experiment("sweep", {})
        specs = [RunSpec(f"k{i}", "conv-bn-relu", i, 0.1, {"i": i}) for i in range(N_RUNS)]
        store.add_runs(exp.id, specs)
    claimed = run_workers(claim_all, (path, exp.id), n=n, hosts=True)
    keys = [key for each in claimed for key in each]
    assert sorted(keys) == sorted(s.run_key for s in specs)  # every run once, none twice
    assert sum(1 for each in claimed if each) >= 2  # several processes really took part
    with Store.open(path) as store:
        runs = store.runs(exp.id)
        assert all(r.status == "done" and r.attempts == 1 for r in runs)
        assert store.counts(exp.id)["done"] == N_RUNS
        assert {r.owner.split(":")[0] for r in runs} <= {f"host-{i}" for i in range(n)}
        assert store.integrity_check() == "ok"


def test_processes_create_the_same_store_at_once(location):
    outputs = run_workers(open_new, (location,), n=4)
    assert outputs == [(1, "ok")] * 4


def read_and_close(path: str) -> int:
    """Another process opens the store, reads it and closes: the last to close a WAL database
    checkpoints it and deletes its -wal file when it sees no other connection."""
    with Store.open(path, create=False, read_only=True) as store:
        return len(store.runs(1))


def test_a_driver_keeps_its_locks_when_its_heartbeat_opens_the_store(tmp_path):
    """The lease heartbeat opens the store a second time in the driver's process. Reading the
    file outside SQLite there would drop the driver's POSIX locks; a reader in another process
    that closed afterwards then deleted the -wal under the driver, and the driver's next commits
    were lost or failed with a disk I/O error."""
    path = str(tmp_path / "s.db")
    owner = make_owner()
    with Store.open(path) as store:
        exp = store.experiment("lost", {"a": 1})
        store.add_runs(exp.id, [RunSpec(f"k{i}", "x", i, 0.1, {"i": i}) for i in range(3)])
        run = store.claim_next(exp.id, owner)
        with Heartbeat(path, owner, lease=0.2) as beat:
            deadline = time.monotonic() + 30
            while beat.renewals < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert beat.renewals >= 1  # the heartbeat's own connection is open
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(1) as pool:
                assert pool.apply(read_and_close, (path,)) == 3
            assert Path(f"{path}-wal").exists()  # still this driver's
            epochs = [EpochRecord(0, 1.0, 0.5, 1.0, 0.5, 0.1, 0.0)]
            assert store.finish_run(run.id, status="done", epochs=epochs, owner=owner)
            second = store.claim_next(exp.id, owner)
            with sqlite3.connect(path) as fresh:  # what any other process sees now
                rows = dict(fresh.execute("SELECT id, status FROM runs").fetchall())
            assert rows[run.id] == "done" and rows[second.id] == "running"
    with sqlite3.connect(path) as fresh:
        assert dict(fresh.execute("SELECT id, status FROM runs").fetchall())[run.id] == "done"


def held_in_child(path: str) -> tuple[int, int]:
    """In a forked child: what it believes it holds, and whether it can open the store."""
    from layerorder.store import connect
    from layerorder.store.vanished import file_identity

    before = connect._HELD[file_identity(path)]
    with Store.open(path, create=False) as store:
        return before, len(store.runs(1))


def test_a_forked_child_holds_nothing_of_its_parents(tmp_path):
    """A child process inherits the parent's memory but none of its POSIX locks: it must not
    believe it holds the parent's open store (nor inherit a held lock)."""
    from layerorder.store import connect
    from layerorder.store.vanished import file_identity

    path = str(tmp_path / "s.db")
    with Store.open(path) as store:
        exp = store.experiment("fork", {"a": 1})
        store.add_runs(exp.id, [RunSpec("k", "x", 0, 0.1, {})])
        assert connect._HELD[file_identity(path)] == 1
        with multiprocessing.get_context("fork").Pool(1) as pool:
            assert pool.apply(held_in_child, (path,)) == (0, 1)
    assert file_identity(path) not in connect._HELD  # released on close
