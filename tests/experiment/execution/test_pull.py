"""Pull workers train a stored grid as the driver would; a coordinator waits for them round by
round; a stopped worker hands its run back; an unavailable store is waited out."""

from __future__ import annotations

import os
import threading
import time

import pytest

from layerorder.experiment.configuration.config import make_config
from layerorder.experiment.execution import pull
from layerorder.experiment.execution.comparison import run_comparison, store_grid
from layerorder.experiment.execution.progress import LineObserver
from layerorder.store import Store, StoreError
from layerorder.store.errors import StoreUnavailable


def _config(**more):
    return make_config({"dataset": "synthetic", "arch": "mlp", "width": 8, "epochs": 2,
                        "batch_size": 64, "orders": ["standard", "preact"], "seeds": 3,
                        "executor": "sequential", **more})


def _finals(store: str) -> dict:
    with Store.open(store, create=False) as db:
        (exp,) = db.experiments()
        return {(r.label, r.seed): (r.status, r.final_test_acc, r.final_train_loss)
                for r in db.runs(exp.id)}


def test_workers_train_a_stored_grid_as_the_driver_would(location, tmp_path):
    stored = store_grid(_config(), location)
    assert (stored.runs, stored.added, stored.rounds) == (6, 6, 1)
    assert stored.worker_command().startswith("layerorder worker --store ")
    assert {s for s, *_ in _finals(location).values()} == {"pending"}
    first = pull.work(location, max_runs=2)
    assert (first.trained, first.stopped) == (2, "max runs")
    rest = pull.work(location, experiment=str(stored.experiment.id))
    assert (rest.trained, rest.stopped) == (4, "no runs left")
    # the reference: the driver training the same grid itself, in a store of its own
    reference = str(tmp_path / "driver.db")
    run_comparison(_config(), reference)
    assert _finals(location) == _finals(reference)
    # the comparison reads the workers' runs and trains nothing
    again = run_comparison(_config(), location)
    assert again.trained == 0 and len(again.runs) == 6


def test_an_idle_worker_waits_then_stops(location):
    store_grid(_config(seeds=1), location)
    start = time.monotonic()
    summary = pull.work(location, idle_exit=0.6, poll=0.1)
    assert summary.trained == 2 and summary.stopped == "idle"
    assert time.monotonic() - start >= 0.6
    with pytest.raises(StoreError, match="no experiment 'nope'"):
        pull.work(location, experiment="nope")
    assert pull.work(location, prefix="study:other/").trained == 0


def test_a_worker_waits_for_a_store_created_after_it(location):
    later = threading.Timer(0.5, lambda: store_grid(_config(seeds=1), location))
    later.start()
    summary = pull.work(location, idle_exit=30, poll=0.05, max_runs=2)
    later.join()
    assert summary.trained == 2
    with pytest.raises(StoreError, match="does not exist|no store.s tables yet"):
        pull.work(location + "-other" if "://" not in location else location + "x",
                  idle_exit=0.2, poll=0.05)


def test_a_coordinator_stores_each_round_while_a_worker_drains_it(location, tmp_path,
                                                                  monkeypatch):
    """``--executor workers --until-decided``: the coordinator trains nothing, the worker
    trains every round, and the results equal the driver's own sequential design."""
    monkeypatch.setattr(pull, "POLL_SECONDS", 0.05)
    config = _config(executor="workers", until_decided=True, max_seeds=6, seeds=3)
    result: dict = {}

    def coordinate():
        try:
            result["comparison"] = run_comparison(config, location)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            result["error"] = exc

    coordinator = threading.Thread(target=coordinate)
    coordinator.start()
    deadline = time.monotonic() + 120
    while coordinator.is_alive() and time.monotonic() < deadline:
        try:
            pull.work(location, idle_exit=0.5, poll=0.05)
        except StoreError as exc:  # the coordinator has not created the store yet
            assert "tables yet" in str(exc) or "does not exist" in str(exc)
            time.sleep(0.05)
    coordinator.join(timeout=5)
    assert "error" not in result, result.get("error")
    mine = result["comparison"]
    reference = run_comparison(_config(until_decided=True, max_seeds=6, seeds=3),
                               str(tmp_path / "driver.db"))
    assert [(r.label, r.seed, r.final_test_acc) for r in mine.runs] == [
        (r.label, r.seed, r.final_test_acc) for r in reference.runs]
    assert mine.analysis.decided == reference.analysis.decided
    assert mine.trained == len(mine.runs)  # every run finished by the worker while it waited


