"""A store deleted while a command runs is restored with everything in it; one replaced by
another file is not written to, and what was stored is saved beside it."""

from __future__ import annotations

import os
import subprocess

import pytest

from layerorder.store import RunSpec, Store
from layerorder.store.errors import StoreUnavailable
from tests.gate import gated_compare, gated_env, make_gate, open_gate, wait_until
from tests.helpers import sha


def _specs(n: int, prefix: str = "k") -> list[RunSpec]:
    return [RunSpec(f"{prefix}{i}", "standard", i, 0.1, {"seed": i}) for i in range(n)]


def test_a_deleted_store_is_restored_with_what_it_held(tmp_path):
    path = tmp_path / "s.db"
    with Store.open(path) as store:
        exp = store.experiment("sweep", {"a": 1})
        store.add_runs(exp.id, _specs(2))
        os.unlink(path)  # the -wal and -shm stay: this connection holds them
        assert store.add_runs(exp.id, _specs(3, "m")) == 3
        assert "was deleted while this command ran; it was restored" in store.notices[0]
    with Store.open(path, create=False) as again:
        assert [r.run_key for r in again.runs(exp.id)] == ["k0", "k1", "m0", "m1", "m2"]
        assert again.integrity_check() == "ok"


def test_a_deleted_store_and_its_journal_are_restored(tmp_path):
    path = tmp_path / "s.db"
    with Store.open(path) as store:
        exp = store.experiment("sweep", {"a": 1})
        store.add_runs(exp.id, _specs(2))
        for suffix in ("", "-wal", "-shm"):
            os.unlink(f"{path}{suffix}")
        store.add_runs(exp.id, _specs(1, "m"))
    with Store.open(path, create=False) as again:
        assert len(again.runs(exp.id)) == 3


def test_a_replaced_store_is_left_alone(tmp_path):
    path = tmp_path / "s.db"
    other = tmp_path / "other.db"
    with Store.open(other) as foreign:
        foreign.experiment("theirs", {"b": 2})
    with Store.open(path) as store:
        exp = store.experiment("sweep", {"a": 1})
        store.add_runs(exp.id, _specs(2))
        os.replace(other, path)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(f"{other}{suffix}"):
                os.replace(f"{other}{suffix}", f"{path}{suffix}")
        before = sha(path)
        with pytest.raises(StoreUnavailable, match="was replaced by another file") as info:
            store.add_runs(exp.id, _specs(1, "m"))
    assert sha(path) == before
    saved = str(info.value).rsplit("'", 2)[-2]
    with Store.open(saved, create=False) as kept:
        assert [r.run_key for r in kept.runs(exp.id)] == ["k0", "k1"]


def test_deleting_the_store_mid_sweep_loses_nothing(tmp_path):
    db, gate = tmp_path / "s.db", make_gate(tmp_path / "gate", tickets=1)
    proc = subprocess.Popen(gated_compare(db, "--executor", "sequential", seeds=4, epochs=2),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=gated_env(gate))
    try:
        wait_until(gate, db, done=1, blocked=1, proc=proc)  # one run stored, the next one waiting
        os.unlink(db)
        open_gate(gate)
        _, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "restored from the open connection" in " ".join(err.split())
    with Store.open(db, create=False) as store:
        runs = store.runs(store.experiments()[0].id)
    assert len(runs) == 4 and all(r.status == "done" for r in runs)
