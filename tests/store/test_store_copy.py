"""``store copy``: SQLite into PostgreSQL and back, every record as it was."""

from __future__ import annotations

import math

import pytest

from layerorder.store import EpochRecord, RunSpec, SearchStep, Store, StoreError
from layerorder.store.copy import copy_store


def _filled(path: str) -> None:
    """A store with two experiments, finished, failed and pending runs, NaN and infinite
    metrics, probes, user metrics and a search history."""
    with Store.open(path) as store:
        first = store.experiment("a", {"x": 1})
        second = store.experiment("b", {"x": 2})
        store.add_runs(first.id, [RunSpec(f"k{i}", "standard", i, 0.1, {"i": i})
                                  for i in range(3)])
        store.add_runs(second.id, [RunSpec("only", "preact", 0, 0.05, {"j": 1})])
        done = store.claim_next(first.id, "h:1:st1")
        epochs = [EpochRecord(0, 1.5, 40.0, 1.4, 41.25, 0.1, 0.5),
                  EpochRecord(1, math.nan, 50.0, math.inf, 52.5, 0.05, 1.0, {"f1": 0.3})]
        store.finish_run(done.id, status="done", epochs=epochs, owner="h:1:st1",
                         wall_time=1.25, provenance={"torch": "x"}, metrics={"f1": 0.3},
                         probes=[(1, "stage", "features.0", {"mean": 0.1, "std": 1.0})])
        failed = store.claim_next(first.id, "h:1:st1")
        store.finish_run(failed.id, status="failed", epochs=[], owner="h:1:st1", error="boom")
        store.save_plan(first.id, {"margin": 0.5})
        store.record_search([
            SearchStep("s", 1, "round", "standard", "kept", "", first.id, 1, 52.5, 2),
            SearchStep("s", 1, "round", "preact", "dropped", "rank 2", first.id, 2, math.nan, 2),
        ], start=True)


def _everything(path: str) -> dict:
    with Store.open(path, create=False) as store:
        exps = sorted(store.experiments(), key=lambda e: e.id)
        runs = [r for e in exps for r in store.runs(e.id)]
        return {
            "experiments": [(e.id, e.name, e.config_hash, e.config, e.generation, e.plan)
                            for e in exps],
            "runs": runs,
            "epochs": {r.id: store.epochs(r.id) for r in runs},
            "probes": {r.id: store.probes(r.id) for r in runs},
            "search": store.search_steps(),
        }


def test_a_round_trip_through_postgresql_keeps_everything(tmp_path, postgres_url):
    source, back = str(tmp_path / "a.db"), str(tmp_path / "back.db")
    _filled(source)
    there = copy_store(source, postgres_url)
    assert there.rows == {"experiments": 2, "runs": 4, "epochs": 2, "probes": 1,
                          "search_steps": 2}
    copy_store(postgres_url, back)
    original = _everything(source)
    assert _everything(postgres_url) == original
    assert _everything(back) == original
    # the copy goes on as a store: new ids follow the copied ones
    with Store.open(postgres_url) as store:
        assert store.experiment("c", {}).id == 3


def test_the_target_must_be_new(tmp_path, location):
    source = str(tmp_path / "a.db")
    _filled(source)
    with Store.open(location) as store:
        store.experiment("there", {})
    with pytest.raises(StoreError, match="already holds experiments"):
        copy_store(source, location)
    with pytest.raises(StoreError, match="both"):
        copy_store(source, source)