def test_a_coordinator_with_no_worker_left_says_so(location, monkeypatch):
    monkeypatch.setattr(pull, "POLL_SECONDS", 0.01)
    with Store.open(location) as db:
        exp = db.experiment("e", {})
        from layerorder.store import RunSpec

        db.add_runs(exp.id, [RunSpec("k", "x", 0, 0.1, {})])
        with pytest.raises(StoreError, match="no worker is left.*all 2 SLURM jobs"):
            pull.wait_for_workers(db, exp, {"k"}, LineObserver(),
                                  still_coming=lambda: "all 2 SLURM jobs ended")


def test_an_unavailable_store_is_waited_out(monkeypatch):
    monkeypatch.setattr(pull, "POLL_SECONDS", 0.01)
    calls, notes = [], []

    class Notes(LineObserver):
        def note(self, text):
            notes.append(text)

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise StoreUnavailable("cannot reach store 'x'")
        return "claimed"

    assert pull._patiently(flaky, Notes(), seconds=5) == "claimed"
    assert len(notes) == 2 and "cannot reach store" in notes[0]
    with pytest.raises(StoreUnavailable):
        pull._patiently(lambda: (_ for _ in ()).throw(StoreUnavailable("down")), Notes(),
                        seconds=0.05)


def test_a_claim_whose_answer_was_lost_is_handed_back_first(location):
    """A worker holds no run between runs: one it holds when it claims is a claim that
    committed while its answer was lost; it is handed back, not left to its heartbeat."""
    store_grid(_config(seeds=1), location)
    with Store.open(location, create=False) as db:
        lost = db.claim_next(1, "host-x:1:st1")
        exp, run = pull._claim_afresh(db, "host-x:1:st1", None, None, 60.0)
        assert run.id == lost.id and run.attempts == 2
        assert [r.id for r in db.runs(1, "running")] == [run.id]


def test_a_search_coordinator_stores_each_stage_while_a_worker_drains_it(tmp_path, monkeypatch):
    """``search --executor workers``: every stage (selection rounds, then the final) is stored
    by the search and trained by a worker; the answer equals the search trained in-process."""
    import layerorder

    monkeypatch.setattr(pull, "POLL_SECONDS", 0.05)
    options = {"dataset": "synthetic", "arch": "mlp", "width": 8, "epochs": 1,
               "batch_size": 64, "budget": 39, "progress": False}
    store = str(tmp_path / "search.db")
    result: dict = {}

    def coordinate():
        try:
            result["search"] = layerorder.search_orders(store=store, executor="workers",
                                                        **options)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            result["error"] = exc

    coordinator = threading.Thread(target=coordinate)
    coordinator.start()
    trained, deadline = 0, time.monotonic() + 120
    while coordinator.is_alive() and time.monotonic() < deadline:
        if not os.path.exists(store):  # the search has not created it yet
            time.sleep(0.05)
            continue
        trained += pull.work(store, idle_exit=1, poll=0.05).trained
    coordinator.join(timeout=60)
    assert "error" not in result, result.get("error")
    reference = layerorder.search_orders(store=str(tmp_path / "alone.db"),
                                         executor="sequential", **options)
    assert result["search"].best == reference.best
    with Store.open(store, create=False) as db:  # every stage's runs, all by the worker
        runs = [r for e in db.experiments() for r in db.runs(e.id)]
    assert trained == len(runs) and {r.status for r in runs} == {"done"}
