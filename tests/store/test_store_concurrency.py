"""Several processes sharing one store file."""

from __future__ import annotations

import multiprocessing
import time

from layerorder.store import EpochRecord, RunSpec, Store, make_owner

N_RUNS = 40


def claim_all(barrier, path: str, experiment_id: int) -> list[str]:
    """Claim and finish runs until none is left; returns the claimed run keys."""
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


def run_workers(work, args, n=2) -> list:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(work, args, barrier, results)) for _ in range(n)]
    for proc in procs:
        proc.start()
    outputs = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    errors = [out for out in outputs if isinstance(out, str)]
    assert not errors
    return outputs


def test_two_processes_claim_disjoint_runs(tmp_path):
    path = str(tmp_path / "s.db")
    with Store.open(path) as store:
        exp = store.experiment("sweep", {})
        specs = [RunSpec(f"k{i}", "conv-bn-relu", i, 0.1, {"i": i}) for i in range(N_RUNS)]
        store.add_runs(exp.id, specs)
    first, second = run_workers(claim_all, (path, exp.id))
    assert not set(first) & set(second)
    assert sorted(first + second) == sorted(s.run_key for s in specs)
    assert first and second  # both processes really took part
    with Store.open(path) as store:
        runs = store.runs(exp.id)
        assert all(r.status == "done" and r.attempts == 1 for r in runs)
        assert store.counts(exp.id)["done"] == N_RUNS
        assert store.integrity_check() == "ok"


def test_processes_create_the_same_store_at_once(tmp_path):
    outputs = run_workers(open_new, (str(tmp_path / "new.db"),), n=4)
    assert outputs == [(1, "ok")] * 4
