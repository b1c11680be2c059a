"""Experiments, runs, claiming, finishing, epochs and probes."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys

import pytest

from layerorder.store import (
    EpochRecord,
    ProbeRecord,
    RunSpec,
    StoreError,
    config_hash,
    make_owner,
)


def specs(n: int, prefix: str = "k") -> list[RunSpec]:
    return [RunSpec(f"{prefix}{i}", "conv-bn-relu", i, 0.1, {"seed": i}) for i in range(n)]


def epoch(i: int, loss: float = 1.0, acc: float = 0.5) -> EpochRecord:
    return EpochRecord(i, loss, acc, loss, acc, 0.1, float(i))


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_config_hash_is_canonical():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
    assert len(config_hash({})) == 16
    with pytest.raises(StoreError):
        config_hash({"a": object()})


def test_experiment_same_config_same_record(store):
    first = store.experiment("sweep", {"lr": 0.1, "epochs": 3})
    again = store.experiment("sweep", {"epochs": 3, "lr": 0.1})
    assert again == first
    assert first.generation == 0
    assert first.config == {"lr": 0.1, "epochs": 3}
    assert first.config_hash == config_hash(first.config)
    assert first.created_at.endswith("+00:00")


def test_experiment_different_config_or_name(store):
    a = store.experiment("sweep", {"lr": 0.1})
    b = store.experiment("sweep", {"lr": 0.2})
    c = store.experiment("other", {"lr": 0.1})
    assert len({a.id, b.id, c.id}) == 3
    assert [e.id for e in store.experiments()] == [c.id, b.id, a.id]
    assert store.latest_experiment() == c


def test_fresh_experiment_is_a_new_generation(store):
    a = store.experiment("sweep", {"lr": 0.1})
    b = store.experiment("sweep", {"lr": 0.1}, fresh=True)
    c = store.experiment("sweep", {"lr": 0.1}, fresh=True)
    assert (a.generation, b.generation, c.generation) == (0, 1, 2)
    assert store.experiment("sweep", {"lr": 0.1}) == c


def test_find_experiment(store):
    assert store.latest_experiment() is None
    with pytest.raises(StoreError, match="no experiments yet"):
        store.find_experiment("sweep")
    a = store.experiment("sweep", {"lr": 0.1})
    b = store.experiment("sweep", {"lr": 0.2})
    store.experiment("other", {})
    assert store.find_experiment("sweep") == b
    assert store.find_experiment(str(a.id)) == a
    with pytest.raises(StoreError, match="experiments: other, sweep"):
        store.find_experiment("swep")


def test_add_runs_never_duplicates(store):
    exp = store.experiment("sweep", {})
    assert store.add_runs(exp.id, specs(5)) == 5
    assert store.add_runs(exp.id, specs(7)) == 2
    runs = store.runs(exp.id)
    assert [r.run_key for r in runs] == [f"k{i}" for i in range(7)]
    assert all(r.status == "pending" and r.attempts == 0 for r in runs)
    assert runs[3].config == {"seed": 3} and runs[3].seed == 3 and runs[3].lr == 0.1
    counts = store.counts(exp.id)
    assert counts == {"pending": 7, "running": 0, "done": 0, "diverged": 0, "failed": 0}


def test_add_runs_to_missing_experiment(store):
    with pytest.raises(StoreError, match="no experiment with id 42"):
        store.add_runs(42, specs(1))


def test_same_run_key_in_two_experiments(store):
    a = store.experiment("a", {})
    b = store.experiment("b", {})
    assert store.add_runs(a.id, specs(2)) == 2
    assert store.add_runs(b.id, specs(2)) == 2


def test_claim_next_hands_out_each_run_once(store):
    exp = store.experiment("sweep", {})
    store.add_runs(exp.id, specs(4))
    owner = make_owner()
    claimed = [store.claim_next(exp.id, owner) for _ in range(4)]
    assert [r.run_key for r in claimed] == ["k0", "k1", "k2", "k3"]
    assert all(r.status == "running" and r.owner == owner and r.attempts == 1 for r in claimed)
    assert all(r.started_at is not None for r in claimed)
    assert store.claim_next(exp.id, owner) is None
    assert store.counts(exp.id)["running"] == 4


def test_run_of_a_dead_process_is_reclaimed(store):
    exp = store.experiment("sweep", {})
    store.add_runs(exp.id, specs(1))
    host = make_owner().rsplit(":", 2)[0]
    dead = f"{host}:{dead_pid()}:tok"
    first = store.claim_next(exp.id, dead)
    again = store.claim_next(exp.id, make_owner())
    assert again is not None and again.id == first.id
    assert again.attempts == 2 and again.owner == make_owner()
    assert store.finish_run(first.id, status="done", epochs=[], owner=dead) is False


def test_run_of_a_live_process_is_not_reclaimed(store):
    exp = store.experiment("sweep", {})
    store.add_runs(exp.id, specs(1))
    me = make_owner()
    host, pid, _ = me.rsplit(":", 2)
    store.claim_next(exp.id, f"{host}:{pid}:other-token")
    assert store.claim_next(exp.id, me) is None


def test_run_owned_on_another_host_is_not_reclaimed(store):
    exp = store.experiment("sweep", {})
    store.add_runs(exp.id, specs(1))
    store.claim_next(exp.id, f"elsewhere.invalid:{dead_pid()}:tok")
    assert store.claim_next(exp.id, make_owner()) is None


def test_finish_run_with_wrong_owner_does_nothing(store):
    exp = store.experiment("sweep", {})
    store.add_runs(exp.id, specs(1))
    run = store.claim_next(exp.id, make_owner())
    assert not store.finish_run(run.id, status="done", epochs=[epoch(0)], owner="x:1:y")
    assert store.run(run.id).status == "running"
    assert store.epochs(run.id) == []


def test_finish_run_records_everything(store):
    exp = store.experiment("sweep", {})
    store.add_runs(exp.id, specs(1))
    owner = make_owner()
    run = store.claim_next(exp.id, owner)
    epochs = [epoch(1, 0.8, 0.6), epoch(0, 1.0, 0.5)]
    prov = {"torch": "2.3", "device": "cpu"}
    assert store.finish_run(
        run.id, status="done", epochs=epochs, owner=owner, wall_time=2.5, provenance=prov
    )
    done = store.run(run.id)
    assert done.status == "done" and done.finished_at is not None
    assert (done.final_train_loss, done.final_test_loss, done.final_test_acc) == (0.8, 0.8, 0.6)
    assert done.wall_time == 2.5 and done.provenance == prov
    assert store.epochs(run.id) == sorted(epochs, key=lambda e: e.epoch)
    assert store.runs(exp.id, status="done") == [done]
    assert store.runs(exp.id, status="pending") == []
    # a second finish by the same owner is refused: the run is no longer running
    assert not store.finish_run(run.id, status="failed", epochs=[], owner=owner)


def test_finish_run_rejects_unfinished_status(store):
    with pytest.raises(StoreError, match="status 'running'"):
        store.finish_run(1, status="running", epochs=[], owner="o")
    with pytest.raises(StoreError, match="unknown run status"):
        store.runs(1, status="bogus")


def test_epochs_round_trip_nan_and_inf(store):
    exp = store.experiment("sweep", {})
    store.add_runs(exp.id, specs(1))
    owner = make_owner()
    run = store.claim_next(exp.id, owner)
    odd = EpochRecord(0, math.inf, -math.inf, math.nan, None, 0.1, 1.0)
    store.finish_run(run.id, status="done", epochs=[odd], owner=owner)
    (back,) = store.epochs(run.id)
    assert back.train_loss == math.inf and back.train_acc == -math.inf
    assert math.isnan(back.test_loss) and math.isnan(back.test_acc)
    assert (back.epoch, back.lr, back.wall_time) == (0, 0.1, 1.0)


def test_diverged_final_values_from_last_finite_epoch(store):
    exp = store.experiment("sweep", {})
    store.add_runs(exp.id, specs(2))
    owner = make_owner()
    run = store.claim_next(exp.id, owner)
    epochs = [epoch(0, 2.0, 0.3), epoch(1, 1.5, 0.4), epoch(2, math.nan, 0.1), epoch(3, math.inf)]
    store.finish_run(run.id, status="diverged", epochs=epochs, owner=owner, diverged_epoch=2)
    got = store.run(run.id)
    assert (got.status, got.diverged_epoch) == ("diverged", 2)
    assert (got.final_train_loss, got.final_test_acc) == (1.5, 0.4)
    assert len(store.epochs(run.id)) == 4
    other = store.claim_next(exp.id, owner)
    store.finish_run(other.id, status="failed", epochs=[], owner=owner, error="OOM")
    failed = store.run(other.id)
    assert failed.error == "OOM" and failed.final_test_acc is None


def test_finish_replaces_epochs_after_reclaim(store):
    exp = store.experiment("sweep", {})
    store.add_runs(exp.id, specs(1))
    owner = make_owner()
    run = store.claim_next(exp.id, owner)
    store.finish_run(run.id, status="done", epochs=[epoch(0), epoch(1)], owner=owner)
    with store._tx() as conn:  # simulate a run put back to work (e.g. a retry of a finished run)
        conn.execute("UPDATE runs SET status = 'running' WHERE id = ?", (run.id,))
    store.finish_run(run.id, status="done", epochs=[epoch(0, 0.3)], owner=owner)
    assert [e.train_loss for e in store.epochs(run.id)] == [0.3]


def test_release_owned_puts_this_owners_runs_back(store):
    exp = store.experiment("sweep", {})
    other_exp = store.experiment("other", {})
    store.add_runs(exp.id, specs(3))
    store.add_runs(other_exp.id, specs(1))
    owner, someone = make_owner(), "someone:1:else"
    mine = [store.claim_next(exp.id, owner) for _ in range(2)]
    theirs = store.claim_next(exp.id, someone)
    elsewhere = store.claim_next(other_exp.id, owner)
    store.finish_run(mine[0].id, status="done", epochs=[epoch(0)], owner=owner)
    assert store.release_owned(exp.id, owner) == 1  # only the unfinished run of this experiment
    back = store.run(mine[1].id)
    assert (back.status, back.owner, back.started_at) == ("pending", None, None)
    assert store.run(mine[0].id).status == "done"
    assert (store.run(theirs.id).status, store.run(theirs.id).owner) == ("running", someone)
    assert store.run(elsewhere.id).status == "running"
    assert store.claim_next(exp.id, owner).attempts == 2


def test_epochs_for_experiment(store):
    exp = store.experiment("sweep", {})
    store.add_runs(exp.id, specs(3))
    owner = make_owner()
    r0 = store.claim_next(exp.id, owner)
    r1 = store.claim_next(exp.id, owner)
    store.finish_run(r0.id, status="done", epochs=[epoch(0), epoch(1)], owner=owner)
    store.finish_run(r1.id, status="done", epochs=[epoch(0)], owner=owner)
    by_run = store.epochs_for_experiment(exp.id)
    assert by_run == {r0.id: store.epochs(r0.id), r1.id: store.epochs(r1.id), r0.id + 2: []}
    assert len(by_run[r0.id]) == 2


def test_probes_insert_or_replace(store):
    exp = store.experiment("sweep", {})
    store.add_runs(exp.id, specs(1))
    run = store.runs(exp.id)[0]
    assert store.add_probes(run.id, [(0, "stage", "bn", {"mean": 0.0}), (1, "dead", "relu", {})])
    store.add_probes(run.id, [ProbeRecord(0, "stage", "bn", {"mean": 1.0})])
    assert store.probes(run.id) == [
        ProbeRecord(0, "stage", "bn", {"mean": 1.0}),
        ProbeRecord(1, "dead", "relu", {}),
    ]


def test_records_are_frozen_and_hashable(store):
    exp = store.experiment("sweep", {"a": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        exp.name = "other"  # type: ignore[misc]
    assert hash(exp) == hash(store.experiment("sweep", {"a": 1}))


def test_claim_next_restricted_to_keys(store):
    exp = store.experiment("sweep", {})
    store.add_runs(exp.id, specs(4))
    owner = make_owner()
    got = [store.claim_next(exp.id, owner, keys={"k1", "k3"}) for _ in range(3)]
    assert [r.run_key for r in got[:2]] == ["k1", "k3"] and got[2] is None
    assert store.claim_next(exp.id, owner).run_key == "k0"


def test_large_seeds_and_nul_bytes_are_stored(store):
    """A seed past 2**31 (SQLite's INTEGER has 8 bytes; so must the server's) and a NUL byte in
    a failed run's error (a command's output; no PostgreSQL text takes one)."""
    exp = store.experiment("big", {})
    store.add_runs(exp.id, [RunSpec("k", "standard", 2**40, 0.1, {"seed": 2**40})])
    run = store.claim_next(exp.id, "h:1:st1")
    assert run.seed == 2**40
    assert store.finish_run(run.id, status="failed", epochs=[], owner="h:1:st1",
                            error="out\x00put")
    assert store.run(run.id).error == "out\\x00put"
